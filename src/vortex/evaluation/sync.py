"""The numbers of a lip-sync report, computed from two per-frame curves and a phone list.

Pure functions on arrays, so the measurement can be tested without decoding anything and the
expensive part (landmarks on every frame) runs once however many audio tracks are compared.

Sign convention: a positive offset means the video lags the audio (the mouth moves ``offset``
frames after the sound); negative means the video leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from vortex.evaluation.articulation import is_bilabial, is_open_vowel, speech_frames
from vortex.speech.speech import Phone

MIN_MOUTH_RANGE = 0.01
"""Aperture range (face heights) below which the mouth is judged not to move at all."""

CLOSED_LEVEL = 0.25
OPEN_LEVEL = 0.5
"""Thresholds as a fraction of the video's own closed..open aperture range (2nd..98th percentile)."""


@dataclass(frozen=True)
class LagEstimate:
    offset: float | None
    """Sub-frame lag maximizing the normalized cross-correlation; None when undefined."""
    correlation: float
    """Normalized cross-correlation at the best integer lag (-1..1)."""
    at_edge: bool
    """True when the best lag is at the end of the search range (the true offset may be larger)."""


def fill_missing(values: np.ndarray) -> np.ndarray:
    """Linearly interpolate NaNs (frames without a face) from their neighbours."""
    values = np.asarray(values, np.float64).copy()
    missing = np.isnan(values)
    if missing.all() or not missing.any():
        return values
    idx = np.arange(values.size)
    values[missing] = np.interp(idx[missing], idx[~missing], values[~missing])
    return values


def ncc_at(aperture: np.ndarray, expected: np.ndarray, lag: int) -> float:
    """Pearson correlation of aperture[i + lag] with expected[i] over their overlap."""
    n = aperture.size
    if lag >= 0:
        a, e = aperture[lag:], expected[: n - lag]
    else:
        a, e = aperture[: n + lag], expected[-lag:]
    if a.size < 3:
        return float("nan")
    a = a - a.mean()
    e = e - e.mean()
    denom = np.sqrt((a * a).sum() * (e * e).sum())
    return float((a * e).sum() / denom) if denom > 0 else float("nan")


def estimate_lag(aperture: np.ndarray, expected: np.ndarray, max_lag: int = 10) -> LagEstimate:
    """Lag in [-max_lag, max_lag] that best aligns the measured aperture with the expected curve.

    The integer peak of the normalized cross-correlation is refined by fitting a parabola through
    it and its two neighbours (standard sub-sample peak interpolation).
    """
    aperture = fill_missing(aperture)
    expected = np.asarray(expected, np.float64)
    if aperture.size != expected.size:
        raise ValueError(f"curves differ in length: {aperture.size} vs {expected.size}")
    if np.isnan(aperture).all() or np.ptp(aperture) <= 0 or np.ptp(expected) <= 0:
        return LagEstimate(None, 0.0, False)
    lags = np.arange(-max_lag, max_lag + 1)
    scores = np.array([ncc_at(aperture, expected, int(lag)) for lag in lags])
    if np.isnan(scores).all():
        return LagEstimate(None, 0.0, False)
    scores = np.nan_to_num(scores, nan=-1.0)
    best = int(np.argmax(scores))
    offset = float(lags[best])
    if 0 < best < len(lags) - 1:
        left, mid, right = scores[best - 1], scores[best], scores[best + 1]
        curvature = left - 2 * mid + right
        if curvature < 0:
            offset += float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
    return LagEstimate(offset, float(scores[best]), best in (0, len(lags) - 1))


@dataclass(frozen=True)
class Levels:
    """The video's own mouth scale: what counts as closed and as open (face heights)."""

    low: float
    high: float
    closed: float
    open: float
    static: bool
    """True when the mouth barely moves; then nothing counts as a closure or an opening."""


def mouth_levels(aperture: np.ndarray) -> Levels:
    values = np.asarray(aperture, np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return Levels(0.0, 0.0, 0.0, 0.0, True)
    low, high = float(np.percentile(values, 2)), float(np.percentile(values, 98))
    span = high - low
    return Levels(low, high, low + CLOSED_LEVEL * span, low + OPEN_LEVEL * span, span < MIN_MOUTH_RANGE)


def _window(phone: Phone, fps: float, frames: int, tolerance: int) -> slice:
    first = int(np.floor(phone.start * fps)) - tolerance
    last = int(np.ceil(phone.end * fps)) + tolerance
    return slice(max(first, 0), min(max(last, first + 1), frames))


def _reach_share(
    aperture: np.ndarray,
    targets: list[Phone],
    fps: float,
    levels: Levels,
    tolerance: int,
    reached: Callable[[np.ndarray], bool],
) -> tuple[float | None, int]:
    """Share of ``targets`` whose window (±tolerance frames, NaNs dropped) satisfies ``reached``.

    Returns (share or None when there are no targets, number of targets); a static mouth reaches nothing.
    """
    if not targets:
        return None, 0
    if levels.static:
        return 0.0, len(targets)
    hits = 0
    for phone in targets:
        window = aperture[_window(phone, fps, aperture.size, tolerance)]
        window = window[~np.isnan(window)]
        hits += bool(window.size and reached(window))
    return hits / len(targets), len(targets)


def closure_share(aperture: np.ndarray, phones: Sequence[Phone], fps: float, levels: Levels, tolerance: int = 2) -> tuple[float | None, int]:
    """Share of bilabial phones during which (±tolerance frames) the lips reach the closed level.

    Returns (share or None when there are no bilabials, number of bilabials).
    """
    targets = [p for p in phones if is_bilabial(p.symbol)]
    return _reach_share(aperture, targets, fps, levels, tolerance, lambda window: window.min() <= levels.closed)


def open_vowel_share(aperture: np.ndarray, phones: Sequence[Phone], fps: float, levels: Levels, tolerance: int = 2) -> tuple[float | None, int]:
    """Share of open vowels during which (±tolerance frames) the mouth reaches the open level."""
    targets = [p for p in phones if is_open_vowel(p.symbol)]
    return _reach_share(aperture, targets, fps, levels, tolerance, lambda window: window.max() >= levels.open)


def silence_jitter(aperture: np.ndarray, phones: Sequence[Phone], fps: float, margin: int = 3) -> tuple[float | None, int]:
    """RMS frame-to-frame aperture change (face heights) in silence, away from speech by ``margin`` frames.

    Returns (jitter or None when there is no such silence, number of frame pairs used).
    """
    speaking = speech_frames(phones, fps, aperture.size)
    if margin > 0 and speaking.any():
        kernel = np.ones(2 * margin + 1)
        speaking = np.convolve(speaking.astype(float), kernel, mode="same") > 0
    quiet = ~speaking & ~np.isnan(aperture)
    pairs = quiet[1:] & quiet[:-1]
    if not pairs.any():
        return None, 0
    diffs = np.diff(aperture)[pairs]
    return float(np.sqrt(np.mean(diffs**2))), int(pairs.sum())
