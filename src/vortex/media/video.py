"""MP4 out and in: a streaming H.264 + AAC sink for animator frames, and a decoder for tests and evaluation.

Why streaming: a 45-second 512x512 slot is 1080 frames (850 MB as uint8); the animator hands
over chunks and the encoder consumes them, so memory stays flat. Why the audio is padded or
trimmed to exactly ``frames / fps``: players and the lip-sync evaluator read both durations from
the container, and they must agree within one frame.

AAC adds 1024 samples of encoder priming and pads its last frame to 1024 samples; the MP4 muxer
writes an edit list that hides both, so the container's audio duration equals the samples we fed.
``read_video`` honours that duration (decoders skip the priming but keep the tail padding).
The encoding itself (and the fixed order of audio and video packets) is ``vortex.media.encoder``,
shared with the HLS sink.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError, MissingResourceError
from vortex.media.atomic import atomic_output
from vortex.media.encoder import AvEncoder, EncodedSink, check_rates, import_av, size_tuple
from vortex.media.transaction import OutputTransaction


class Mp4Writer(EncodedSink):
    """Streaming MP4 sink: H.264 yuv420p (CRF, faststart) + AAC mono, written atomically.

    Use as a context manager::

        with Mp4Writer("slot.mp4", fps=24, size=512) as sink:
            sink.write_audio(first_sentence)      # float32 mono, whenever it exists
            for chunk in chunks:                  # uint8 [n, H, W, 3] RGB
                sink.write(chunk)
            sink.write_audio(rest_of_the_speech)

    The file appears at ``path`` only when the block (or ``close()``) succeeds; on any exception,
    KeyboardInterrupt included, the temporary file is removed and nothing is left behind. With a
    ``transaction``, ``close()`` only finishes the staged file and the transaction publishes it
    together with the caller's other outputs.
    Audio (float32 mono at ``sample_rate``) may be given at construction or appended with
    ``write_audio`` in pieces, before, between or after the frames; on close it is padded with
    silence or trimmed to exactly ``frames / fps``. The bytes depend only on the frames and the
    samples, never on how they were chunked or interleaved (see ``vortex.media.encoder``), and are
    identical for identical inputs (fixed encoder threads, no timestamps).
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
        transaction: OutputTransaction | None = None,
    ) -> None:
        check_rates(fps, sample_rate)
        self.path = self._target = Path(path)
        self.fps = fps
        self.width, self.height = size_tuple(size)
        self.sample_rate = int(sample_rate)
        av = import_av()
        self._stack = contextlib.ExitStack()
        if transaction is None:
            self._tmp = self._stack.enter_context(atomic_output(self.path))
        else:  # the caller's transaction publishes (or discards) the file with its other outputs
            self._tmp = transaction.stage_file(self.path)
        try:
            self._container = av.open(str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
            self._encoder = AvEncoder(self._container, fps, self.width, self.height, self.sample_rate, crf, preset)
        except av.error.FFmpegError as exc:
            self.abort()
            raise MissingResourceError(f"this PyAV build cannot encode H.264/AAC MP4 ({exc}); install the PyPI wheel of av 18") from exc
        except BaseException:
            self.abort()
            raise
        if audio is not None:
            self.write_audio(audio)

    def close(self) -> Path:
        """Pad/trim audio to the video's length, flush both encoders and move the file into place."""
        if self._closed:
            return self.path
        self._finish()
        self._closed = True
        self._stack.close()  # renames the temporary file over the destination
        return self.path

    def abort(self) -> None:
        """Stop and remove the partial file; the destination is left untouched."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._container.close()
        # Leave atomic_output's block with a failure, so it removes the temporary file.
        error = RuntimeError("aborted")
        with contextlib.suppress(BaseException):
            self._stack.__exit__(type(error), error, None)


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
    av = import_av()
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
    av = import_av()
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
