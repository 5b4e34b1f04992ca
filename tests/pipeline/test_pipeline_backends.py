"""Backend selection in ``vortex generate``: what each stage used and why, and a named backend
that cannot run failing at once, with one line and nothing written."""

from __future__ import annotations

import json

import pytest

from vortex.cli import main


def test_default_run_reports_embedded_backends_with_reasons(capsys, tmp_path, probe_mp4):
    empty = tmp_path / "models"  # no official files: every stage falls back, and says why
    empty.mkdir()
    out, report = tmp_path / "slot.mp4", tmp_path / "slot.json"
    code = main(["generate", "--script", "Hi there.", "--size", "256", "--models-dir", str(empty), "-o", str(out),
                 "--report", str(report)])
    _, stderr = capsys.readouterr()
    assert code == 0, stderr
    status = [line for line in stderr.splitlines() if line.startswith("vortex: backends: ")]
    assert len(status) == 1, stderr
    assert "speech hibari (voice heart: hibari heart, the default English voice" in status[0]
    assert "actor procedural (embedded default; flux unavailable:" in status[0]
    assert "animator warp (embedded default; liveportrait unavailable:" in status[0]
    summary = json.loads(report.read_text())
    assert summary["backends"] == {"speech": "hibari", "actor": "procedural", "animator": "warp"}
    reasons = summary["backend_reasons"]
    assert reasons["speech"].startswith("voice heart: hibari heart")
    assert str(empty / "liveportrait") in reasons["animator"] or "not installed" in reasons["animator"]
    assert probe_mp4(out).frames == summary["frames"] > 0


def test_kokoro_voices_fall_back_to_the_embedded_kokoro_and_say_why(tmp_path):
    from vortex.backends import select_speech_backend
    from vortex.errors import InvalidInputError

    choice = select_speech_backend(None, tmp_path, voice="jf_alpha")
    assert choice.name == "kokoro-onnx" and choice.reason.startswith("embedded default; kokoro-torch unavailable: ")
    with pytest.raises(InvalidInputError, match="voice 'heart' is spoken by the hibari backend, not kokoro-onnx"):
        select_speech_backend("kokoro-onnx", tmp_path, voice="heart")


def test_photo_and_recording_are_named_as_such(pipeline):
    from vortex.recipe import Recipe

    recipe = Recipe.from_dict({"audio_track": {"script": "Hi."}, "visual_track": {"prompt": "robot"}})
    choices = pipeline.backends_for(recipe, external_audio=True, photo=True)
    assert choices["speech"].name == "external-audio" and choices["speech"].reason.startswith("your recording; ")
    assert choices["actor"].name == "photo"
    assert pipeline.backends_for(recipe)["actor"].name == pipeline.actor_name


def test_unavailable_actor_fails_before_any_work(capsys, tmp_path):
    empty = tmp_path / "models"
    empty.mkdir()
    out, report = tmp_path / "out" / "slot.mp4", tmp_path / "out" / "slot.json"
    out.parent.mkdir()
    code = main(["generate", "--script", "Hi there.", "--prompt", "astronaut", "--actor", "flux", "--models-dir", str(empty),
                 "-o", str(out), "--report", str(report)])
    stdout, stderr = capsys.readouterr()
    assert code == 1  # MissingResourceError
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vortex: error: actor backend flux cannot run: "), stderr
    assert "missing" in lines[0] or "not installed" in lines[0]
    assert "speech done" not in stderr and stdout == ""
    assert list(out.parent.iterdir()) == []



def test_recording_without_transcript_goes_through_speech_from_audio(pipeline, spoken, tmp_path):
    """No transcript: Whisper (a default dependency) writes one and it is aligned; the report
    says which path made the timeline."""
    import soundfile as sf

    wav = tmp_path / "take.wav"
    sf.write(str(wav), spoken.waveform, 24000, subtype="FLOAT")
    recipe = {"audio_track": {"audio_file": str(wav)}, "visual_track": {"prompt": "robot"},
              "slot": {"duration_sec": "auto", "size": 256}}
    result = pipeline.generate_slot_sync(recipe, return_frames=True).raise_for_error()
    assert result.backends["speech"] == "external-audio"
    assert "Whisper transcript, aligned" in result.backend_reasons["speech"], result.backend_reasons
    assert result.frames >= int(spoken.duration * 24)


