"""MP4 out and in: a streaming H.264 + AAC sink for animator frames, and a decoder for tests and evaluation.

Why streaming: a 45-second 512x512 slot is 1080 frames (850 MB as uint8); the animator hands
over chunks and the encoder consumes them, so memory stays flat. Why the audio is padded or
trimmed to exactly ``frames / fps``: players and the lip-sync evaluator read both durations from
the container, and they must agree within one frame.

AAC adds 1024 samples of encoder priming and pads its last frame to 1024 samples; the MP4 muxer
writes an edit list that hides both, so the container's audio duration equals the samples we fed.
``read_video`` honours that duration (decoders skip the priming but keep the tail padding).
"""

from __future__ import annotations

import contextlib
import fractions
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError, MissingResourceError
from vortex.media.atomic import atomic_output

AAC_FRAME = 1024
"""Samples per AAC frame: the unit in which audio is handed to the encoder."""

X264_THREADS = 2
"""Fixed encoder thread count: x264's output depends on it, so fixing it makes bytes reproducible."""


def _import_av():
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a core dependency
        raise MissingResourceError("PyAV is required for video: pip install 'av>=18,<19'") from exc
    return av


def _size_tuple(size: int | tuple[int, int]) -> tuple[int, int]:
    """``size`` as (width, height); an int means a square frame."""
    width, height = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise InvalidInputError(f"video size must be positive and even for yuv420p, got {width}x{height}")
    return width, height


class Mp4Writer:
    """Streaming MP4 sink: H.264 yuv420p (CRF, faststart) + AAC mono, written atomically.

    Use as a context manager::

        with Mp4Writer("slot.mp4", fps=24, size=512, audio=speech.waveform) as sink:
            for chunk in chunks:          # uint8 [n, H, W, 3] RGB
                sink.write(chunk)

    The file appears at ``path`` only when the block (or ``close()``) succeeds; on any exception,
    KeyboardInterrupt included, the temporary file is removed and nothing is left behind.
    Audio (float32 mono at ``sample_rate``) may be given at construction or appended with
    ``write_audio``; on close it is padded with silence or trimmed to exactly ``frames / fps``.
    Output bytes are identical for identical inputs (fixed encoder threads, no timestamps).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: int,
        size: int | tuple[int, int],
        sample_rate: int = SAMPLE_RATE,
        crf: int = 20,
        preset: str = "veryfast",
        audio: np.ndarray | None = None,
    ) -> None:
        if not isinstance(fps, int) or not 1 <= fps <= 120:
            raise InvalidInputError(f"fps must be an integer in 1..120, got {fps!r}")
        if not 8000 <= int(sample_rate) <= 96000:
            raise InvalidInputError(f"sample_rate must be in 8000..96000 Hz, got {sample_rate}")
        self.path = Path(path)
        self.fps = fps
        self.width, self.height = _size_tuple(size)
        self.sample_rate = int(sample_rate)
        self.frames_written = 0
        self._audio_parts: list[np.ndarray] = []
        self._audio_buffered = 0
        self._audio_encoded = 0
        self._closed = False
        av = _import_av()
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_output(self.path))
        try:
            self._container = av.open(str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
            self._video = self._container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": preset})
            self._video.width, self._video.height = self.width, self.height
            self._video.pix_fmt = "yuv420p"
            self._video.codec_context.thread_count = X264_THREADS
            self._audio = self._container.add_stream("aac", rate=self.sample_rate)
            self._audio.layout = "mono"
        except av.error.FFmpegError as exc:
            self._abort(exc)
            raise MissingResourceError(f"this PyAV build cannot encode H.264/AAC MP4 ({exc}); install the PyPI wheel of av 18") from exc
        except BaseException as exc:
            self._abort(exc)
            raise
        if audio is not None:
            self.write_audio(audio)

    # -- writing -----------------------------------------------------------------------------

    def write(self, chunk: np.ndarray) -> None:
        """Encode RGB frames: uint8 [n, H, W, 3] (or one [H, W, 3] frame)."""
        self._check_open()
        frames = np.asarray(chunk)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (self.height, self.width, 3):
            self.abort()
            raise InvalidInputError(
                f"frames must be uint8 [n, {self.height}, {self.width}, 3], got {frames.dtype} {tuple(frames.shape)}"
            )
        av = _import_av()
        try:
            for image in frames:
                # RGB -> YUV 4:2:0 (BT.601 limited range, as swscale would) with OpenCV: the
                # swscale conversion PyAV runs for an rgb24 frame gave different bytes on about
                # one run in four (one in thirty when called explicitly), breaking reproducibility.
                yuv = cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420)
                frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                frame.pts = self.frames_written
                self._container.mux(self._video.encode(frame))
                self.frames_written += 1
                # Audio in step with every frame: the muxer interleaves instead of buffering, and
                # the sequence of calls (hence the bytes) does not depend on how frames are chunked.
                self._encode_audio_until(self._samples_for(self.frames_written))
        except BaseException as exc:
            self._abort(exc)
            raise

    def write_audio(self, waveform: np.ndarray) -> None:
        """Append mono float32 samples at ``sample_rate`` (the whole track or successive pieces)."""
        self._check_open()
        samples = np.asarray(waveform)
        if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.floating):
            self.abort()
            raise InvalidInputError(f"audio must be a mono float waveform [N], got {samples.dtype} {samples.shape}")
        if samples.size and not np.isfinite(samples).all():
            self.abort()
            raise InvalidInputError("audio contains NaN or infinite samples")
        self._audio_parts.append(np.clip(samples.astype(np.float32), -1.0, 1.0))
        self._audio_buffered += samples.size

    def close(self) -> Path:
        """Pad/trim audio to the video's length, flush both encoders and move the file into place."""
        if self._closed:
            return self.path
        if self.frames_written == 0:
            self.abort()
            raise InvalidInputError(f"no frames were written to {self.path}")
        try:
            target = self._samples_for(self.frames_written)
            if self._audio_buffered < target:
                self._audio_parts.append(np.zeros(target - self._audio_buffered, np.float32))
                self._audio_buffered = target
            self._encode_audio_until(target, final=True)
            self._container.mux(self._video.encode(None))
            self._container.mux(self._audio.encode(None))
            self._container.close()
        except BaseException as exc:
            self._abort(exc)
            raise
        self._closed = True
        self._stack.close()  # renames the temporary file over the destination
        return self.path

    def abort(self) -> None:
        """Stop and remove the partial file; the destination is left untouched."""
        self._abort(None)

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort(exc)

    # -- internals ---------------------------------------------------------------------------

    def _samples_for(self, frames: int) -> int:
        return frames * self.sample_rate // self.fps

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidInputError(f"{self.path} is already closed")

    def _encode_audio_until(self, limit: int, final: bool = False) -> None:
        """Encode buffered audio in whole AAC frames up to sample ``limit`` (the rest too when final)."""
        av = _import_av()
        limit = min(limit, self._audio_buffered)
        if not final:
            limit = self._audio_encoded + (limit - self._audio_encoded) // AAC_FRAME * AAC_FRAME
        if limit <= self._audio_encoded:
            return
        pending = np.concatenate(self._audio_parts) if len(self._audio_parts) > 1 else self._audio_parts[0]
        take, rest = pending[: limit - self._audio_encoded], pending[limit - self._audio_encoded :]
        self._audio_parts = [rest] if rest.size else []
        time_base = fractions.Fraction(1, self.sample_rate)
        for start in range(0, take.size, AAC_FRAME):
            piece = take[start : start + AAC_FRAME]
            frame = av.AudioFrame.from_ndarray(piece[None, :], format="fltp", layout="mono")
            frame.sample_rate = self.sample_rate
            frame.time_base = time_base
            frame.pts = self._audio_encoded + start
            self._container.mux(self._audio.encode(frame))
        self._audio_encoded = limit
        if final and self._audio_buffered > limit:  # trimmed: drop what lies past the video's end
            self._audio_parts = []

    def _abort(self, exc: BaseException | None) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._container.close()
        error = exc if exc is not None else RuntimeError("aborted")
        # Re-enter atomic_output's exit path with the failure so it removes the temporary file.
        with contextlib.suppress(BaseException):
            self._stack.__exit__(type(error), error, error.__traceback__)


