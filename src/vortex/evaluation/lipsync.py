"""Lip-sync evaluation of a finished video, from its pixels and its sound alone.

Two independent readings are compared:

* the picture: mediapipe's face mesh on every decoded frame gives the inner-lip aperture
  divided by face height (``measure_apertures``);
* the sound: pocketsphinx aligns the given transcript to the audio track (or recognizes phones
  without one), and a textbook articulation table turns the phones into the mouth opening a
  viewer expects, frame by frame (``vortex.evaluation.articulation``).

Nothing here reads the timeline, controls or settings of the code that made the video, so a
bug in the maker cannot hide itself from the measurement.

Sign convention: ``offset_frames > 0`` means the video lags the audio (the mouth moves after the
sound); ``< 0`` means the video leads.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError, MissingResourceError
from vortex.evaluation.articulation import articulation_curve, phone_class
from vortex.evaluation.sync import closure_share, estimate_lag, mouth_levels, open_vowel_share, silence_jitter
from vortex.speech.speech import Phone, Speech

logger = logging.getLogger(__name__)

MAX_LAG = 10
"""Offsets are searched over ±MAX_LAG frames."""

TARGET_OFFSET = 1.0
TARGET_CLOSURES = 0.95
TARGET_OPEN_VOWELS = 0.90
TARGET_FACE_MISSING = 0.01
"""Pass thresholds: |offset| ≤ 1 frame, ≥ 95% closures, ≥ 90% open vowels open, ≤ 1% faceless frames."""

_INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317))
"""Mediapipe inner-lip points, upper/lower, at the centre and either side of it."""


@dataclass(frozen=True)
class LipSyncReport:
    """What ``vortex eval lipsync`` prints. Apertures are in face heights (forehead to chin)."""

    video: str
    frames: int
    fps: float
    duration: float
    phone_source: str
    """"alignment" (transcript given), "recognition" (phones recognized from the audio), or
    "recognition (alignment failed)" when pocketsphinx could not align the given transcript."""
    phones: int
    """Non-pause phones found in the audio."""
    offset_frames: float | None
    """Audio-video offset, positive = video lags audio; None if the mouth or the audio is static."""
    offset_ms: float | None
    sync_correlation: float
    """Normalized cross-correlation of aperture and expected opening at the best lag (-1..1)."""
    offset_at_search_edge: bool
    bilabials: int
    closure_share: float | None
    """Share of p/b/m where the lips reach the closed level within ±2 frames."""
    open_vowels: int
    open_vowel_share: float | None
    """Share of open vowels where the mouth reaches the open level within ±2 frames."""
    silence_jitter: float | None
    """RMS frame-to-frame aperture change in silence (face heights); mouth noise while quiet."""
    silence_frames: int
    frames_without_face: int
    mouth_closed_level: float
    mouth_open_level: float
    mouth_static: bool
    """True when the aperture range is under 0.01 face heights: the mouth never moves."""
    checks: dict = field(default_factory=dict)
    """Each target's verdict: offset, closures, open_vowels, face."""

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    def to_dict(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        for key, value in data.items():
            if isinstance(value, float):
                data[key] = round(value, 4)
        return data

    def to_text(self) -> str:
        def pct(share: float | None) -> str:
            return "n/a" if share is None else f"{100 * share:.1f}%"

        def verdict(name: str) -> str:
            return "" if name not in self.checks else ("  ok" if self.checks[name] else "  FAIL")

        offset = "undefined (static mouth or audio)" if self.offset_frames is None else (
            f"{self.offset_frames:+.2f} frames ({self.offset_ms:+.0f} ms; "
            f"{'video lags audio' if self.offset_frames > 0 else 'video leads audio' if self.offset_frames < 0 else 'in sync'})"
        )
        if self.offset_at_search_edge:
            offset += f"  [at the ±{MAX_LAG}-frame search limit]"
        jitter = "n/a (no silence)" if self.silence_jitter is None else f"{self.silence_jitter:.4f} face heights over {self.silence_frames} frame pairs"
        lines = [
            f"lip sync of {self.video}: {self.frames} frames at {self.fps:g} fps ({self.duration:.2f} s)",
            f"  phones ({self.phone_source}):  {self.phones}",
            f"  offset:              {offset}{verdict('offset')}",
            f"  sync correlation:    {self.sync_correlation:.3f}",
            f"  bilabial closures:   {pct(self.closure_share)} of {self.bilabials} within ±2 frames{verdict('closures')}",
            f"  open vowels open:    {pct(self.open_vowel_share)} of {self.open_vowels}{verdict('open_vowels')}",
            f"  silence jitter:      {jitter}",
            f"  frames without face: {self.frames_without_face}{verdict('face')}",
            f"  mouth levels:        closed ≤ {self.mouth_closed_level:.4f}, open ≥ {self.mouth_open_level:.4f}"
            + ("  (mouth is static)" if self.mouth_static else ""),
            f"  result:              {'PASS' if self.passed else 'FAIL'}",
        ]
        return "\n".join(lines)


def frame_aperture(points: np.ndarray) -> float:
    """Mean inner-lip gap of three vertical pairs over forehead-to-chin height; points: [478, >=2]."""
    gaps = [np.linalg.norm(points[top, :2] - points[bottom, :2]) for top, bottom in _INNER_LIP_PAIRS]
    height = np.linalg.norm(points[10, :2] - points[152, :2])
    return float(np.mean(gaps) / max(height, 1e-6))


def measure_apertures(frames, on_frame: Callable[[], None] | None = None) -> np.ndarray:
    """Per-frame mouth aperture (face heights), NaN where no face is found: float64 [T].

    ``frames``: any iterable of RGB uint8 [H, W, 3] images, in order (decoded one at a time).
    """
    from vortex.actors.face_mesh import FaceMeshDetector

    values = []
    with FaceMeshDetector(video=True) as detector:
        for image in frames:
            faces = detector.detect(image)
            values.append(frame_aperture(faces[0].points) if faces else np.nan)
            if on_frame is not None:
                on_frame()
    return np.asarray(values, np.float64)


def phones_from_audio(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE, text: str | None = None) -> tuple[Speech, str]:
    """Phone timings measured from the sound: forced alignment with ``text``, recognition without."""
    try:
        from vortex.speech import align
    except ImportError as exc:
        raise MissingResourceError("vortex.speech.align (pocketsphinx phone alignment) is not available in this install") from exc
    if text is not None and text.strip():
        try:
            return align.align_transcript(waveform, sample_rate, text), "alignment"
        except InvalidInputError as exc:
            # pocketsphinx gives up on some fast or unusual voices even with the right words;
            # recognition still yields usable timings, and the report names the source.
            logger.warning("forced alignment failed (%s); falling back to phone recognition", exc)
            return align.recognize_phones(waveform, sample_rate), "recognition (alignment failed)"
    return align.recognize_phones(waveform, sample_rate), "recognition"


def evaluate_tracks(
    aperture: np.ndarray,
    fps: float,
    phones: Sequence[Phone],
    phone_source: str = "alignment",
    video: str = "",
) -> LipSyncReport:
    """All the report's numbers from a per-frame aperture curve and a measured phone timeline."""
    aperture = np.asarray(aperture, np.float64)
    frames = aperture.size
    if frames == 0:
        raise InvalidInputError(f"{video or 'video'} has no frames")
    expected = articulation_curve(phones, fps, frames)
    lag = estimate_lag(aperture, expected, MAX_LAG)
    levels = mouth_levels(aperture)
    if levels.static:
        lag = type(lag)(None, lag.correlation, False)
    closures, n_bilabial = closure_share(aperture, phones, fps, levels)
    opens, n_open = open_vowel_share(aperture, phones, fps, levels)
    jitter, jitter_pairs = silence_jitter(aperture, phones, fps)
    missing = int(np.isnan(aperture).sum())
    checks = {
        "offset": lag.offset is not None and abs(lag.offset) <= TARGET_OFFSET,
        "closures": closures is None or closures >= TARGET_CLOSURES,
        "open_vowels": opens is None or opens >= TARGET_OPEN_VOWELS,
        "face": missing <= TARGET_FACE_MISSING * frames,
    }
    return LipSyncReport(
        video=video,
        frames=frames,
        fps=float(fps),
        duration=frames / fps,
        phone_source=phone_source,
        phones=sum(phone_class(p.symbol) != "pause" for p in phones),
        offset_frames=lag.offset,
        offset_ms=None if lag.offset is None else 1000.0 * lag.offset / fps,
        sync_correlation=lag.correlation,
        offset_at_search_edge=lag.at_edge,
        bilabials=n_bilabial,
        closure_share=closures,
        open_vowels=n_open,
        open_vowel_share=opens,
        silence_jitter=jitter,
        silence_frames=jitter_pairs,
        frames_without_face=missing,
        mouth_closed_level=levels.closed,
        mouth_open_level=levels.open,
        mouth_static=levels.static,
        checks=checks,
    )


def evaluate_lipsync(video_path: str | os.PathLike[str], text: str | None = None, progress=None) -> LipSyncReport:
    """Decode ``video_path`` once and measure its lip sync (see the module docstring)."""
    from vortex.media.video import iter_frames, read_audio_track, video_info

    fps, frame_count = video_info(video_path)
    audio, _ = read_audio_track(video_path, SAMPLE_RATE)
    if audio.size == 0 or not np.any(np.abs(audio) > 1e-4):
        raise InvalidInputError(f"{video_path} has no audible audio track to compare the lips with")
    if progress is not None:
        with progress.task("landmarks", total=frame_count, unit="frame") as task:
            aperture = measure_apertures(iter_frames(video_path), task.advance)
        with progress.task("phones", total=1) as task:
            speech, source = phones_from_audio(audio, SAMPLE_RATE, text)
            task.advance()
    else:
        aperture = measure_apertures(iter_frames(video_path))
        speech, source = phones_from_audio(audio, SAMPLE_RATE, text)
    return evaluate_tracks(aperture, fps, speech.phones, source, str(video_path))
