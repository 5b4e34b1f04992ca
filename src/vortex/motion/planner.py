"""Phones + expression + seed -> ``Controls``: the motion plan an animator renders.

Articulation (jaw_open, mouth_wide, mouth_round, lip_press) comes from dominance-function
coarticulation (Cohen & Massaro): every phone pulls each channel toward its viseme target with
a weight that is flat over the phone's core and decays exponentially outside it, and each frame
takes the dominance-weighted mean of all pulls. Neighbours therefore blend (the lips round
through the "t" of "too") while strong phones hold their shape.

Two hard guarantees sit on top of the blend:

* every bilabial (p, b, m) reaches full closure, ``lip_press == 1`` and ``jaw_open == 0``, on
  every frame whose (lead-shifted) time lies inside it, and on the nearest frame when the
  phone is shorter than a frame;
* the mouth leads the sound by ``lead_s`` (default ``LEAD_S`` = 20 ms, or one frame when a
  frame is shorter; never more than one frame): frame k shows the mouth shape of audio time
  ``k / fps + lead_s``. Real speakers shape the mouth slightly before the sound; one frame at
  most keeps every closure within ±1 frame of its phone (the contract allows ±2).

Silence (PAUSE, and anything before the first or after the last phone) relaxes the mouth
closed, except short joins between words (< ``JOIN_PAUSE_S``) which the mouth flows through;
frames past the end of speech keep idling (blinks, sway, gaze) with the mouth at rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence, Union

import numpy as np

from vortex.errors import InvalidInputError
from vortex.motion import idle
from vortex.motion.controls import CHANNEL_INDEX, CHANNELS, Controls
from vortex.motion.expressions import CROSSFADE_S, ExpressionSequence, ExpressionSpec, as_sequence, parameter_curves
from vortex.motion.visemes import MAX_TAU_S, SPLIT_DIPHTHONGS, is_bilabial, is_vowel, phone_tables
from vortex.speech.speech import PAUSE, Phone, Speech

LEAD_S = 0.02
"""Default time the mouth shape leads the audio (seconds); must not exceed one frame."""
STRESS_JAW_GAIN = 1.12
"""Stressed vowels open the jaw this much wider than unstressed ones."""
SPEAKING_WINDOW_S = 1.0
DOMINANCE_CUTOFF = 20.0
"""Phones farther than this many decay constants from a frame are left out of its blend (e^-20 ~ 2e-9)."""
ARTICULATION_REACH_S = DOMINANCE_CUTOFF * MAX_TAU_S
"""How far (seconds) a phone's pull reaches: the mouth of a frame depends on no phone farther away."""
JOIN_PAUSE_S = 0.12
"""Pauses shorter than this (word joins, commas read fast) barely pull the mouth closed."""
JOIN_PAUSE_DOMINANCE = 0.15

PhonesLike = Union[Sequence[Phone], Speech]


@dataclass(frozen=True)
class MotionPlan:
    """The Controls plus the events behind them (for tests, evaluation and debugging).

    closures: for each bilabial phone, (phone index, frame indices held fully closed).
    blinks: blink events in seconds. nods: nod onsets in seconds.
    """

    controls: Controls
    closures: tuple[tuple[int, tuple[int, ...]], ...]
    blinks: tuple[idle.Blink, ...]
    nods: tuple[float, ...]


def _validate(phones: PhonesLike, frames: int, fps: int, seed: int, lead_s: float | None) -> list[Phone]:
    if isinstance(fps, bool) or not isinstance(fps, (int, np.integer)) or fps <= 0:
        raise InvalidInputError(f"fps must be a positive integer, got {fps!r}")
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 0:
        raise InvalidInputError(f"frames must be a non-negative integer, got {frames!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, got {seed!r}")
    if lead_s is not None and (not isinstance(lead_s, (int, float)) or not np.isfinite(lead_s)
                               or lead_s < 0 or lead_s > 1.0 / fps + 1e-9):
        raise InvalidInputError(f"lead_s must be between 0 and one frame ({1.0 / fps:.4f} s), got {lead_s!r}")
    try:
        seq = list(phones.phones if isinstance(phones, Speech) else phones)
    except TypeError:
        raise InvalidInputError(f"phones must be a Speech or a list of Phone, got {type(phones).__name__}") from None
    previous_end = 0.0
    for i, p in enumerate(seq):
        if not isinstance(p, Phone):
            raise InvalidInputError(f"phone {i} is a {type(p).__name__}, not a vortex.speech.Phone")
        if not (np.isfinite(p.start) and np.isfinite(p.end)) or p.start < 0 or p.end < p.start:
            raise InvalidInputError(f"phone {i} ({p.symbol!r}) has invalid times {p.start!r}..{p.end!r}")
        if p.start < previous_end - 1e-6:
            raise InvalidInputError(f"phones must be in time order without overlap: phone {i} starts at {p.start:g} s before {previous_end:g} s")
        previous_end = p.end
    return seq


