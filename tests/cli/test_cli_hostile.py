"""Hostile input against every command: each case exits with its documented code and one line
naming the flag, leaves every file byte-identical and adds nothing to the temp directory.

The cases are the defects found by trying 168 bad inputs, output collisions, signals and
deadlines (issue 10), plus their neighbours. They run in-process (``vortex.cli.main``) and fail
before any model runs, except the few marked as real slots.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vortex.cli import main


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (hidden ones included) -> sha256 of its bytes ("dir" for folders)."""
    return {str(p.relative_to(folder)): ("dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working folder with real inputs, and a private temp dir; cwd is the working folder."""
    import cv2

    folder = tmp_path / "work"
    (folder / "p").mkdir(parents=True)
    face = np.full((64, 64, 3), 200, np.uint8)
    cv2.imwrite(str(folder / "p" / "me.png"), face)
    cv2.imwrite(str(folder / "face.png"), face)
    (folder / "face.mp4").write_bytes(b"not really a video, but the user's file")
    (folder / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (folder / "script.txt").write_text("Hello there.")
    (folder / "a_file").write_text("a file, not a folder")
    recipe = {"audio_track": {"script": "Hi."}, "visual_track": {"prompt": "alien"}, "slot": {"duration_sec": "auto"}}
    (folder / "r.json").write_text(json.dumps(recipe))
    (folder / "surrogate.json").write_text(json.dumps({"audio_track": {"script": "Hi \udcd7 there."}}))
    (folder / "deep.json").write_text("[" * 10_000 + "]" * 10_000)
    (folder / "escape.json").write_text(json.dumps({"audio_track": {"script": "Hi."},
                                                    "visual_track": {"photo_file": "../../../../etc/passwd"}}))
    (folder / "missing_photo.json").write_text(json.dumps({"audio_track": {"script": "Hi."},
                                                           "visual_track": {"photo_file": "nope.png"}}))
    (folder / "long.txt").write_text("Science is about asking the right questions, Morty. " * 300)  # 15,599 characters once stripped
    sf.write(str(folder / "15min.wav"), np.zeros(15 * 60 * 8000, np.int16), 8000, subtype="PCM_16")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(folder)
    return folder, scratch


# name -> (argv, exit code, words the single stderr line must contain)
CASES = {
    # 1. a frames folder that holds files is never emptied
    "--frames is the photo's folder": (["generate", "--script", "Hi", "--photo", "p/me.png", "-o", "o.mp4", "--frames", "p",
                                        "--overwrite"], 2, "--frames p would hold --photo p/me.png"),
    "--frames .": (["generate", "--script", "Hi", "--prompt", "alien", "-o", "o.mp4", "--frames", "."], 2,
                   "--frames: . is not empty; choose a new folder or pass --overwrite"),
    "--frames . --overwrite": (["generate", "--script", "Hi", "--prompt", "alien", "-o", "o.mp4", "--frames", ".", "--overwrite"], 2,
                               "--frames . would hold -o o.mp4"),
    "--frames non-empty": (["generate", "--script", "Hi", "--prompt", "alien", "-o", "o.mp4", "--frames", "p"], 2,
                           "--frames: p is not empty; choose a new folder or pass --overwrite"),
    # 2. outputs colliding with inputs or each other
    "-o equals --frames": (["generate", "--script", "Hi", "-o", "x.mp4", "--frames", "x.mp4"], 2, "--frames and -o name the same file"),
    "-o equals --report": (["generate", "--script", "Hi", "-o", "x.mp4", "--report", "x.mp4"], 2, "--report and -o name the same file"),
    "-o equals --photo": (["generate", "--script", "Hi", "--photo", "face.mp4", "-o", "face.mp4"], 2, "-o and --photo name the same file"),
    "-o equals --photo via ..": (["generate", "--script", "Hi", "--photo", "face.mp4", "-o", "p/../face.mp4"], 2,
                                 "-o and --photo name the same file"),
    "--report equals --recipe": (["generate", "--recipe", "r.json", "-o", "o.mp4", "--report", "r.json"], 2,
                                 "--report and --recipe name the same file"),
    "--report equals --photo": (["generate", "--script", "Hi", "--photo", "face.png", "-o", "o.mp4", "--report", "face.png"], 2,
                                "--report and --photo name the same file"),
    "--report equals --script-file": (["generate", "--script-file", "script.txt", "-o", "o.mp4", "--report", "script.txt"], 2,
                                      "--report and --script-file name the same file"),
    "cast -o equals --photo": (["cast", "--photo", "face.png", "-o", "face.png"], 2, "--output and --photo name the same file"),
    "say --timeline equals -o": (["say", "Hi", "-o", "a.wav", "--timeline", "a.wav"], 2, "--timeline and --output name the same file"),
    "motion -o equals --timeline": (["motion", "--timeline", "r.json", "-o", "r.json"], 2, "--output and --timeline name the same file"),
    # 5. invalid input is exit 2, not an internal error
    "recipe nested 10,000 deep": (["generate", "--recipe", "deep.json", "-o", "o.mp4"], 2, "nested too deeply"),
    "5000-digit seed": (["generate", "--script", "Hi", "--seed", "9" * 5000, "-o", "o.mp4"], 2,
                        "--seed: must be an integer from 0 to 4294967295, got a 5000-digit number"),
    "lone surrogate in a recipe": (["generate", "--recipe", "surrogate.json", "-o", "o.mp4"], 2,
                                   "audio_track.script: is not valid Unicode text"),
    "eval --text-file in Latin-1": (["eval", "lipsync", "face.mp4", "--text-file", "latin1.txt"], 2,
                                    "--text-file: cannot read latin1.txt as UTF-8 text"),
    "say --text-file in Latin-1": (["say", "--text-file", "latin1.txt", "-o", "a.wav"], 2, "--text-file: cannot read latin1.txt as UTF-8"),
    # 8. sizes checked before reading (see also the RSS test below)
    # 9. the 600 s slot limit holds for auto durations
    "auto slot from a 15,599-character script": (["generate", "--script-file", "long.txt", "-o", "o.mp4"], 2,
                                                 "--script: too long for a slot: 15599 characters"),
    "auto slot from a 15-minute recording": (["generate", "--audio", "15min.wav", "--prompt", "alien", "-o", "o.mp4"], 2,
                                             "--audio: the recording lasts 900 s; a slot is at most 600 s"),
    "motion --duration 1e7": (["motion", "--timeline", "r.json", "--duration", "1e7", "-o", "c.npz"], 2, "--duration must be from 0 to 600"),
    "motion --frames 10^9": (["motion", "--timeline", "r.json", "--frames", "1000000000", "-o", "c.npz"], 2, "--frames must be from 1 to 14400"),
    "motion --audio 15 minutes": (["motion", "--audio", "15min.wav", "-o", "c.npz"], 2, "--audio: the recording lasts 900 s"),
    # 10. unwritable outputs are found first
    "-o under a file": (["generate", "--script", "Hi", "-o", "a_file/o.mp4"], 2, "-o: cannot create a_file/o.mp4"),
    "-o in /proc": (["generate", "--script", "Hi", "-o", "/proc/o.mp4"], 2, "-o: cannot write /proc/o.mp4"),
    "--report in /proc": (["generate", "--script", "Hi", "-o", "o.mp4", "--report", "/proc/r.json"], 2, "--report: cannot write"),
    "--frames in /proc": (["generate", "--script", "Hi", "-o", "o.mp4", "--frames", "/proc/frames"], 2, "--frames: cannot write"),
    "cast -o in /proc": (["cast", "--prompt", "alien", "-o", "/proc/a.png"], 2, "--output: cannot write"),
    "say -o in /proc": (["say", "Hi", "-o", "/proc/a.wav"], 2, "--output: cannot write"),
    # 11. recipe files stay in the recipe's folder; missing and forbidden read the same
    "recipe photo outside its folder": (["generate", "--recipe", "escape.json", "-o", "o.mp4"], 2,
                                        "visual_track.photo_file: no readable image file '../../../../etc/passwd' inside"),
    "recipe photo missing": (["generate", "--recipe", "missing_photo.json", "-o", "o.mp4"], 2,
                             "visual_track.photo_file: no readable image file 'nope.png' inside"),
    "--recipe-root without --recipe": (["generate", "--script", "Hi", "--recipe-root", "/", "-o", "o.mp4"], 2,
                                       "--recipe-root goes with --recipe"),
    # 12. smaller ones
    "unknown flag, one line": (["generate", "--script", "Hi", "--bogus", "-o", "o.mp4"], 2, "unrecognized arguments: --bogus"),
    "cast without -o, one line": (["cast", "--prompt", "alien"], 2, "the following arguments are required: --output/-o"),
    "motion bad --fps, one line": (["motion", "--timeline", "r.json", "--fps", "x", "-o", "c.npz"], 2, "argument --fps: invalid int value"),
    "say bad --speed, one line": (["say", "Hi", "--speed", "fast", "-o", "a.wav"], 2, "argument --speed: invalid float value"),
    "--expressions order": (["generate", "--script", "Hi", "--expressions", "calm@5,neutral@0", "-o", "o.mp4"], 2, "--expressions: "),
    "--photo is a folder": (["generate", "--script", "Hi", "--photo", "p", "-o", "o.mp4"], 2, "--photo: p is a folder, not a file"),
    "--script-file is a folder": (["generate", "--script-file", "p", "-o", "o.mp4"], 2, "--script-file: p is a folder, not a file"),
    "--recipe is a folder": (["generate", "--recipe", "p", "-o", "o.mp4"], 2, "--recipe: p is a folder, not a file"),
    "huge --deadline": (["generate", "--script", "Hi", "--deadline", "1e999", "-o", "o.mp4"], 2, "--deadline must be a positive number"),
    "-o wrong extension": (["generate", "--script", "Hi", "-o", "o.mp3"], 2, "-o: the output is an MP4 file"),
    "--report wrong extension": (["generate", "--script", "Hi", "-o", "o.mp4", "--report", "r.txt"], 2, "--report: the report is JSON"),
    "cast -o wrong extension": (["cast", "--prompt", "alien", "-o", "a.jpg"], 2, "--output: the portrait is a PNG"),
}


def _run(argv: list[str], capsys) -> tuple[int, list[str]]:
    try:
        code = main([*argv, "--quiet"] if argv[0] != "eval" else [argv[0], argv[1], "--quiet", *argv[2:]])
    except SystemExit as exc:  # argparse usage errors exit from inside the parser
        code = exc.code
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_is_refused_in_one_line_touching_nothing(case, work, capsys):
    folder, scratch = work
    argv, expected_code, expected = CASES[case]
    before, scratch_before = snapshot(folder), snapshot(scratch)
    code, lines = _run(argv, capsys)
    assert code == expected_code, lines
    assert len(lines) == 1, lines
    assert expected in lines[0], lines[0]
    assert snapshot(folder) == before
    assert snapshot(scratch) == scratch_before


def test_random_bytes_on_stdin_are_refused_in_one_line(work, capsys, monkeypatch):
    folder, scratch = work
    before = snapshot(folder)
    stdin = io.TextIOWrapper(io.BytesIO(np.random.default_rng(0).bytes(4096)))
    monkeypatch.setattr(sys, "stdin", stdin)
    code, lines = _run(["generate", "--script-file", "-", "-o", "o.mp4"], capsys)
    assert code == 2 and len(lines) == 1 and "--script-file: cannot read stdin as UTF-8 text" in lines[0], lines
    assert snapshot(folder) == before


def test_a_deadline_too_short_for_anything_is_one_line_without_a_traceback(work, capsys):
    folder, scratch = work
    before = snapshot(folder)
    code, lines = _run(["generate", "--script", "Hi", "--deadline", "1e-9", "-o", "o.mp4", "--report", "r2.json"], capsys)
    assert code == 3, lines
    assert lines == ["vortex: error: the slot deadline of 1e-09 s passed during speech"] or (
        len(lines) == 1 and "deadline of 1e-09 s passed" in lines[0]), lines
    after = snapshot(folder)
    assert json.loads((folder / "r2.json").read_text())["exit_code"] == 3  # the failure report, alone
    assert {k: v for k, v in after.items() if k != "r2.json"} == before


# Runs the command from a small fresh process: a child's ru_maxrss includes the high-water mark
# of the process it was forked from (pytest here, gigabytes), so the measuring parent must be small.
_LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "peak_mb": usage.ru_maxrss / 1024}))
"""


def _peak_rss_mb_of(args: list[str], cwd: Path) -> tuple[int, float, str]:
    """Run ``python ARGS``; its exit code, its own peak RSS (wait4: measured by the kernel) and stderr."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return measured["code"], measured["peak_mb"], done.stderr