@dataclass(frozen=True)
class VideoData:
    """A decoded MP4.

    frames: uint8 [T, H, W, 3] RGB; audio: float32 [N] mono at ``sample_rate`` (empty if no track);
    audio_duration / video_duration: seconds as the container states them.
    """

    frames: np.ndarray
    fps: float
    audio: np.ndarray
    sample_rate: int
    video_duration: float
    audio_duration: float

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])


def _open_input(path: str | os.PathLike[str]):
    av = _import_av()
    file = Path(path)
    if not file.is_file():
        raise InvalidInputError(f"video file not found: {file}")
    try:
        container = av.open(str(file))
    except av.error.FFmpegError as exc:
        raise InvalidInputError(f"cannot read {file} as video: {exc}") from exc
    if not container.streams.video:
        container.close()
        raise InvalidInputError(f"{file} has no video stream")
    return container


def video_info(path: str | os.PathLike[str]) -> tuple[float, int]:
    """(fps, frame count as the container states it) without decoding."""
    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        return float(stream.average_rate or stream.guessed_rate or 0), int(stream.frames or 0)
    finally:
        container.close()


def iter_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """RGB uint8 [H, W, 3] frames one at a time (constant memory for long videos)."""
    container = _open_input(path)
    try:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")
    finally:
        container.close()


def read_audio_track(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, float]:
    """The audio track as float32 mono at ``sample_rate`` and its container duration in seconds.

    Decoded samples past the stated duration (AAC tail padding) are dropped.
    """
    av = _import_av()
    container = _open_input(path)
    try:
        if not container.streams.audio:
            return np.zeros(0, np.float32), 0.0
        stream = container.streams.audio[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        parts = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            parts.append(out.to_ndarray().reshape(-1))
    finally:
        container.close()
    audio = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    if duration is None:
        duration = audio.size / sample_rate
    return audio[: int(round(duration * sample_rate))], duration


def read_video(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE) -> VideoData:
    """Decode a whole video: frames, fps and the audio resampled to mono ``sample_rate``."""
    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        video_duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    finally:
        container.close()
    if not frames:
        raise InvalidInputError(f"{path} has no decodable video frames")
    audio, audio_duration = read_audio_track(path, sample_rate)
    if not video_duration:
        video_duration = len(frames) / fps
    return VideoData(np.stack(frames), fps, audio, sample_rate, video_duration, audio_duration)
