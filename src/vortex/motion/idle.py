"""Idle life: blinks, head sway, nods on stressed syllables and small gaze shifts.

Every function is pure: frame count, fps, per-frame expression parameter curves and a
``numpy.random.Generator`` in, float64 curves out. The planner hands each component its own
generator spawned from the seed, so the same seed always gives the same motion, and adding a
component never reshuffles the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BLINK_DURATION_S = (0.15, 0.25)
"""Whole blink, lid start to lid fully open again (measured human range ~100-400 ms)."""
BLINK_CLOSE_FRACTION = 0.3
"""Lids close fast and reopen slowly: closing takes this share of the moving time."""
BLINK_HOLD_S = 0.03
BLINK_MIN_GAP_S = 0.8
"""No two blinks start closer than this (real double blinks exist, but read as a twitch)."""
BLINK_PAUSE_PULL_S = 1.0
NOD_WIDTH_S = 0.6
NOD_MIN_GAP_S = 0.6
NOD_PEAK_AT = 0.4
"""Nod and brow pulses peak this share of their width after their onset (so they begin before it)."""
BROW_PULSE_WIDTH_S = 0.8
GAZE_SHIFT_S = 0.15


@dataclass(frozen=True)
class Blink:
    """One blink: lid starts closing at ``start`` (s), fully closed at ``apex`` (a frame time), open by ``end``."""

    start: float
    apex: float
    end: float


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def blink_curve(blinks: list[Blink], times: np.ndarray) -> np.ndarray:
    """float64 [T] lid closure 0 open .. 1 closed: fast smooth close, short hold, slower open."""
    out = np.zeros(times.size, np.float64)
    for b in blinks:
        close = _smoothstep((times - b.start) / max(b.apex - b.start, 1e-6))
        open_start = b.apex + BLINK_HOLD_S
        reopen = 1.0 - _smoothstep((times - open_start) / max(b.end - open_start, 1e-6))
        out = np.maximum(out, np.where(times <= b.apex, close, np.where(times <= open_start, 1.0, reopen)))
    return out


def plan_blinks(frames: int, fps: int, rate_per_min: np.ndarray, forbidden: np.ndarray,
                rng: np.random.Generator, pauses: list[tuple[float, float]] = ()) -> list[Blink]:
    """Blink events at the per-frame rate, never overlapping and never touching a forbidden frame.

    Intervals are gamma distributed (shape 3: more regular than Poisson, as measured blink
    intervals are) with the mean set by the rate at the current time. Each apex sits on a frame
    so the lids are fully closed on at least one frame. A blink that would overlap a forbidden
    frame (a held lip closure) is pushed later, past it. People tend to blink at pauses: a blink
    due up to ``BLINK_PAUSE_PULL_S`` before or after a pause (start, end in seconds) moves into it.
    """
    return plan_blinks_until(frames, fps, rate_per_min, forbidden, rng, pauses)[0]


def plan_blinks_until(frames: int, fps: int, rate_per_min: np.ndarray, forbidden: np.ndarray,
                      rng: np.random.Generator, pauses: list[tuple[float, float]] = (),
                      known_until: float = math.inf, forbidden_known: int | None = None) -> tuple[list[Blink], float]:
    """``plan_blinks`` on a timeline known only up to ``known_until`` seconds (pauses starting
    later, and forbidden frames from ``forbidden_known`` on, may still change).

    Returns the blinks that are final (every pause and frame they depended on is known) and the
    time before which no later blink can start, so lid rows before it are final too. With the
    whole timeline (``known_until`` infinite) that is every blink and infinity.
    """
    duration = frames / fps
    blinks: list[Blink] = []
    if frames == 0:
        return blinks, math.inf
    known_frames = frames if forbidden_known is None else forbidden_known

    def rate_at(t: float) -> float:
        return float(rate_per_min[min(max(int(t * fps), 0), frames - 1)])

    def earliest_next(t_due: float) -> float:
        """No blink decided from candidate time ``t_due`` on can start before this."""
        bound = t_due - BLINK_PAUSE_PULL_S  # a pause may pull it earlier, but never by more
        if blinks:
            bound = max(bound, blinks[-1].start + BLINK_MIN_GAP_S, blinks[-1].end + 0.05)
        return max(bound, 0.0)

    t = rng.uniform(0.2, 0.8) * 60.0 / max(rate_at(0.0), 1e-3)
    pause_starts = np.array([a for a, _ in pauses], np.float64)
    pulled = False
    t_due = t
    while t < duration:
        if not pulled:
            t_due = t
            if t + BLINK_PAUSE_PULL_S + BLINK_DURATION_S[1] + 0.1 >= known_until:
                return blinks, earliest_next(t_due)  # a pause not yet known could pull it
        length = rng.uniform(*BLINK_DURATION_S)
        earliest = blinks[-1].start + BLINK_MIN_GAP_S if blinks else 0.0
        if pause_starts.size and not pulled:
            pulled = True  # at most once per blink, so the overlap shift below cannot loop
            k = int(np.searchsorted(pause_starts, t))
            best, best_distance = t, BLINK_PAUSE_PULL_S
            for a, b in pauses[max(k - 2, 0) : k + 2]:
                lo_t, hi_t = a + 0.05, b - length - 0.05  # blink starts that fit inside the pause
                if hi_t < lo_t:
                    continue
                candidate = min(max(t, lo_t), hi_t)
                if abs(candidate - t) <= best_distance and candidate >= earliest:
                    best, best_distance = candidate, abs(candidate - t)
            t = best
        pulled = True
        moving = length - BLINK_HOLD_S
        apex_frame = int(np.ceil((t + BLINK_CLOSE_FRACTION * moving) * fps))
        while True:
            apex = apex_frame / fps
            start = apex - BLINK_CLOSE_FRACTION * moving
            end = start + length
            lo, hi = max(int(np.floor(start * fps)), 0), min(int(np.ceil(end * fps)), frames - 1)
            if end >= known_until or int(np.ceil(end * fps)) >= known_frames:
                return blinks, earliest_next(t_due)  # it reaches frames whose closures are not known yet
            if hi < lo or not forbidden[lo : hi + 1].any():
                break
            # Restart the blink on the first free frame after this run of forbidden frames.
            j = lo + int(np.argmax(forbidden[lo : hi + 1]))
            while j < frames and forbidden[j]:
                j += 1
            apex_frame = int(np.ceil(j + BLINK_CLOSE_FRACTION * moving * fps - 1e-9))
        if blinks and start < blinks[-1].end + 0.05:
            start_shift = blinks[-1].end + 0.05 - start
            t += start_shift
            continue
        if apex >= duration:
            break
        blinks.append(Blink(start, apex, end))
        pulled = False
        mean_gap = 60.0 / max(rate_at(apex), 1e-3)
        t = start + max(mean_gap * rng.gamma(3.0, 1.0 / 3.0), BLINK_MIN_GAP_S)
    if math.isinf(known_until):
        return blinks, math.inf
    return blinks, earliest_next(t_due if pulled else t)


def band_noise(times_warped: np.ndarray, rng: np.random.Generator, band_hz: tuple[float, float] = (0.04, 0.25),
               components: int = 4) -> np.ndarray:
    """Smooth, band-limited noise with unit RMS: a few sinusoids of random frequency and phase.

    ``times_warped`` is time run through the expression's speed (integral of head_speed), so a
    faster preset moves faster without any discontinuity at a crossfade.
    """
    freqs = rng.uniform(*band_hz, size=components)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=components)
    weights = rng.uniform(0.5, 1.0, size=components)
    weights = weights / np.sqrt(0.5 * np.sum(weights**2))
    waves = np.sin(2.0 * np.pi * times_warped[:, None] * freqs[None, :] + phases[None, :])
    out = np.zeros(times_warped.size, np.float64)
    for c in range(components):  # summed in a fixed order, so a row never depends on the row count
        out += waves[:, c] * weights[c]
    return out


def head_sway(times: np.ndarray, fps: int, amplitude: np.ndarray, speed: np.ndarray, speaking: np.ndarray,
              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Head yaw/pitch/roll (degrees) and dx/dy (fractions of the image) as gentle wandering.

    Sway is 40 % larger while speaking (``speaking`` is a smoothed 0..1 envelope), as
    speakers move their head with their phrases.
    """
    warped = np.cumsum(speed) / fps
    scale = amplitude * (0.7 + 0.3 * speaking)
    per_channel = {"head_yaw": 1.0, "head_pitch": 0.6, "head_roll": 0.45, "head_dx": 0.0025, "head_dy": 0.0018}
    return {name: band_noise(warped, rng) * scale * k for name, k in per_channel.items()}