def _join_diphthongs(phones: list[Phone]) -> list[Phone]:
    """Each split diphthong (nucleus + offglide, back to back) as the one phone misaki writes for it.

    The joined phone has the nucleus's class and target, so the mouth holds the nucleus's shape
    through the offglide (``SPLIT_DIPHTHONGS``); every other phone passes through unchanged.
    """
    out: list[Phone] = []
    for p in phones:
        last = out[-1] if out else None
        joined = SPLIT_DIPHTHONGS.get((last.symbol, p.symbol)) if last is not None else None
        if joined is not None and abs(last.end - p.start) < 1e-9:
            out[-1] = replace(last, symbol=joined, end=p.end)
        else:
            out.append(p)
    return out


def _articulation(phones: list[Phone], t_eval: np.ndarray, dense: bool = False) -> np.ndarray:
    """float64 [T, 4] dominance-weighted blend of viseme targets at the given times.

    Each frame only sums the phones whose dominance there exceeds exp(-DOMINANCE_CUTOFF)
    (a band of neighbours found by binary search), so planning is linear in the slot length;
    ``dense=True`` sums every phone (the reference the band is tested against).
    """
    horizon = float(max(t_eval[-1], phones[-1].end if phones else 0.0)) + 1.0
    first = phones[0].start if phones else 0.0
    last = phones[-1].end if phones else 0.0
    # Silence beyond the timeline: rest phones that cover everything before and after.
    padded = [Phone(PAUSE, min(-1.0, float(t_eval[0]) - 1.0), first), *_join_diphthongs(phones), Phone(PAUSE, last, horizon)]
    symbols = [p.symbol for p in padded]
    targets, dominance, tau = phone_tables(symbols)
    for i, p in enumerate(padded):
        if p.stressed and is_vowel(p.symbol):
            targets[i, 0] = min(1.0, targets[i, 0] * STRESS_JAW_GAIN)
        elif p.symbol == PAUSE and p.end - p.start < JOIN_PAUSE_S:
            # Word joins are pauses in the timeline, but the mouth flows through them.
            dominance[i] *= JOIN_PAUSE_DOMINANCE
    starts = np.array([p.start for p in padded])
    ends = np.array([p.end for p in padded])
    # Full dominance over the phone's core; the margin is capped so long pauses take over quickly.
    margin = 0.25 * np.minimum(ends - starts, 0.16)
    core_lo, core_hi = starts + margin, ends - margin  # both non-decreasing: phones are ordered
    weighted = dominance * targets
    if dense:
        index = np.broadcast_to(np.arange(len(padded)), (t_eval.size, len(padded)))
        valid = np.ones(index.shape, bool)
    else:
        reach = DOMINANCE_CUTOFF * float(tau.max())
        lo = np.searchsorted(core_hi, t_eval - reach, side="left")
        hi = np.searchsorted(core_lo, t_eval + reach, side="right")
        width = int((hi - lo).max())
        index = lo[:, None] + np.arange(width)[None, :]
        valid = index < hi[:, None]
        index = np.minimum(index, len(padded) - 1)
    t = t_eval[:, None]
    dist = np.maximum(np.maximum(core_lo[index] - t, t - core_hi[index]), 0.0)
    ratio = dist / tau[index]
    # Exactly zero beyond the cutoff, and summed band slot by band slot in phone order: a frame's
    # value then depends only on the phones within its reach, never on how wide the band is or
    # on phones farther away, so planning a timeline piece by piece gives bit-identical rows.
    base = np.where(valid & (ratio < DOMINANCE_CUTOFF), np.exp(-np.minimum(ratio, DOMINANCE_CUTOFF)), 0.0)
    num = np.zeros((t_eval.size, 4), np.float64)
    den = np.zeros((t_eval.size, 4), np.float64)
    for j in range(index.shape[1]):
        weight = base[:, j, None]
        num += weight * weighted[index[:, j]]
        den += weight * dominance[index[:, j]]
    return num / np.maximum(den, 1e-12)