def test_flux_actor_is_what_draws_a_prompt_when_chosen(tmp_path):
    """A loaded FluxActor (a tiny random one, built as in tests/actors) draws the prompt: its
    noise has no face, so the slot fails with the Flux path's own error, typed (exit 2)."""
    import importlib.util
    from pathlib import Path

    import pytest

    pytest.importorskip("diffusers")
    spec = importlib.util.spec_from_file_location(
        "flux_tiny", Path(__file__).parents[1] / "actors" / "test_flux_actor.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    from vortex.actors.flux import FluxActor
    from vortex.pipeline import VortexPipeline

    actor = FluxActor(tiny.tiny_pipeline(), tiny.OPTIONS)
    pipe = VortexPipeline(animator="warp", speech="kokoro-onnx", flux_actor=actor)
    assert pipe.backend_choices["actor"].name == "flux"
    recipe = {"audio_track": {"script": "Hi."}, "visual_track": {"prompt": "an old man with red hair"},
              "slot": {"duration_sec": 1, "size": 256, "seed": 5}}
    result = pipe.generate_slot_sync(recipe, output=tmp_path / "slot.mp4")
    assert not result.success and result.exit_code == 2, result.error
    assert result.error.startswith("generated image: ") and "flux seed 5" in result.error
    assert not (tmp_path / "slot.mp4").exists()
    procedural = VortexPipeline(animator="warp", actor="procedural", flux_actor=actor)
    assert procedural.backend_choices["actor"].name == "procedural"


def test_a_pipeline_imports_its_backends_code_before_any_slot_starts_threads():
    """Speech, actor and animator start on threads at once; a package two of them import for the
    first time at once can fail (``KeyError: 'scipy'`` was seen). Building the pipeline imports
    the chosen backends' modules on the caller's thread first; checked in a fresh interpreter."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from vortex.pipeline import VortexPipeline\n"
        "assert 'scipy.spatial' not in sys.modules\n"
        "VortexPipeline(animator='warp', actor='procedural')\n"
        "print(sorted(m for m in ('vortex.animators.warp.animator', 'scipy.spatial', 'vortex.actors.procedural') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "['scipy.spatial', 'vortex.actors.procedural', 'vortex.animators.warp.animator']"


def test_a_pipeline_turns_opencv_s_own_thread_pool_off():
    """The slot's own threads are its parallelism; OpenCV's pool beside them only spin-waits.
    Checked in a fresh interpreter, where OpenCV starts with its default pool."""
    import os
    import subprocess
    import sys

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("on one core OpenCV starts without a pool")
    probe = ("import cv2; before = cv2.getNumThreads(); from vortex.pipeline import VortexPipeline; "
             "VortexPipeline(animator='warp', actor='procedural'); print(before, cv2.getNumThreads())")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split()[-2:])
    assert before >= 2 and after == 1


def test_load_makes_the_chosen_speech_backend_resident_beside_the_default_voices():
    """A pipeline built for Kokoro's voices loads Kokoro at start-up, not in its first slot, and
    still speaks the default voice on hibari."""
    from vortex.pipeline import VortexPipeline

    pipe = VortexPipeline(animator="warp", actor="procedural", speech="kokoro-onnx").load(animator=False)
    assert pipe.resident_speech == ("kokoro-onnx", "hibari")
    assert pipe.speech_backend("jm_kumo").name == "kokoro-onnx"
    assert pipe.speech_backend("heart").name == "hibari"
    assert pipe.resident_speech == ("kokoro-onnx", "hibari")  # nothing loaded again
