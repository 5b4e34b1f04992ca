"""What every slot output shares (``vortex.stages.FrameSink``), and the float32 buffer output.

A slot's frames and audio are made piece by piece (speech chunk by chunk, frames chunk by
chunk), so every output takes both incrementally and decides itself what to keep:

- ``write(frames)``: uint8 RGB [n, H, W, 3] (or one [H, W, 3] frame), in order;
- ``write_audio(samples)``: float32 mono samples at the slot's rate, in order, whenever they
  exist (before, between or after the frames they belong to);
- ``close()``: publish: the output becomes visible complete (or, for live outputs such as HLS,
  is marked complete);
- ``abort()``: remove everything written; whatever was at the destination before stays.

Outputs that hold no audio (PNG frames, the float buffer) accept and ignore it, so the caller
feeds every sink the same way.
"""

from __future__ import annotations

import numpy as np

from vortex.errors import InvalidInputError


class SinkContext:
    """``with sink:`` publishes on success and removes everything on any exception (Ctrl-C included)."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def frame_batch(chunk: np.ndarray, height: int | None = None, width: int | None = None) -> np.ndarray:
    """``chunk`` as uint8 [n, H, W, 3] (one [H, W, 3] frame becomes n = 1); raises on any other shape.

    ``height``/``width``, when given, are required; else any size is accepted.
    """
    frames = np.asarray(chunk)
    if frames.ndim == 3:
        frames = frames[None]
    size_ok = frames.ndim == 4 and (height is None or frames.shape[1] == height) and (width is None or frames.shape[2] == width)
    if frames.dtype != np.uint8 or not size_ok or frames.shape[3] != 3:
        expected = f"[n, {height or 'H'}, {width or 'W'}, 3]"
        raise InvalidInputError(f"frames must be uint8 {expected}, got {frames.dtype} {tuple(frames.shape)}")
    return frames


def mono_samples(samples: np.ndarray) -> np.ndarray:
    """``samples`` as float32 [N] clipped to [-1, 1]; raises for anything that is not finite mono audio."""
    audio = np.asarray(samples)
    if audio.ndim != 1 or not np.issubdtype(audio.dtype, np.floating):
        raise InvalidInputError(f"audio must be a mono float waveform [N], got {audio.dtype} {audio.shape}")
    if audio.size and not np.isfinite(audio).all():
        raise InvalidInputError("audio contains NaN or infinite samples")
    return np.clip(audio.astype(np.float32, copy=False), -1.0, 1.0)


class BufferSink(SinkContext):
    """Frames into a caller's float32 [T, 3, H, W] array in [0, 1], chunk by chunk.

    The buffer is the caller's memory, so "publish" is simply having written every row; on
    ``abort`` the rows written so far are zeroed, so a failed slot never leaves a buffer that
    looks half finished.
    """

    def __init__(self, buffer: np.ndarray) -> None:
        if not isinstance(buffer, np.ndarray) or buffer.dtype != np.float32 or buffer.ndim != 4 or buffer.shape[1] != 3:
            raise InvalidInputError(f"buffer must be float32 [T, 3, H, W], got {getattr(buffer, 'dtype', type(buffer).__name__)} "
                                    f"{tuple(getattr(buffer, 'shape', ()))}")
        if not buffer.flags.c_contiguous or not buffer.flags.writeable:
            raise InvalidInputError("buffer must be a writable, C-contiguous array")
        self.buffer = buffer
        self.frames_written = 0
        self._closed = False

    def write(self, frames: np.ndarray) -> None:
        if self._closed:
            raise InvalidInputError("the frame buffer is already closed")
        _, _, height, width = self.buffer.shape
        batch = frame_batch(frames, height, width)
        n = batch.shape[0]
        if self.frames_written + n > self.buffer.shape[0]:
            raise InvalidInputError(f"the frame buffer holds {self.buffer.shape[0]} frames; got frame {self.frames_written + n}")
        rows = self.buffer[self.frames_written : self.frames_written + n]
        np.multiply(batch.transpose(0, 3, 1, 2), np.float32(1.0 / 255.0), out=rows, casting="unsafe")
        self.frames_written += n

    def write_audio(self, samples: np.ndarray) -> None:
        """The buffer holds frames only; audio is accepted and ignored."""

    def close(self) -> np.ndarray:
        self._closed = True
        return self.buffer

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            self.buffer[: self.frames_written] = 0.0
