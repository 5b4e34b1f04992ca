"""`vortex say` and `vortex voices` through the real CLI entry point."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

from vortex.cli import main


def test_say_writes_wav_and_timeline(tmp_path, capsys):
    out, timeline = tmp_path / "hi.wav", tmp_path / "hi.json"
    rc = main(["say", "Hello there, Morty.", "--voice", "rick_c137", "--emotion", "angry", "--speed", "1.1",
               "-o", str(out), "--timeline", str(timeline), "--quiet"])
    assert rc == 0
    wave, rate = sf.read(out, dtype="float32")
    assert rate == 24_000 and wave.ndim == 1 and np.abs(wave).max() > 0.3
    data = json.loads(timeline.read_text())
    assert data["voice"] == "rick_c137" and data["emotion"] == "angry"
    assert data["phones"][0]["start"] == 0.0
    assert abs(data["phones"][-1]["end"] - len(wave) / 24_000) < 1e-6
    assert [w["word"] for w in data["words"]] == ["Hello", "there", "Morty"]
    assert capsys.readouterr().err == ""  # --quiet


def test_say_reads_stdin_and_text_files(tmp_path, monkeypatch):
    script = tmp_path / "script.txt"
    script.write_text("Good morning.\n", encoding="utf-8")
    assert main(["say", "--text-file", str(script), "-o", str(tmp_path / "a.wav"), "-q"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("Good morning."))
    assert main(["say", "-", "-o", str(tmp_path / "b.wav"), "-q"]) == 0
    a, _ = sf.read(tmp_path / "a.wav")
    b, _ = sf.read(tmp_path / "b.wav")
    assert np.array_equal(a, b)


def test_say_rejects_bad_requests_before_loading_anything(tmp_path, capsys):
    out = tmp_path / "x.wav"
    assert main(["say", "hi", "--voice", "nobody", "-o", str(out)]) == 2
    assert main(["say", "hi", "--emotion", "bored", "-o", str(out)]) == 2
    assert main(["say", "hi", "--speed", "9", "-o", str(out)]) == 2
    assert main(["say", "?!", "-o", str(out)]) == 2
    assert main(["say", "--text-file", str(tmp_path / "none.txt"), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 5 and all(line.startswith("vortex: error: ") for line in err)
    assert "valid voices: heart, jm_kumo" in err[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_voices_lists_every_voice_and_emotion(capsys):
    assert main(["voices", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ids = [v["id"] for v in data["voices"]]
    assert ids[:2] == ["heart", "jm_kumo"]  # the offered ones (tests/speech/test_speech_voices.py)
    assert [v["engine"] for v in data["voices"]][:2] == ["hibari", "kokoro"]
    assert {"rick_c137", "morty", "jerry", "beth"} <= set(ids)
    recipes = [v["recipe"] for v in data["voices"]]
    assert len(set(zip(recipes, [v["speed"] for v in data["voices"]]))) == len(ids)  # all distinct
    assert [e["id"] for e in data["emotions"]] == ["neutral", "excited", "sad", "angry", "manic"]
    assert main(["voices"]) == 0
    assert "rick_c137" in capsys.readouterr().out


def test_subprocess_exit_code_and_one_line_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "vortex.cli", "say", "hello", "--voice", "zzz", "-o", str(tmp_path / "x.wav")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("vortex: error: unknown voice 'zzz'")


def test_a_run_leaves_nothing_in_the_temp_directory(tmp_path):
    """A real process speaking with Kokoro (ONNX Runtime) and espeak: its temp directory is as
    empty afterwards as before (ONNX Runtime's telemetry wrote a ".ses" file there on every run)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("ORT_DISABLE_TELEMETRY", None)  # what a user's shell has: Vortex must not rely on it
    done = subprocess.run([sys.executable, "-m", "vortex.cli", "say", "Hello there, Morty.", "--voice", "rick_c137",
                           "--quiet", "-o", str(tmp_path / "hi.wav")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sf.info(str(tmp_path / "hi.wav")).frames > 0
    assert sorted(p.name for p in scratch.rglob("*")) == []