def _closure_frames(phones: list[Phone], frames: int, fps: int, lead_s: float) -> list[tuple[int, tuple[int, ...]]]:
    """Frames held fully closed for each bilabial: those whose lead-shifted time falls inside it."""
    out = []
    for i, p in enumerate(phones):
        if not is_bilabial(p.symbol):
            continue
        lo = int(np.ceil((p.start - lead_s) * fps - 1e-9))
        hi = int(np.ceil((p.end - lead_s) * fps - 1e-9))  # exclusive
        idx = [k for k in range(max(lo, 0), min(hi, frames))]
        if not idx:
            k = int(np.floor(((p.start + p.end) / 2.0 - lead_s) * fps + 0.5))
            if 0 <= k < frames:
                idx = [k]
        if idx:
            out.append((i, tuple(idx)))
    return out


def _speaking_envelope(phones: list[Phone], times: np.ndarray, fps: int) -> np.ndarray:
    """0..1: how much of the surrounding second is speech (drives livelier sway while talking)."""
    speaking = np.zeros(times.size, np.float64)
    for p in phones:
        if p.symbol != PAUSE:
            lo, hi = np.searchsorted(times, [p.start, p.end], side="left")
            speaking[lo:hi] = 1.0
    width = speaking_window(fps)
    window = np.hanning(width + 2)[1:-1]
    window /= window.sum()
    # The centred slice of a full convolution, summed tap by tap (a fixed order, so a row's value
    # does not depend on how many rows are planned): out[k] = sum_j window[j] * speaking[k + offset - j].
    offset = (width - 1) // 2
    padded = np.concatenate([np.zeros(width - 1), speaking, np.zeros(offset)])
    out = np.zeros(times.size, np.float64)
    for j in range(width):
        start = offset - j + width - 1
        out += window[j] * padded[start : start + times.size]
    return np.clip(out, 0.0, 1.0)


def speaking_window(fps: int) -> int:
    """Frames in the speaking envelope's window (``SPEAKING_WINDOW_S``); it looks ahead half of it."""
    return max(int(SPEAKING_WINDOW_S * fps), 1)


def _check_crossfade(crossfade_s) -> None:
    if not isinstance(crossfade_s, (int, float)) or not np.isfinite(crossfade_s) or crossfade_s < 0:
        raise InvalidInputError(f"crossfade_s must be a non-negative number of seconds, got {crossfade_s!r}")


def plan_motion_detailed(phones: PhonesLike, frames: int, fps: int, expression: ExpressionSpec = "neutral",
                         seed: int = 0, *, lead_s: float | None = None, crossfade_s: float = CROSSFADE_S) -> MotionPlan:
    """Like ``plan_motion`` but also returns the closures, blinks and nods it planned."""
    seq = _validate(phones, frames, fps, seed, lead_s)
    _check_crossfade(crossfade_s)
    lead = min(LEAD_S, 1.0 / fps) if lead_s is None else float(lead_s)
    plan, _ = _plan(seq, int(frames), int(fps), as_sequence(expression), int(seed), lead, crossfade_s, int(frames) / int(fps))
    return plan


