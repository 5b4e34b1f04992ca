"""End-to-end slots through the API on the embedded backends, checked from the decoded MP4."""

from __future__ import annotations

import asyncio
import json
import logging
import math

import numpy as np
import psutil
import pytest

from vortex.errors import CudaOutOfMemoryError, InvalidInputError
from vortex.media.hls import read_playlist
from vortex.media.video import iter_frames, read_video
from vortex.pipeline import TAIL_SEC, VortexPipeline, animate, fit_speech, typed_error
from vortex.reliability import StageTimeouts
from vortex.speech.speech import PAUSE, Phone, Speech

SCRIPT = "Hi there, Morty."


def recipe(duration="auto", seed=5, size=256, script=SCRIPT, **visual):
    return {
        "audio_track": {"script": script, "voice_id": "rick_c137"},
        "visual_track": {"prompt": "green alien scientist with antennae", **visual},
        "slot": {"duration_sec": duration, "fps": 24, "size": size, "seed": seed},
    }


def check_timeline(speech: Speech) -> None:
    assert speech.phones[0].start == 0.0
    assert speech.phones[-1].end == pytest.approx(len(speech.waveform) / speech.sample_rate, abs=1e-9)
    for a, b in zip(speech.phones, speech.phones[1:]):
        assert b.start == pytest.approx(a.end, abs=1e-9)


# --- slot length (pure, on real speech) ---------------------------------------------------------


def test_padding_adds_silence_and_one_pause(spoken):
    padded, warnings = fit_speech(spoken, 72, 24)
    assert warnings == [] and len(padded.waveform) == 72_000
    assert np.array_equal(padded.waveform[: len(spoken.waveform)], spoken.waveform)
    assert not padded.waveform[len(spoken.waveform):].any()
    assert padded.phones[-1].symbol == PAUSE and padded.phones[-1].end == 3.0
    check_timeline(padded)


def test_truncation_cuts_at_a_word_boundary_with_a_warning(spoken):
    last_word = spoken.words[-1]
    frames = int((last_word.start + last_word.end) / 2 * 24)  # ends inside the last word: cut, not refused
    cut, warnings = fit_speech(spoken, frames, 24)
    slot = frames * 1000
    assert len(cut.waveform) == slot
    assert len(warnings) == 1 and "at a word boundary" in warnings[0] and "word" in warnings[0]
    last = cut.words[-1]
    assert last.end <= slot / 24_000 and len(cut.words) < len(spoken.words)
    end = int(round(last.end * 24_000))
    assert not cut.waveform[end:].any()  # silence after the last whole word
    assert np.abs(cut.waveform[: end - 480]).max() > 0.01  # the kept words are still there
    check_timeline(cut)


def test_much_too_long_speech_is_refused_saying_by_how_much(spoken):
    frames = int(spoken.words[-1].end * 24 * 0.5)
    with pytest.raises(InvalidInputError, match=r"script too long for a [\d.]+ s slot: its speech lasts [\d.]+ s, [\d.]+ s too long"):
        fit_speech(spoken, frames, 24)


def test_trailing_silence_is_trimmed_without_a_warning(spoken):
    frames = math.ceil(spoken.words[-1].end * 24) + 1
    assert frames * 1000 < len(spoken.waveform)
    cut, warnings = fit_speech(spoken, frames, 24)
    assert warnings == [] and cut.words == spoken.words
    assert np.array_equal(cut.waveform, spoken.waveform[: frames * 1000])
    check_timeline(cut)


def test_recorded_audio_truncation_message_is_exact(spoken):
    reps = math.ceil(60 * 24_000 / len(spoken.waveform))
    long = Speech(np.tile(spoken.waveform, reps)[: 60 * 24_000], (Phone(PAUSE, 0.0, 60.0),))
    cut, warnings = fit_speech(long, 45 * 24, 24, at_word=False)
    assert warnings == ["Audio truncated from 60.0s to 45.0s"]
    assert len(cut.waveform) == 45 * 24_000
    check_timeline(cut)


