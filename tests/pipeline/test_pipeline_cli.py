"""``vortex generate`` end to end: real slots, every bad input (exit 2, one line), deadline and Ctrl-C."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vortex.cli import main
from vortex.media.hls import read_playlist
from vortex.media.video import iter_frames

SCRIPT = "Hi there, Morty."


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_writes_mp4_frames_and_report(capsys, tmp_path, probe_mp4):
    out, frames, report = tmp_path / "slot.mp4", tmp_path / "frames", tmp_path / "slot.json"
    code, stdout, stderr = run_cli(capsys, "--script", SCRIPT, "--voice", "morty", "--prompt", "purple robot, city",
                                   "--expressions", "neutral,excited", "--duration", "2", "--size", "256", "--seed", "4",
                                   "-o", str(out), "--frames", str(frames), "--report", str(report), "--hls", str(tmp_path / "hls"))
    assert code == 0, stderr
    assert f"wrote {out}: 48 frames, 2.00 s at 24 fps, 256x256" in stdout
    assert "speech done in" in stderr and "animation done in" in stderr  # progress per stage
    info = probe_mp4(out)
    assert (info.frames, info.width, info.fps, info.audio_rate, info.audio_channels) == (48, 256, 24.0, 24000, 1)
    assert abs(info.audio_duration - info.video_duration) <= 1 / 24
    assert len(list(frames.glob("frame_*.png"))) == 48
    summary = json.loads(report.read_text())
    assert summary["success"] and summary["exit_code"] == 0 and summary["frames"] == 48
    assert summary["hls_playlist"] == str(tmp_path / "hls" / "index.m3u8")
    assert read_playlist(summary["hls_playlist"]).ended and sum(1 for _ in iter_frames(summary["hls_playlist"])) == 48
    assert summary["recipe"]["visual_track"]["expression_sequence"] == ["neutral", "excited"]
    assert summary["recipe"]["audio_track"]["voice_id"] == "morty"


def test_recipe_file_with_slot_override(capsys, tmp_path, probe_mp4):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({
        "slot_id": "ep1-s1",
        "audio_track": {"script": SCRIPT, "voice_id": "summer", "emotion": "excited"},
        "visual_track": {"prompt": "young woman, red hair, studio", "expression_preset": "calm"},
        "slot": {"duration_sec": 45, "fps": 24, "size": 256, "seed": 2},
    }))
    code, stdout, stderr = run_cli(capsys, "--recipe", str(recipe), "--duration", "1.5", "--quiet", "-o", str(tmp_path / "r.mp4"))
    assert code == 0, stderr
    assert stdout == "" and stderr == ""  # --quiet
    assert probe_mp4(tmp_path / "r.mp4").frames == 36


def _wav(path: Path, waveform: np.ndarray, rate: int, subtype: str = "FLOAT") -> Path:
    sf.write(str(path), waveform, rate, subtype=subtype)
    return path


def test_recorded_audio_at_another_rate_and_in_stereo_is_converted_with_warnings(capsys, tmp_path, spoken, probe_mp4):
    import soxr

    at_44k = soxr.resample(spoken.waveform, 24000, 44100)
    wav = _wav(tmp_path / "take.wav", np.stack([at_44k, at_44k * 0.9], axis=1), 44100)
    code, _, stderr = run_cli(capsys, "--audio", str(wav), "--script", "Hello Morty, big science today.",
                              "--photo", str(_astronaut_png(tmp_path)), "--size", "256", "-o", str(tmp_path / "take.mp4"))
    assert code == 0, stderr
    assert "resampled from 44100 Hz to 24000 Hz" in stderr and "2 channels mixed down to mono" in stderr
    info = probe_mp4(tmp_path / "take.mp4")
    assert info.audio_rate == 24000 and info.audio_channels == 1
    assert info.frames >= int(spoken.duration * 24)


def _astronaut_png(folder: Path) -> Path:
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    path = folder / "astronaut.png"
    cv2.imwrite(str(path), skimage_data.astronaut()[:, :, ::-1])
    return path


def _bad_files(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    files = {
        "corrupt.png": folder / "corrupt.png",
        "corrupt.wav": folder / "corrupt.wav",
        "script.txt": folder / "script.txt",
        "latin1.txt": folder / "latin1.txt",
        "long.txt": folder / "long.txt",
    }
    files["corrupt.png"].write_bytes(b"\x89PNG\r\n\x1a\n" + rng.bytes(500))
    files["corrupt.wav"].write_bytes(b"RIFF" + rng.bytes(500))
    files["script.txt"].write_text("   \n")
    files["latin1.txt"].write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    files["long.txt"].write_text("Science is about asking the right questions, Morty. " * 40)
    files["empty.wav"] = _wav(folder / "empty.wav", np.zeros(0, np.float32), 24000)
    files["nan.wav"] = _wav(folder / "nan.wav", np.full(24000, np.nan, np.float32), 24000)
    files["silent.wav"] = _wav(folder / "silent.wav", np.zeros(24000, np.float32), 24000)
    return files


BAD_INPUTS = {
    "empty script": (["--script", "  "], "--script: is empty"),
    "punctuation only": (["--script", "?!"], "--script: has no words"),
    "empty script file": (["--script-file", "{script.txt}"], "--script: is empty"),
    "script file not UTF-8": (["--script-file", "{latin1.txt}"], "cannot read"),
    "missing script file": (["--script-file", "/nonexistent/s.txt"], "--script-file: file not found"),
    "script too long for a fixed slot": (["--script-file", "{long.txt}", "--duration", "10"], "script too long for a 10 s slot"),
    "nothing to say": ([], "nothing to say"),
    "script and script file": (["--script", "hi", "--script-file", "{script.txt}"], "not both"),
    "unknown voice": (["--script", "hi", "--voice", "rick_c138"], "--voice: unknown voice 'rick_c138'; choose one of:"),
    "unknown emotion": (["--script", "hi", "--emotion", "bored"], "--emotion: unknown emotion"),
    "speed out of range": (["--script", "hi", "--speed", "9"], "--speed: must be from 0.5 to 2, got 9"),
    "prompt and photo": (["--script", "hi", "--prompt", "alien", "--photo", "x.png"], "give --prompt or --photo, not both"),
    "missing photo": (["--script", "hi", "--photo", "/nonexistent/face.png"], "--photo: file not found"),
    "corrupt photo": (["--script", "hi", "--photo", "{corrupt.png}"], "not a readable image"),
    "missing audio": (["--audio", "/nonexistent/take.wav"], "--audio: file not found"),
    "corrupt audio": (["--audio", "{corrupt.wav}"], "cannot read audio file corrupt.wav"),
    "empty audio": (["--audio", "{empty.wav}"], "no samples"),
    "NaN audio": (["--audio", "{nan.wav}"], "NaN"),
    "silent audio": (["--audio", "{silent.wav}"], "silent"),
    "voice with audio": (["--audio", "{empty.wav}", "--voice", "morty"], "--voice does not apply to --audio"),
    "unknown expression": (["--script", "hi", "--expression", "sleepy"], "--expression: unknown expression preset 'sleepy'"),
    "bad expression sequence": (["--script", "hi", "--expressions", "calm,,manic"], "cannot parse expression item"),
    "fps out of range": (["--script", "hi", "--fps", "240"], "--fps: must be an integer from 8 to 60, got 240"),
    "fps not a number": (["--script", "hi", "--fps", "fast"], "--fps: must be an integer"),
    "size out of range": (["--script", "hi", "--size", "4096"], "--size: must be an integer from 256 to 1024, got 4096"),
    "odd size": (["--script", "hi", "--size", "257"], "--size: must be even"),
    "duration out of range": (["--script", "hi", "--duration", "0"], "--duration: must be from 1 to 600, got 0"),
    "duration not a number": (["--script", "hi", "--duration", "long"], "--duration: must be a number"),
    "negative seed": (["--script", "hi", "--seed", "-3"], "--seed: must be an integer"),
    "bad deadline": (["--script", "hi", "--deadline", "-1"], "--deadline must be a positive number"),
    "output is a folder": (["--script", "hi", "-o", "{folder}"], "is a folder"),
    "HLS folder not empty": (["--script", "hi", "--hls", "{folder}"], "--hls: "),
    "HLS folder is a file": (["--script", "hi", "--hls", "{script.txt}"], "exists and is not a folder"),
    "recipe with script": (["--recipe", "{script.txt}", "--script", "hi"], "drop --script"),
    "recipe not JSON": (["--recipe", "{latin1.txt}"], "cannot read"),
    "unknown animator": (["--script", "hi", "--animator", "magic"], "invalid choice: 'magic'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(case, capsys, tmp_path, leftovers):
    args, expected = BAD_INPUTS[case]
    files = {name: str(path) for name, path in _bad_files(tmp_path).items()}
    files["folder"] = str(tmp_path)
    for name, path in files.items():
        args = [a.replace("{" + name + "}", path) for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out.mp4")]
    before = leftovers(tmp_path)
    try:
        code = main(["generate", "--quiet", *args])
    except SystemExit as exc:  # argparse errors exit from inside the parser
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected in lines[0]
    assert leftovers(tmp_path) == before  # nothing written


def test_deadline_exits_3_and_leaves_nothing(tmp_path, leftovers):
    """A real process: it must report the deadline, wait for the abandoned stage and exit cleanly."""
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "vortex.cli", "generate", "--script", SCRIPT, "--duration", "120", "--size", "256",
           "--deadline", "0.5", "--quiet", "-o", str(out / "late.mp4"), "--frames", str(out / "frames")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().splitlines() == ["vortex: error: the slot deadline of 0.5 s passed during speech"] or (
        len(done.stderr.strip().splitlines()) == 1 and "deadline of 0.5 s passed" in done.stderr)
    assert leftovers(out) == []


def test_liveportrait_without_weights_says_what_is_missing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VORTEX_MODELS_DIR", str(tmp_path / "models"))
    code, _, err = run_cli(capsys, "--script", SCRIPT, "--animator", "liveportrait", "-o", str(tmp_path / "lp.mp4"))
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("vortex: error: animator backend liveportrait cannot run: ")
    assert "missing" in err and "vortex models download liveportrait" in err
    assert not (tmp_path / "lp.mp4").exists()