def test_huge_files_are_refused_before_they_are_read(work):
    """A 2 GB script and a 3 GB photo (sparse files) are refused by size, with the memory of an
    ordinary start-up (they took 3.4-4.1 GB before)."""
    folder, _ = work
    for name, size in (("big.txt", 2 * 2**30), ("big.png", 3 * 2**30)):
        with open(folder / name, "wb") as f:
            f.truncate(size)
    cases = [(["--script-file", "big.txt"], "--script-file: big.txt is 2048.0 MB; the limit is"),
             (["--script", "Hi", "--photo", "big.png"], "--photo: big.png is 3072 MB, over the 100 MB limit")]
    for args, expected in cases:
        code, peak_mb, err = _peak_rss_mb_of(["-m", "vortex.cli", "generate", *args, "-o", "o.mp4"], folder)
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, err
        assert peak_mb < 600, f"{args}: peak RSS {peak_mb:.0f} MB"


@pytest.fixture
def three_faces(tmp_path):
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    face = skimage_data.astronaut()
    path = tmp_path / "three.png"
    cv2.imwrite(str(path), np.concatenate([face, face, face], axis=1)[:, :, ::-1])
    return path


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """A real process: native libraries write to fd 2 directly, which only a process shows."""
    return subprocess.run([sys.executable, "-m", "vortex.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))


def test_photo_warnings_reach_the_report_and_json_events_and_native_logs_stay_json(three_faces, tmp_path):
    done = _cli(["generate", "--script", "Hi.", "--photo", str(three_faces), "--size", "256", "--log-json",
                 "-o", "o.mp4", "--report", "r.json"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stderr.splitlines()]  # every stderr line is JSON
    warnings = [(e.get("stage"), e["message"]) for e in events if e["event"] == "warning"]
    assert ("actor", f"{three_faces}: 3 faces found; using the largest") in warnings
    assert f"{three_faces}: 3 faces found; using the largest" in json.loads((tmp_path / "r.json").read_text())["warnings"]
    assert any(e["event"] == "native_log" and "TensorFlow Lite" in e["message"] for e in events)  # wrapped, not dropped


def test_quiet_prints_the_photo_warning_and_no_native_log_lines(three_faces, tmp_path):
    done = _cli(["cast", "--photo", str(three_faces), "-o", "a.png", "--quiet"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"vortex: warning: {three_faces}: 3 faces found; using the largest"]
