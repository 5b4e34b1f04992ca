"""H.264 + AAC encoding into an open PyAV container, with audio and video in one fixed order.

Shared by the MP4 writer and the HLS sink. Frames and audio arrive incrementally and in any
interleaving (speech usually runs ahead of the frames, but need not), while the muxed bytes must
not depend on that timing. So the packets are muxed in one canonical order: frame ``i``'s video
packets, then every whole AAC frame of audio up to frame ``i + 1``'s end. When the audio for a
frame has not arrived yet, that frame's (small, compressed) video packets wait in a queue until
it does, or until ``finish`` says the audio is complete. The order is exactly the one a writer
that had the whole waveform up front produces.

AAC adds 1024 samples of encoder priming and pads its last frame to 1024 samples. The MP4 muxer
writes an edit list that hides both; MPEG-TS (HLS) has none, so there the first (priming) audio
frame is stamped 1024 samples before the first video frame and real audio starts with it.
"""

from __future__ import annotations

import collections
import fractions

import cv2
import numpy as np

from vortex.errors import InvalidInputError, MissingResourceError
from vortex.media.sink import SinkContext, frame_batch, mono_samples

AAC_FRAME = 1024
"""Samples per AAC frame: the unit in which audio is handed to the encoder."""

X264_THREADS = 2
"""Fixed encoder thread count: x264's output depends on it, so fixing it makes bytes reproducible."""


def import_av():
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a core dependency
        raise MissingResourceError("PyAV is required for video: pip install 'av>=18,<19'") from exc
    return av


def size_tuple(size: int | tuple[int, int]) -> tuple[int, int]:
    """``size`` as (width, height); an int means a square frame."""
    width, height = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise InvalidInputError(f"video size must be positive and even for yuv420p, got {width}x{height}")
    return width, height


def check_rates(fps: int, sample_rate: int) -> None:
    if not isinstance(fps, int) or not 1 <= fps <= 120:
        raise InvalidInputError(f"fps must be an integer in 1..120, got {fps!r}")
    if not 8000 <= int(sample_rate) <= 96000:
        raise InvalidInputError(f"sample_rate must be in 8000..96000 Hz, got {sample_rate}")


class AvEncoder:
    """Adds an H.264 yuv420p stream and an AAC mono stream to ``container`` and feeds them.

    ``keyframe_interval`` fixes the GOP (every that many frames an IDR frame, no scene-cut
    keyframes), as segmenting needs; ``None`` leaves x264's defaults (as the MP4 has always had).
    """

    def __init__(self, container, fps: int, width: int, height: int, sample_rate: int, crf: int, preset: str,
                 keyframe_interval: int | None = None) -> None:
        av = import_av()
        self.fps, self.width, self.height, self.sample_rate = fps, width, height, int(sample_rate)
        self._container = container
        options = {"crf": str(crf), "preset": preset}
        if keyframe_interval is not None:
            options["x264-params"] = f"keyint={keyframe_interval}:min-keyint={keyframe_interval}:scenecut=0"
        self._video = container.add_stream("libx264", rate=fps, options=options)
        self._video.width, self._video.height = width, height
        self._video.pix_fmt = "yuv420p"
        self._video.codec_context.thread_count = X264_THREADS
        self._audio = container.add_stream("aac", rate=self.sample_rate)
        self._audio.layout = "mono"
        self._time_base = fractions.Fraction(1, self.sample_rate)
        self._new_video_frame = av.VideoFrame.from_ndarray
        self._new_audio_frame = av.AudioFrame.from_ndarray
        self.frames_written = 0
        self._audio_parts: collections.deque[np.ndarray] = collections.deque()
        self._audio_buffered = 0
        self._audio_encoded = 0
        self._waiting: collections.deque[tuple[int, list]] = collections.deque()
        """(frame count after this frame, its video packets) for frames whose audio has not arrived."""

    def write_frames(self, frames: np.ndarray) -> None:
        """Encode uint8 RGB [n, H, W, 3] frames (already checked)."""
        for image in frames:
            self.write_video_frame(self.video_frame(image))

    def video_frame(self, image: np.ndarray):
        """One uint8 RGB [H, W, 3] frame as the yuv420p ``av.VideoFrame`` the encoder takes.

        RGB -> YUV 4:2:0 (BT.601 limited range, as swscale would) with OpenCV: the swscale
        conversion PyAV runs for an rgb24 frame gave different bytes on about one run in four
        (one in thirty when called explicitly), breaking reproducibility. Encoders of the same
        size can share the result (``write_to_sinks``): x264 copies the picture in.
        """
        return self._new_video_frame(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), format="yuv420p")

    def write_video_frame(self, frame) -> None:
        """Encode one frame made by ``video_frame`` (this encoder's or another's of the same size)."""
        frame.pts = self.frames_written
        packets = self._video.encode(frame)
        self.frames_written += 1
        if not self._waiting and self._audio_ready(self.frames_written):
            self._emit(self.frames_written, packets)
        else:
            self._waiting.append((self.frames_written, packets))

    def write_audio(self, samples: np.ndarray) -> None:
        """Append float32 mono samples (already checked) and release the frames they complete."""
        if samples.size:
            self._audio_parts.append(samples)
            self._audio_buffered += samples.size
        while self._waiting and self._audio_ready(self._waiting[0][0]):
            self._emit(*self._waiting.popleft())

    def finish(self) -> None:
        """The audio is complete: release waiting frames, pad or trim the audio to exactly the
        video's length, and flush both encoders."""
        while self._waiting:
            self._emit(*self._waiting.popleft())
        target = self._samples_for(self.frames_written)
        if self._audio_buffered < target:
            self._audio_parts.append(np.zeros(target - self._audio_buffered, np.float32))
            self._audio_buffered = target
        self._encode_audio_until(target, final=True)
        self._container.mux(self._video.encode(None))
        self._container.mux(self._audio.encode(None))

    # -- internals ---------------------------------------------------------------------------

    def _samples_for(self, frames: int) -> int:
        return frames * self.sample_rate // self.fps

    def _whole_aac_target(self, frames: int) -> int:
        """The sample up to which audio is encoded once ``frames`` frames exist (whole AAC frames)."""
        limit = self._samples_for(frames)
        return self._audio_encoded + max(0, limit - self._audio_encoded) // AAC_FRAME * AAC_FRAME

    def _audio_ready(self, frames: int) -> bool:
        return self._audio_buffered >= self._whole_aac_target(frames)

    def _emit(self, frames: int, packets: list) -> None:
        """Frame ``frames - 1``'s packets, then the audio up to its end: the canonical order."""
        self._container.mux(packets)
        self._encode_audio_until(self._samples_for(frames))

    def _take(self, count: int) -> np.ndarray:
        """The next ``count`` buffered samples, removed from the buffer."""
        pieces, needed = [], count
        while needed:
            part = self._audio_parts[0]
            if part.size <= needed:
                pieces.append(self._audio_parts.popleft())
                needed -= part.size
            else:
                pieces.append(part[:needed])
                self._audio_parts[0] = part[needed:]
                needed = 0
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def _encode_audio_until(self, limit: int, final: bool = False) -> None:
        """Encode buffered audio in whole AAC frames up to sample ``limit`` (the rest too when final)."""
        limit = min(limit, self._audio_buffered)
        if not final:
            limit = self._audio_encoded + (limit - self._audio_encoded) // AAC_FRAME * AAC_FRAME
        if limit <= self._audio_encoded:
            return
        take = self._take(limit - self._audio_encoded)
        for start in range(0, take.size, AAC_FRAME):
            frame = self._new_audio_frame(take[None, start : start + AAC_FRAME], format="fltp", layout="mono")
            frame.sample_rate = self.sample_rate
            frame.time_base = self._time_base
            frame.pts = self._audio_encoded + start
            self._container.mux(self._audio.encode(frame))
        self._audio_encoded = limit
        if final:  # trimmed: drop what lies past the video's end
            self._audio_parts.clear()
            self._audio_buffered = limit


