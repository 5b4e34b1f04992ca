import json

import numpy as np
import pytest

from vortex.cli import main
from vortex.errors import InvalidInputError
from vortex.motion import CHANNELS, plan_motion
from vortex.motion.io import load_controls, load_timeline, save_controls
from vortex.speech.speech import Speech

FPS = 24


@pytest.fixture
def timeline_file(sentence, tmp_path):
    speech = Speech(np.zeros(int(round(sentence[-1].end * 24000)), np.float32), tuple(sentence))
    path = tmp_path / "timeline.json"
    path.write_text(json.dumps(speech.timeline_dict()), encoding="utf-8")
    return path


def test_cli_writes_the_planned_controls(timeline_file, tmp_path, sentence):
    out = tmp_path / "controls.npz"
    rc = main(["motion", "--timeline", str(timeline_file), "-x", "neutral@0,excited@1", "--seed", "3", "-o", str(out), "-q"])
    assert rc == 0
    controls = load_controls(out)
    frames = int(np.ceil(sentence[-1].end * FPS - 1e-9))
    expected = plan_motion(sentence, frames, FPS, "neutral@0,excited@1", 3)
    assert controls.fps == FPS
    np.testing.assert_allclose(controls.values, expected.values, atol=1e-6)  # timeline JSON rounds to 1 µs


def test_cli_csv_json_and_duration(timeline_file, tmp_path):
    csv, js = tmp_path / "c.csv", tmp_path / "c.json"
    assert main(["motion", "--timeline", str(timeline_file), "--duration", "5", "--fps", "25", "-o", str(csv), "-q"]) == 0
    lines = csv.read_text().splitlines()
    assert lines[0] == "frame,time," + ",".join(CHANNELS) and len(lines) == 1 + 125
    assert main(["motion", "--timeline", str(timeline_file), "--frames", "10", "-o", str(js), "-q"]) == 0
    data = json.loads(js.read_text())
    assert data["channels"] == list(CHANNELS) and np.asarray(data["values"]).shape == (10, len(CHANNELS))


@pytest.mark.parametrize(
    "extra",
    [
        ["-x", "sleepy"],
        ["--fps", "0"],
        ["--frames", "-5"],
        ["--transcript", "hello"],
        ["-o", "controls.txt"],
    ],
)
def test_cli_bad_input_exits_2(timeline_file, tmp_path, extra, capsys):
    args = ["motion", "--timeline", str(timeline_file), "-o", str(tmp_path / "c.npz"), "-q", *extra]
    assert main(args) == 2
    assert "vortex: error:" in capsys.readouterr().err
    assert not (tmp_path / "c.npz").exists()


def test_cli_missing_timeline_exits_2(tmp_path):
    assert main(["motion", "--timeline", str(tmp_path / "none.json"), "-o", str(tmp_path / "c.npz"), "-q"]) == 2


def test_io_round_trip_and_errors(tmp_path, sentence):
    controls = plan_motion(sentence, 30, FPS)
    np.testing.assert_array_equal(load_controls(save_controls(controls, tmp_path / "a.npz")).values, controls.values)
    bad = tmp_path / "bad.json"
    bad.write_text('{"phones": [{"phone": "a"}]}')
    with pytest.raises(InvalidInputError, match="needs 'phone', 'start' and 'end'"):
        load_timeline(bad)
    bad.write_text("not json")
    with pytest.raises(InvalidInputError, match="cannot read timeline"):
        load_timeline(bad)
