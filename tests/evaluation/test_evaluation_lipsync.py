"""Prove the instrument: real talking videos, shifted audio, a frozen mouth.

The talking video is made by the real stages (Kokoro speech, procedural portrait, motion
planner, warp animator, Mp4Writer). The evaluator then sees only the MP4 and the transcript.
Landmarks are measured once per video; shifting the audio does not change the pixels, so for
k = -4..4 only the audio side (pocketsphinx alignment of the shifted track) is redone. One
shifted MP4 is also encoded for real and measured through the CLI.

Audio shift convention: ``shift_audio(w, k)`` moves the sound k frames EARLIER (k > 0 drops the
first k*1000 samples and pads the end with silence), so the unchanged mouth now moves k frames
after its sound: the video lags the audio by k and the evaluator must report offset + k.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from vortex.cli import main
from vortex.evaluation.lipsync import evaluate_lipsync, evaluate_tracks, measure_apertures, phones_from_audio
from vortex.media.video import Mp4Writer, iter_frames, read_audio_track, read_video

FPS = 24
SR = 24_000
SAMPLES_PER_FRAME = SR // FPS
TEXT = "Maybe a big ball of pasta, or a bowl of apple pie, by my mom. Pop up, Bob!"
SHIFTS = range(-4, 5)


def shift_audio(waveform: np.ndarray, k: int) -> np.ndarray:
    """Move the sound k frames earlier (k > 0) or later (k < 0), padding with silence; same length."""
    n = k * SAMPLES_PER_FRAME
    if n == 0:
        return waveform.copy()
    if n > 0:
        return np.concatenate([waveform[n:], np.zeros(n, np.float32)])
    return np.concatenate([np.zeros(-n, np.float32), waveform[:n]])


def _encode(path, frames_iter, audio, size):
    with Mp4Writer(path, FPS, size, audio=audio) as sink:
        for chunk in frames_iter:
            sink.write(chunk)
    return path


@pytest.fixture(scope="module")
def talking(tmp_path_factory):
    """A real slot rendered by the real stages: (mp4 path, transcript)."""
    from vortex.actors.procedural import draw_portrait
    from vortex.animators.warp import WarpAnimator
    from vortex.motion.planner import plan_motion
    from vortex.speech.kokoro_onnx import KokoroOnnxSpeech

    speech = KokoroOnnxSpeech().synthesize(TEXT, voice="jf_alpha")
    frames = int(np.ceil(speech.duration * FPS)) + 12  # a half-second idle tail
    portrait = draw_portrait("a friendly woman with short dark hair", seed=3, size=512)
    controls = plan_motion(speech, frames, FPS, "neutral", seed=0)
    path = tmp_path_factory.mktemp("lipsync") / "talking.mp4"
    return _encode(path, WarpAnimator().frames(portrait, controls), speech.waveform, 512), TEXT


@pytest.fixture(scope="module")
def measured(talking):
    """Apertures from the pixels (one mediapipe pass) and the decoded audio."""
    path, _ = talking
    audio, _ = read_audio_track(path)
    return measure_apertures(iter_frames(path)), audio


@pytest.fixture(scope="module")
def shifted_reports(measured, talking):
    aperture, audio = measured
    reports = {}
    for k in SHIFTS:
        speech, source = phones_from_audio(shift_audio(audio, k), SR, talking[1])
        reports[k] = evaluate_tracks(aperture, FPS, speech.phones, source)
    return reports


def test_real_slot_meets_targets(shifted_reports):
    report = shifted_reports[0]
    assert report.frames_without_face == 0
    assert report.bilabials >= 8 and report.open_vowels >= 5
    assert abs(report.offset_frames) <= 1.0, report.to_text()
    assert report.closure_share >= 0.95, report.to_text()
    assert report.open_vowel_share >= 0.9, report.to_text()
    assert report.sync_correlation > 0.5


@pytest.mark.parametrize("k", [k for k in SHIFTS if k])
def test_offset_follows_audio_shift(shifted_reports, k):
    base = shifted_reports[0].offset_frames
    assert abs(base) <= 0.5, f"baseline offset {base:+.2f}"
    assert shifted_reports[k].offset_frames == pytest.approx(k, abs=0.5), shifted_reports[k].to_text()


@pytest.mark.parametrize("k", [0, 3])
def test_offset_without_transcript_uses_phone_recognition(measured, k):
    aperture, audio = measured
    speech, source = phones_from_audio(shift_audio(audio, k), SR, None)
    report = evaluate_tracks(aperture, FPS, speech.phones, source)
    assert source == "recognition"
    assert report.offset_frames == pytest.approx(k, abs=0.5), report.to_text()


def test_failed_alignment_falls_back_to_recognition_and_says_so(measured, caplog):
    aperture, audio = measured
    wrong = " ".join(["the quick brown fox jumps over the lazy dog again"] * 4)
    speech, source = phones_from_audio(audio, SR, wrong)
    assert source == "recognition (alignment failed)"
    assert "falling back to phone recognition" in caplog.text
    assert evaluate_tracks(aperture, FPS, speech.phones, source).offset_frames == pytest.approx(0, abs=0.5)


def test_large_shift_breaks_closures(shifted_reports):
    assert shifted_reports[4].closure_share < shifted_reports[0].closure_share
    assert not shifted_reports[4].passed and not shifted_reports[-4].passed


def test_cli_measures_a_really_shifted_mp4(talking, tmp_path, capsys):
    path, text = talking
    video = read_video(path)
    k = 3
    shifted = _encode(tmp_path / "late.mp4", [video.frames], shift_audio(video.audio, k), video.size[0])
    code = main(["eval", "lipsync", str(shifted), "--text", text, "--json", "--quiet"])
    data = json.loads(capsys.readouterr().out)
    assert data["offset_frames"] == pytest.approx(k, abs=0.5)
    assert data["checks"]["offset"] is False and data["passed"] is False and code == 4


def test_frozen_mouth_fails_closures_and_open_vowels(talking, tmp_path):
    path, text = talking
    video = read_video(path)
    frozen = np.repeat(video.frames[:1], len(video.frames), axis=0)
    report = evaluate_lipsync(_encode(tmp_path / "frozen.mp4", [frozen], video.audio, video.size[0]), text)
    assert report.frames_without_face == 0
    assert not report.checks["closures"] and not report.checks["open_vowels"] and not report.passed
    assert report.closure_share == 0.0 and report.open_vowel_share == 0.0


def test_cli_text_and_json_outputs_and_bad_input(talking, tmp_path, capsys):
    path, text = talking
    assert main(["eval", "lipsync", str(tmp_path / "missing.mp4"), "--quiet"]) == 2
    assert "not found" in capsys.readouterr().err
    silent = _encode(tmp_path / "silent.mp4", [read_video(path).frames[:24]], np.zeros(SR, np.float32), 512)
    assert main(["eval", "lipsync", str(silent), "--quiet"]) == 2
    assert "no audible audio" in capsys.readouterr().err
    assert main(["eval", "lipsync", str(path), "--text", "  ", "--quiet"]) == 2