class EncodedSink(SinkContext):
    """What the encoding sinks (MP4, HLS) share: checked input into an ``AvEncoder`` and, on any
    failure, ``abort()``. Subclasses set ``_encoder``, ``_container``, ``width``/``height`` and
    ``_target`` (named in messages), and implement ``close`` (``_finish`` then publish) and ``abort``."""

    _encoder: AvEncoder
    _closed = False

    @property
    def frames_written(self) -> int:
        return self._encoder.frames_written

    def write(self, chunk: np.ndarray) -> None:
        """Encode RGB frames: uint8 [n, H, W, 3] (or one [H, W, 3] frame)."""
        self._check_open()
        try:
            self._encoder.write_frames(frame_batch(chunk, self.height, self.width))
        except BaseException:
            self.abort()
            raise

    def write_video_frames(self, frames: list) -> None:
        """Encode frames already converted by an encoder of this size (``write_to_sinks``)."""
        self._check_open()
        try:
            for frame in frames:
                self._encoder.write_video_frame(frame)
        except BaseException:
            self.abort()
            raise

    def write_audio(self, waveform: np.ndarray) -> None:
        """Append mono float32 samples at ``sample_rate`` (the whole track or successive pieces)."""
        self._check_open()
        try:
            self._encoder.write_audio(mono_samples(waveform))
        except BaseException:
            self.abort()
            raise

    def close(self) -> object:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Pad/trim the audio to the video's length, flush both encoders and close the container."""
        if self.frames_written == 0:
            self.abort()
            raise InvalidInputError(f"no frames were written to {self._target}")
        try:
            self._encoder.finish()
            self._container.close()
        except BaseException:
            self.abort()
            raise

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidInputError(f"{self._target} is already closed")


def write_to_sinks(sinks: list, chunk: np.ndarray) -> None:
    """``sink.write(chunk)`` for every sink, converting each frame to YUV once for all the
    encoding sinks (an MP4 and an HLS folder of one slot): the same bytes as writing to each
    alone, one colour conversion and frame copy fewer per frame and extra encoder."""
    encoded = [sink for sink in sinks if isinstance(sink, EncodedSink)]
    if len(encoded) < 2 or any((s.width, s.height) != (encoded[0].width, encoded[0].height) for s in encoded):
        for sink in sinks:
            sink.write(chunk)
        return
    first = encoded[0]
    first._check_open()
    try:
        frames = [first._encoder.video_frame(image) for image in frame_batch(chunk, first.height, first.width)]
    except BaseException:  # as a failed ``write`` does: the encoding sinks remove their files
        for sink in encoded:
            sink.abort()
        raise
    for sink in sinks:
        if isinstance(sink, EncodedSink):
            sink.write_video_frames(frames)
        else:
            sink.write(chunk)
