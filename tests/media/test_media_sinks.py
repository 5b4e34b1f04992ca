"""The FrameSink interface: every output takes frames and audio the same way, publishes on close
and leaves nothing on abort; the float buffer sink."""

from __future__ import annotations

import numpy as np
import pytest

from vortex.errors import InvalidInputError
from vortex.media.frames import PngFramesSink
from vortex.media.hls import HlsSink
from vortex.media.sink import BufferSink
from vortex.media.video import Mp4Writer, read_video
from vortex.stages import FrameSink


def _frames(n: int, size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(n)
    base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return np.stack([np.roll(base, i, axis=1) for i in range(n)])


def _sinks(tmp_path, buffer):
    return [Mp4Writer(tmp_path / "a.mp4", 24, 128), PngFramesSink(tmp_path / "frames"), HlsSink(tmp_path / "hls", 24, 128),
            BufferSink(buffer)]


def test_every_sink_is_a_frame_sink_fed_the_same_way(tmp_path):
    frames = _frames(30)
    buffer = np.full((30, 3, 128, 128), -1.0, np.float32)
    sinks = _sinks(tmp_path, buffer)
    for sink in sinks:
        assert isinstance(sink, FrameSink)
    audio = np.zeros(30 * 1000, np.float32)
    for i in range(0, 30, 8):
        for sink in sinks:
            sink.write(frames[i : i + 8])
            sink.write_audio(audio[i * 1000 : (i + 8) * 1000])
    assert [s.frames_written for s in sinks] == [30, 30, 30, 30]
    for sink in sinks:
        sink.close()
    assert len(read_video(tmp_path / "a.mp4").frames) == 30
    assert len(list((tmp_path / "frames").iterdir())) == 30
    assert (tmp_path / "hls" / "index.m3u8").is_file()
    # The buffer is the frames in [0, 1], channels first, exactly.
    assert np.array_equal(np.rint(buffer * 255).astype(np.uint8), frames.transpose(0, 3, 1, 2))


def test_abort_leaves_nothing_for_every_sink(tmp_path):
    buffer = np.zeros((20, 3, 128, 128), np.float32)
    sinks = _sinks(tmp_path, buffer)
    for sink in sinks:
        sink.write_audio(np.zeros(20_000, np.float32))
        sink.write(_frames(20))
    for sink in sinks:
        sink.abort()
    assert list(tmp_path.iterdir()) == []
    assert not buffer.any()  # rows written are zeroed again


def test_buffer_sink_checks_its_input():
    with pytest.raises(InvalidInputError):
        BufferSink(np.zeros((2, 128, 128, 3), np.float32))  # channels last
    with pytest.raises(InvalidInputError):
        BufferSink(np.zeros((2, 3, 8, 8), np.float64))
    with pytest.raises(InvalidInputError):
        BufferSink(np.zeros((2, 3, 8, 8), np.float32)[:, :, ::2])  # not contiguous
    sink = BufferSink(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(InvalidInputError):
        sink.write(np.zeros((1, 8, 9, 3), np.uint8))
    sink.write(np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="holds 2 frames"):
        sink.write(np.zeros((1, 8, 8, 3), np.uint8))
