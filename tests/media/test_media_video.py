"""MP4 and PNG sinks, checked by decoding what they wrote with PyAV / OpenCV."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from vortex.errors import InvalidInputError
from vortex.media.frames import PngFramesSink
from vortex.media.video import Mp4Writer, iter_frames, read_audio_track, read_video

FPS = 24
SR = 24_000


def _frames(n: int, size: int = 128) -> np.ndarray:
    """Distinct, smooth frames: a moving bright square on a gradient (compresses realistically).

    At least 128 px: at 64 px x264 gave different bytes about one run in fifteen (its chroma rows
    are narrower than the frame buffers' alignment); at 128 and 512 px 60 runs were identical.
    """
    y, x = np.mgrid[0:size, 0:size]
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        img = np.stack([x * 255 // size, y * 255 // size, np.full_like(x, 60)], -1).astype(np.uint8)
        c = 8 + (i * 3) % (size - 24)
        img[c : c + 16, c : c + 16] = 255
        out[i] = img
    return out


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.2 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _write(path, frames, audio, chunk=7, **kw):
    with Mp4Writer(path, FPS, frames.shape[2], audio=audio, **kw) as sink:
        for i in range(0, len(frames), chunk):
            sink.write(frames[i : i + chunk])
    return path


@pytest.mark.parametrize("audio_seconds", [1.0, 2.0, 2.7])  # shorter (padded), exact, longer (trimmed)
def test_mp4_frame_count_fps_size_rate_and_av_duration(tmp_path, audio_seconds):
    frames = _frames(48)
    out = _write(tmp_path / "clip.mp4", frames, _noise(int(audio_seconds * SR)))
    video = read_video(out)
    assert video.frames.shape == (48, 128, 128, 3)
    assert video.fps == FPS and video.sample_rate == SR and video.size == (128, 128)
    assert video.video_duration == pytest.approx(2.0)
    assert abs(video.audio_duration - video.video_duration) <= 1 / FPS
    assert abs(len(video.audio) / SR - 2.0) <= 1 / FPS
    # The picture survives the codec: mean abs error of a few grey levels at CRF 20.
    assert np.abs(video.frames.astype(int) - frames.astype(int)).mean() < 4


def test_mp4_audio_is_aligned_sample_accurately(tmp_path):
    """Encoder priming must not shift the track: the decoded audio correlates at lag 0."""
    audio = _noise(2 * SR, seed=3)
    out = _write(tmp_path / "a.mp4", _frames(48), audio)
    decoded, duration = read_audio_track(out)
    assert duration == pytest.approx(2.0)
    n = 30_000
    lags = range(-1500, 1501, 1)
    scores = [np.dot(decoded[5000 + k : 5000 + k + n], audio[5000 : 5000 + n]) for k in lags]
    assert list(lags)[int(np.argmax(scores))] == 0
    assert np.corrcoef(decoded, audio)[0, 1] > 0.9


def test_mp4_padding_is_silence(tmp_path):
    out = _write(tmp_path / "p.mp4", _frames(48), _noise(SR // 2))
    decoded, _ = read_audio_track(out)
    assert np.abs(decoded[int(0.6 * SR) :]).max() < 0.01
    assert np.abs(decoded[: int(0.45 * SR)]).std() > 0.1


def test_mp4_faststart_puts_moov_before_mdat(tmp_path):
    data = _write(tmp_path / "f.mp4", _frames(24), _noise(SR)).read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_mp4_bytes_are_deterministic(tmp_path):
    frames, audio = _frames(30), _noise(30 * 1000)
    a = _write(tmp_path / "a.mp4", frames, audio, chunk=4).read_bytes()
    b = _write(tmp_path / "b.mp4", frames, audio, chunk=11).read_bytes()
    assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()


def test_mp4_audio_in_pieces_equals_audio_at_construction(tmp_path):
    frames, audio = _frames(30), _noise(30 * 1000)
    a = _write(tmp_path / "a.mp4", frames, audio).read_bytes()
    with Mp4Writer(tmp_path / "b.mp4", FPS, frames.shape[2]) as sink:
        for i in range(0, 30, 10):
            sink.write_audio(audio[i * 1000 : (i + 10) * 1000])
            sink.write(frames[i : i + 10])
    assert (tmp_path / "b.mp4").read_bytes() == a


@pytest.mark.parametrize("interrupt", [RuntimeError("boom"), KeyboardInterrupt()])
def test_mp4_exception_leaves_nothing(tmp_path, interrupt):
    target = tmp_path / "out.mp4"
    with pytest.raises(type(interrupt)):
        with Mp4Writer(target, FPS, 128, audio=_noise(SR)) as sink:
            sink.write(_frames(10))
            raise interrupt
    assert list(tmp_path.iterdir()) == []


def test_mp4_failure_keeps_previous_file(tmp_path):
    target = _write(tmp_path / "out.mp4", _frames(24), _noise(SR))
    before = target.read_bytes()
    with pytest.raises(InvalidInputError):
        with Mp4Writer(target, FPS, 64) as sink:
            sink.write(np.zeros((2, 32, 32, 3), np.uint8))  # wrong size
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_mp4_rejects_bad_input(tmp_path):
    with pytest.raises(InvalidInputError):
        Mp4Writer(tmp_path / "x.mp4", FPS, 63)
    with pytest.raises(InvalidInputError):
        Mp4Writer(tmp_path / "x.mp4", 0, 64)
    with pytest.raises(InvalidInputError):
        Mp4Writer(tmp_path / "x.mp4", FPS, 64, audio=np.array([0.0, np.nan], np.float32))
    with pytest.raises(InvalidInputError):
        with Mp4Writer(tmp_path / "x.mp4", FPS, 64):
            pass  # no frames
    with pytest.raises(InvalidInputError):
        read_video(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(InvalidInputError):
        read_video(tmp_path / "junk.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_iter_frames_streams_same_frames(tmp_path):
    out = _write(tmp_path / "s.mp4", _frames(12), _noise(SR // 2))
    streamed = np.stack(list(iter_frames(out)))
    assert np.array_equal(streamed, read_video(out).frames)


def test_png_sink_writes_numbered_lossless_frames_atomically(tmp_path):
    frames = _frames(5)
    target = tmp_path / "frames"
    with PngFramesSink(target) as sink:
        sink.write(frames[:2])
        assert not target.exists()  # nothing visible until the folder is complete
        sink.write(frames[2:])
    names = sorted(p.name for p in target.iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(1, 6)]
    for i, name in enumerate(names):
        assert np.array_equal(cv2.imread(str(target / name))[:, :, ::-1], frames[i])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_png_sink_exception_leaves_previous_folder(tmp_path):
    target = tmp_path / "frames"
    with PngFramesSink(target) as sink:
        sink.write(_frames(2))
    with pytest.raises(KeyboardInterrupt):
        with PngFramesSink(target, overwrite=True) as sink:
            sink.write(_frames(3))
            raise KeyboardInterrupt
    assert len(list(target.iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
    with pytest.raises(InvalidInputError, match="not empty"):  # a folder with files is never replaced silently
        PngFramesSink(target)
    with PngFramesSink(target, overwrite=True) as sink:  # unless the caller says so
        sink.write(_frames(4))
    assert len(list(target.iterdir())) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


# Bytes of the writer as it was before audio could arrive in any order (main at 74d9dff, which
# took the waveform up front), for _frames(n) and _noise(samples, seed=5) written in chunks of 7.
# The encoder is pinned (av 18 wheels: x264 + FFmpeg's AAC) and fed in a fixed order, so these
# hold as long as that build does; a change here means the MP4 bytes changed.
BYTES_BEFORE_INCREMENTAL_AUDIO = {
    (48, 24_000): "3a63480c54d6fad2b4fa3b693ebdd79d4d1f34eb13eb7493a9280dca485588b0",  # audio padded
    (48, 64_800): "6e0254c569d32fafeb0851c74f96c234721c1e3e901a184987057feae6c605b3",  # audio trimmed
    (30, 30_000): "b02534a9dd7f5cc07e2a860b6752bfc2165165eff96ba38f04a0a0c9aad26c6c",  # frames not on AAC frames
}


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("frames_n,samples", list(BYTES_BEFORE_INCREMENTAL_AUDIO))
def test_mp4_bytes_equal_the_whole_waveform_writer_however_audio_arrives(tmp_path, frames_n, samples):
    """Audio before, between or after the frames, in any pieces, or never: the bytes the
    whole-waveform writer made (silence when no audio comes, as it padded)."""
    frames, audio = _frames(frames_n), _noise(samples, seed=5)
    expected = BYTES_BEFORE_INCREMENTAL_AUDIO[(frames_n, samples)]
    assert _digest(_write(tmp_path / "upfront.mp4", frames, audio)) == expected
    with Mp4Writer(tmp_path / "after.mp4", FPS, 128) as sink:  # all frames first, the audio at the end
        sink.write(frames)
        sink.write_audio(audio[:1000])
        sink.write_audio(audio[1000:])
    assert _digest(tmp_path / "after.mp4") == expected
    with Mp4Writer(tmp_path / "lagging.mp4", FPS, 128) as sink:  # audio a few frames behind, odd pieces
        cut = np.linspace(0, samples, 9).astype(int)
        for k in range(8):
            sink.write(frames[k * frames_n // 8 : (k + 1) * frames_n // 8])
            sink.write_audio(audio[cut[k] : cut[k + 1]])
    assert _digest(tmp_path / "lagging.mp4") == expected
    with Mp4Writer(tmp_path / "silent.mp4", FPS, 128) as sink:
        sink.write(frames)
    assert _digest(tmp_path / "silent.mp4") == _digest(_write(tmp_path / "zeros.mp4", frames, np.zeros(1, np.float32)))