def nod_onsets(phones, lead_s: float) -> list[float]:
    """Times (s) of the nods: each stressed vowel's onset (minus the lead), at most one per NOD_MIN_GAP_S."""
    onsets: list[float] = []
    for p in phones:
        if p.stressed and (not onsets or p.start - lead_s - onsets[-1] >= NOD_MIN_GAP_S):
            onsets.append(p.start - lead_s)
    return onsets


def pulse_train(onsets: list[float], times: np.ndarray, width_s: float = NOD_WIDTH_S, peak_at: float = NOD_PEAK_AT) -> np.ndarray:
    """float64 [T] of raised-cosine pulses (0..1), each peaking ``peak_at`` of its width after its onset.

    ``times`` must be evenly spaced and increasing (frame times); each pulse touches only its own frames.
    """
    out = np.zeros(times.size, np.float64)
    if times.size == 0:
        return out
    for onset in onsets:
        start = onset - peak_at * width_s
        lo, hi = np.searchsorted(times, [start, start + width_s])
        if hi <= lo:
            continue
        x = (times[lo:hi] - start) / width_s
        # Asymmetric raised cosine: quick rise to the peak, slower return.
        rise = 0.5 - 0.5 * np.cos(np.pi * np.clip(x / peak_at, 0, 1))
        fall = 0.5 + 0.5 * np.cos(np.pi * np.clip((x - peak_at) / (1 - peak_at), 0, 1))
        np.maximum(out[lo:hi], np.where(x < peak_at, rise, fall), out=out[lo:hi])
    return out


def gaze_shifts(times: np.ndarray, gaze_range: np.ndarray, speed: np.ndarray, fps: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """gaze_x, gaze_y: fixations of ~1-4 s with quick (GAZE_SHIFT_S smoothstep) shifts between them."""
    warped = np.cumsum(speed) / fps
    total = float(warped[-1]) if warped.size else 0.0
    starts, xs, ys = [0.0], [0.0], [0.0]
    while starts[-1] < total:
        starts.append(starts[-1] + rng.uniform(1.0, 4.0))
        xs.append(rng.uniform(-1.0, 1.0))
        ys.append(rng.uniform(-0.5, 0.5))
    gx = np.zeros(times.size, np.float64)
    gy = np.zeros(times.size, np.float64)
    for i in range(1, len(starts)):
        # Fixation lengths follow the expression's speed; the shift itself always takes
        # GAZE_SHIFT_S of real time, so even a manic gaze moves over several frames.
        t_shift = float(np.interp(starts[i], warped, times))
        ramp = _smoothstep((times - t_shift) / GAZE_SHIFT_S)
        gx += ramp * (xs[i] - xs[i - 1])
        gy += ramp * (ys[i] - ys[i - 1])
    return gx * gaze_range, gy * gaze_range