def _plan(seq: list[Phone], rows: int, fps: int, sequence: ExpressionSequence, seed: int, lead_s: float,
          crossfade_s: float, duration: float | None, known_until: float = math.inf) -> tuple[MotionPlan, int]:
    """The first ``rows`` rows of the slot's plan, and how many of them are final.

    duration: the slot's length (None: not known yet, an ``auto`` slot still speaking).
    known_until: the timeline ``seq`` is final before this time (s) and may gain phones after
    it; infinite when it is the whole timeline (every row is then final). A row is final when
    nothing it depends on can still change: phones within ``ARTICULATION_REACH_S`` of its
    mouth time, the speaking envelope's half window, nods that start ahead of their stressed
    vowel, and blinks (``idle.plan_blinks_until``). Every row is computed from per-row
    arithmetic in a fixed order, so a final row is bit-identical to the whole timeline's.
    """
    final = math.isinf(known_until)
    values = np.zeros((rows, len(CHANNELS)), np.float64)
    if rows == 0:
        return MotionPlan(Controls(values.astype(np.float32), fps), (), (), ()), 0
    if duration is None and len(sequence.names) > 1 and sequence.starts is None:
        # An evenly split sequence's boundaries depend on the slot's length, not known yet.
        return MotionPlan(Controls(values.astype(np.float32), fps), (), (), ()), 0
    times = np.arange(rows, dtype=np.float64) / fps
    # Only an evenly split sequence reads the duration (timed and single presets do not).
    params = parameter_curves(sequence, times, rows / fps if duration is None else duration, crossfade_s)

    # Mouth: coarticulated visemes, scaled by the expression, then bilabial closures enforced.
    art = _articulation(seq, times + lead_s)
    art[:, :3] = np.clip(art[:, :3] * params["articulation"][:, None], 0.0, 1.0)
    art[:, 3] = np.clip(art[:, 3], 0.0, 1.0)
    closures = _closure_frames(seq, rows, fps, lead_s)
    closed = np.zeros(rows, bool)
    for _, idx in closures:
        closed[list(idx)] = True
    art[closed, 0] = 0.0
    art[closed, 3] = 1.0
    for j, name in enumerate(("jaw_open", "mouth_wide", "mouth_round", "lip_press")):
        values[:, CHANNEL_INDEX[name]] = art[:, j]

    # Idle life, each part from its own generator so they never reshuffle one another.
    blink_rng, sway_rng, gaze_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
    pauses = [(p.start, p.end) for p in seq if p.symbol == PAUSE and p.end - p.start >= JOIN_PAUSE_S]
    if final and seq and seq[-1].end < rows / fps:
        pauses.append((seq[-1].end, rows / fps))
    # Rows before this one can hold no closure of a phone not known yet.
    closures_known = rows if final else max(int(math.floor((known_until - lead_s) * fps)) - 1, 0)
    blinks, blinks_final_s = idle.plan_blinks_until(rows, fps, params["blink_per_min"], closed, blink_rng, pauses,
                                                    known_until, closures_known)
    lids = idle.blink_curve(blinks, times)
    values[:, CHANNEL_INDEX["blink_l"]] = lids
    values[:, CHANNEL_INDEX["blink_r"]] = lids

    speaking = _speaking_envelope(seq, times, fps)
    for name, curve in idle.head_sway(times, fps, params["head_amplitude"], params["head_speed"], speaking, sway_rng).items():
        values[:, CHANNEL_INDEX[name]] = curve
    nods = idle.nod_onsets(seq, lead_s)
    pulses = idle.pulse_train(nods, times)
    values[:, CHANNEL_INDEX["head_pitch"]] += pulses * params["nod_deg"]
    gx, gy = idle.gaze_shifts(times, params["gaze_range"], params["head_speed"], fps, gaze_rng)
    values[:, CHANNEL_INDEX["gaze_x"]] = gx
    values[:, CHANNEL_INDEX["gaze_y"]] = gy

    values[:, CHANNEL_INDEX["smile"]] = params["smile"]
    values[:, CHANNEL_INDEX["eye_wide"]] = params["eye_wide"]
    # Brows rise with the emphasis too, but more slowly than the head dips.
    brow_pulses = idle.pulse_train(nods, times, width_s=idle.BROW_PULSE_WIDTH_S)
    values[:, CHANNEL_INDEX["brow_up"]] = params["brow_up"] + brow_pulses * params["brow_pulse"]
    for name in ("smile", "eye_wide", "brow_up", "gaze_x", "gaze_y"):
        np.clip(values[:, CHANNEL_INDEX[name]], -1.0, 1.0, out=values[:, CHANNEL_INDEX[name]])
    plan = MotionPlan(Controls(values.astype(np.float32), fps), tuple(closures), tuple(blinks), tuple(nods))
    if final:
        return plan, rows
    # How many leading rows are final (see the docstring); 1e-6 s keeps float rounding on the safe side.
    margin = 1e-6
    limits = (
        (known_until - lead_s - ARTICULATION_REACH_S - margin) * fps,  # the mouth's reach
        (known_until - lead_s - idle.NOD_PEAK_AT * max(idle.NOD_WIDTH_S, idle.BROW_PULSE_WIDTH_S) - margin) * fps,  # nods
        blinks_final_s * fps - margin,
    )
    known_rows = int(math.ceil(known_until * fps - margin))  # rows whose time lies before known_until
    speaking_rows = known_rows - (speaking_window(fps) - 1) // 2  # the envelope looks this far ahead
    final_rows = min(rows, speaking_rows, *(int(math.ceil(limit)) for limit in limits))
    return plan, max(final_rows, 0)