def test_cuda_out_of_memory_is_reported_as_such():
    error = typed_error(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"))
    assert isinstance(error, CudaOutOfMemoryError) and str(error).startswith("CUDA out of memory")
    assert isinstance(typed_error(ValueError("x")), ValueError)


# --- whole slots ------------------------------------------------------------------------------


def test_fixed_slot_fills_every_sink(pipeline, tmp_path, probe_mp4):
    buffer = np.full((96, 3, 256, 256), -1.0, np.float32)
    out, frames_dir, report = tmp_path / "slot.mp4", tmp_path / "frames", tmp_path / "slot.json"
    result = asyncio.run(pipeline.generate_slot(recipe(duration=4), slot_id="t1", output=out, buffer=buffer,
                                                frames_dir=frames_dir, report=report, hls_dir=tmp_path / "hls"))
    assert result.success, result.error
    assert (result.frames, result.fps, result.size, result.duration_sec) == (96, 24, 256, 4.0)

    info = probe_mp4(out)
    assert (info.video_codec, info.pix_fmt, info.width, info.height, info.fps, info.frames) == ("h264", "yuv420p", 256, 256, 24.0, 96)
    assert (info.audio_codec, info.audio_rate, info.audio_channels) == ("aac", 24000, 1)
    assert info.video_duration == pytest.approx(4.0, abs=1e-6)
    assert abs(info.audio_duration - info.video_duration) <= 1 / 24

    # The buffer holds exactly the PNG frames; the MP4 holds them up to H.264's loss.
    pngs = sorted(frames_dir.glob("*.png"))
    assert len(pngs) == 96
    import cv2

    video = read_video(out)
    png_frames = np.stack([cv2.imread(str(p))[:, :, ::-1] for p in pngs])
    assert np.array_equal(np.rint(buffer.transpose(0, 2, 3, 1) * 255).astype(np.uint8), png_frames)
    for i in (0, 40, 95):
        error = np.abs(video.frames[i].astype(int) - png_frames[i]).mean()
        assert error < 5.0  # H.264 at CRF 20 plus the YUV round trip
        others = [np.abs(video.frames[i].astype(int) - png_frames[j]).mean() for j in range(96) if abs(j - i) >= 6]
        assert error < min(others)  # frame i is PNG i, in order
    assert buffer.min() >= 0.0 and buffer.max() <= 1.0
    assert np.abs(buffer[1:] - buffer[:-1]).max() > 0.1  # the face moves

    # Audio: the speech, then silence to the end of the slot.
    assert len(result.audio) == 96_000
    speech_end = int(result.speech_duration_sec * 24_000)
    decoded = video.audio[: len(result.audio)]
    assert np.corrcoef(decoded[:speech_end], result.audio[:speech_end])[0, 1] > 0.95
    assert np.abs(decoded[speech_end + 2400 :]).max() < 0.01
    assert np.sqrt(np.mean(decoded[:speech_end] ** 2)) > 0.02

    # The HLS playlist is complete and plays the same frames as the MP4 (two 2-second segments).
    assert result.hls_playlist == str(tmp_path / "hls" / "index.m3u8")
    playlist = read_playlist(result.hls_playlist)
    assert playlist.ended and [s.duration for s in playlist.segments] == [2.0, 2.0]
    hls = np.stack(list(iter_frames(result.hls_playlist)))
    assert hls.shape == video.frames.shape and np.abs(hls.astype(int) - video.frames).mean() < 2.0

    summary = json.loads(report.read_text())
    assert summary["success"] and summary["frames"] == 96 and summary["slot_id"] == "t1"
    assert {"speech", "actor", "motion", "animation", "encode", "render_encode", "total"} <= set(summary["timings"])
    assert summary["peak_rss_mb"] > 100 and summary["backends"]["speech"] == "kokoro-onnx"


def test_auto_duration_is_speech_plus_tail_in_whole_frames(pipeline, tmp_path, probe_mp4):
    result = asyncio.run(pipeline.generate_slot(recipe(), output=tmp_path / "auto.mp4"))
    assert result.success, result.error
    expected = math.ceil(round((result.speech_duration_sec + TAIL_SEC) * 24, 6))
    assert result.frames == expected and probe_mp4(tmp_path / "auto.mp4").frames == expected


def test_same_bytes_in_a_row_and_concurrently_without_memory_growth(pipeline, tmp_path):
    process = psutil.Process()
    first = pipeline.generate_slot_sync(recipe(duration=1.5), output=tmp_path / "a.mp4")
    assert first.success, first.error
    rss_after_first = process.memory_info().rss

    async def two_at_once():
        return await asyncio.gather(
            pipeline.generate_slot(recipe(duration=1.5), output=tmp_path / "b.mp4"),
            pipeline.generate_slot(recipe(duration=1.5), output=tmp_path / "c.mp4"),
        )

    assert all(r.success for r in asyncio.run(two_at_once()))
    other = pipeline.generate_slot_sync(recipe(duration=1.5, seed=6), output=tmp_path / "e.mp4")
    assert other.success and np.array_equal(other.audio, first.audio)  # the seed moves the face, not the voice
    reference = (tmp_path / "a.mp4").read_bytes()
    for name in "bc":
        assert (tmp_path / f"{name}.mp4").read_bytes() == reference
    assert (tmp_path / "e.mp4").read_bytes() != reference  # the seed matters
    assert (process.memory_info().rss - rss_after_first) / 2**20 < 100


def test_a_stage_timeout_mid_animation_leaves_nothing(tmp_path, leftovers):
    slow = VortexPipeline(animator="warp", timeouts=StageTimeouts(animation=0.4))
    result = slow.generate_slot_sync(recipe(duration=120), output=tmp_path / "x.mp4", frames_dir=tmp_path / "frames",
                                     hls_dir=tmp_path / "hls")
    assert not result.success and result.exit_code == 3
    assert "animation took longer than its 0.4 s timeout" in result.error
    assert leftovers(tmp_path) == []


def test_the_deadline_leaves_nothing(pipeline, tmp_path, leftovers):
    result = pipeline.generate_slot_sync(recipe(duration=120), output=tmp_path / "x.mp4", deadline=1.0)
    assert not result.success and result.exit_code == 3 and result.error_type == "DeadlineExceededError"
    assert "deadline of 1 s passed during" in result.error
    assert leftovers(tmp_path) == []


def test_bad_buffer_is_an_input_error(pipeline, tmp_path):
    result = pipeline.generate_slot_sync(recipe(duration=1), buffer=np.zeros((10, 3, 256, 256), np.float32))
    assert not result.success and result.exit_code == 2 and "buffer must be float32 [24, 3, 256, 256]" in result.error


@pytest.mark.slow
def test_fixed_45_second_slot_has_1080_frames(pipeline, tmp_path, probe_mp4):
    result = pipeline.generate_slot_sync(recipe(duration=45), output=tmp_path / "long.mp4")
    assert result.success, result.error
    info = probe_mp4(tmp_path / "long.mp4")
    assert result.frames == info.frames == 1080
    assert info.video_duration == pytest.approx(45.0, abs=1e-6)
    assert abs(info.audio_duration - 45.0) <= 1 / 24


# --- the compatibility call ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def astronaut():
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    image = cv2.resize(skimage_data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    return (image.transpose(2, 0, 1) / 255.0).astype(np.float32)


def test_animate_truncates_long_audio_with_the_contract_warning(pipeline, spoken, astronaut, caplog, tmp_path, probe_mp4):
    import torch

    caplog.set_level(logging.WARNING, logger="vortex.pipeline")
    frames = animate(torch.from_numpy(astronaut), torch.from_numpy(spoken.waveform), expression_preset="excited", fps=24,
                     duration=1, output=tmp_path / "a.mp4", seed=3, pipeline=pipeline)
    assert isinstance(frames, torch.Tensor) and tuple(frames.shape) == (24, 3, 256, 256) and frames.dtype == torch.float32
    assert f"Audio truncated from {spoken.duration:.1f}s to 1.0s" in caplog.text
    assert 0.0 <= float(frames.min()) and float(frames.max()) <= 1.0
    assert probe_mp4(tmp_path / "a.mp4").frames == 24


def test_animate_pads_short_audio_while_the_face_idles(pipeline, spoken, astronaut):
    frames = animate(astronaut, spoken.waveform, duration=4, seed=3, pipeline=pipeline)
    assert isinstance(frames, np.ndarray) and frames.shape == (96, 3, 256, 256)
    tail = frames[int(spoken.duration * 24) + 12 :]
    assert len(tail) >= 12 and np.abs(tail[1:] - tail[:-1]).max() > 0.02  # idling, not frozen


@pytest.mark.parametrize(
    "image, audio, kwargs, message",
    [
        (np.zeros((256, 256, 3), np.float32), np.ones(24000, np.float32), {}, "source_image must be float \\[3, H, W\\]"),
        (np.full((3, 256, 256), 2.0, np.float32), np.ones(24000, np.float32), {}, "within \\[0, 1\\]"),
        (np.zeros((3, 256, 256), np.float32), np.zeros(0, np.float32), {}, "driving_audio is empty"),
        (np.zeros((3, 256, 256), np.float32), np.full(100, np.nan, np.float32), {}, "NaN"),
        (np.zeros((3, 256, 256), np.float32), np.ones((2, 100), np.float32), {}, "mono"),
        (np.zeros((3, 256, 256), np.float32), np.ones(100, np.float32), {"fps": 500}, "fps must be an integer from 8 to 60"),
        (np.zeros((3, 256, 256), np.float32), np.ones(100, np.float32), {"expression_preset": "sleepy"}, "unknown expression preset"),
    ],
)
def test_animate_rejects_bad_inputs(image, audio, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        animate(image, audio, **kwargs)