class MotionStream:
    """Controls rows as soon as they are final, while the speech timeline is still growing.

    ``advance(phones, known_until)`` takes the timeline so far (final before ``known_until``
    seconds) and returns the new rows that no later phone can change; ``finish(phones, frames)``
    takes the whole timeline and the slot's frame count and returns the rest. Concatenated, the
    rows are bit-identical to ``plan_motion(phones, frames, ...)`` of the whole timeline: each
    row waits exactly for the lookahead it needs (``_plan``) and no longer.

    frames: the slot's length in frames when it is known from the start (a fixed slot), else None.
    """

    def __init__(self, fps: int, expression: ExpressionSpec = "neutral", seed: int = 0, *, frames: int | None = None,
                 lead_s: float | None = None, crossfade_s: float = CROSSFADE_S) -> None:
        _validate((), 0 if frames is None else frames, fps, seed, lead_s)
        _check_crossfade(crossfade_s)
        self.fps, self.seed, self.frames, self.crossfade_s = int(fps), int(seed), frames, crossfade_s
        self.sequence = as_sequence(expression)
        self.lead_s = min(LEAD_S, 1.0 / self.fps) if lead_s is None else float(lead_s)
        self.emitted = 0
        """Rows returned so far."""

    def advance(self, phones: PhonesLike, known_until: float) -> np.ndarray:
        """float32 [n, K]: the rows made final by a timeline known up to ``known_until`` seconds."""
        seq = [p for p in _validate(phones, 0, self.fps, self.seed, None) if p.end <= known_until]
        # A phone still growing past known_until is left out, so the known part ends where it starts.
        known_until = min(known_until, seq[-1].end if seq else 0.0)
        rows = int(math.ceil(known_until * self.fps)) + 1
        if self.frames is not None:
            rows = min(rows, self.frames)
        duration = None if self.frames is None else self.frames / self.fps
        plan, final_rows = _plan(seq, rows, self.fps, self.sequence, self.seed, self.lead_s, self.crossfade_s, duration,
                                 known_until)
        return self._take(plan.controls.values, final_rows)

    def finish(self, phones: PhonesLike, frames: int) -> np.ndarray:
        """float32 [n, K]: every row not returned yet, from the whole timeline and the slot's frames."""
        if self.frames is not None and frames != self.frames:
            raise InvalidInputError(f"the slot has {self.frames} frames, not {frames}")
        seq = _validate(phones, frames, self.fps, self.seed, None)
        plan, final_rows = _plan(seq, int(frames), self.fps, self.sequence, self.seed, self.lead_s, self.crossfade_s,
                                 int(frames) / self.fps)
        return self._take(plan.controls.values, final_rows)

    def _take(self, values: np.ndarray, final_rows: int) -> np.ndarray:
        if final_rows <= self.emitted:
            return values[:0]
        rows = values[self.emitted : final_rows]
        self.emitted = final_rows
        return rows


def plan_motion(phones: PhonesLike, frames: int, fps: int, expression: ExpressionSpec = "neutral",
                seed: int = 0, *, lead_s: float | None = None, crossfade_s: float = CROSSFADE_S) -> Controls:
    """Plan ``frames`` rows of Controls at ``fps`` for a phone timeline (or a ``Speech``).

    expression: a preset name (``neutral``, ``excited``, ``manic``, ``calm``), a sequence
    string (``"neutral,excited"`` splits the slot evenly, ``"neutral@0,excited@10.5"`` starts
    each preset at a time in seconds), a list of names, a list of (name, start) pairs, or an
    ``ExpressionSequence``. lead_s: how far the mouth leads the audio (default ``LEAD_S``,
    capped at one frame). Same inputs and seed -> identical Controls.
    """
    return plan_motion_detailed(phones, frames, fps, expression, seed, lead_s=lead_s, crossfade_s=crossfade_s).controls
