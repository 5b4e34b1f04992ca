"""Expression presets and preset sequences, resolved into smooth per-frame parameter curves.

A preset is a baseline face (smile, eye openness, brows) plus motion energy (articulation gain,
head sway amplitude and speed, nod size, gaze range) and a blink rate. A sequence splits the
slot evenly or at given start times; neighbouring presets crossfade with a smoothstep over
``CROSSFADE_S`` centred on each boundary, so every derived channel moves continuously.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Sequence, Union

import numpy as np

from vortex.errors import InvalidInputError

CROSSFADE_S = 0.8
"""Width of the smoothstep crossfade between two presets of a sequence (seconds)."""


@dataclass(frozen=True)
class Expression:
    """One preset. Baseline channels use the Controls units; the rest scale motion."""

    smile: float            # baseline smile, -1..1
    eye_wide: float         # baseline eye openness, -1 squint .. 1 wide
    brow_up: float          # baseline brows, -1..1
    articulation: float     # gain on jaw_open / mouth_wide / mouth_round movement
    head_amplitude: float   # head sway RMS scale, degrees of yaw (pitch/roll/shift follow)
    head_speed: float       # time-scale of head sway and gaze shifts (1 = neutral)
    nod_deg: float          # head_pitch pulse on stressed syllables, degrees
    brow_pulse: float       # brow_up pulse on stressed syllables
    gaze_range: float       # max gaze offset, -1..1 units
    blink_per_min: float    # mean blink rate


PRESETS: dict[str, Expression] = {
    "neutral": Expression(smile=0.1, eye_wide=0.0, brow_up=0.0, articulation=1.0, head_amplitude=1.2,
                          head_speed=1.0, nod_deg=1.5, brow_pulse=0.1, gaze_range=0.12, blink_per_min=17.0),
    "calm": Expression(smile=0.2, eye_wide=-0.15, brow_up=-0.05, articulation=0.85, head_amplitude=0.8,
                       head_speed=0.6, nod_deg=1.0, brow_pulse=0.05, gaze_range=0.08, blink_per_min=13.0),
    "excited": Expression(smile=0.55, eye_wide=0.45, brow_up=0.35, articulation=1.25, head_amplitude=2.2,
                          head_speed=1.6, nod_deg=2.2, brow_pulse=0.2, gaze_range=0.2, blink_per_min=21.0),
    "manic": Expression(smile=0.8, eye_wide=0.8, brow_up=0.6, articulation=1.45, head_amplitude=3.0,
                        head_speed=2.2, nod_deg=2.8, brow_pulse=0.25, gaze_range=0.3, blink_per_min=26.0),
}

PARAMETERS: tuple[str, ...] = tuple(f.name for f in fields(Expression))


def preset(name: str) -> Expression:
    key = name.strip().lower()
    if key not in PRESETS:
        raise InvalidInputError(f"unknown expression preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return PRESETS[key]


@dataclass(frozen=True)
class ExpressionSequence:
    """Presets with start times in seconds; ``starts`` None means split the slot evenly."""

    names: tuple[str, ...]
    starts: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not self.names:
            raise InvalidInputError("an expression sequence needs at least one preset")
        for name in self.names:
            preset(name)
        if self.starts is not None:
            if len(self.starts) != len(self.names):
                raise InvalidInputError("an expression sequence needs one start time per preset")
            if any(not np.isfinite(s) for s in self.starts):
                raise InvalidInputError("expression start times must be finite numbers")
            if abs(self.starts[0]) > 1e-9:
                raise InvalidInputError(f"the first expression must start at 0 s, got {self.starts[0]:g}")
            if any(b <= a for a, b in zip(self.starts, self.starts[1:])):
                raise InvalidInputError(f"expression start times must increase, got {list(self.starts)}")

    def boundaries(self, duration: float) -> list[float]:
        """Start times of every preset after the first, in seconds."""
        if self.starts is not None:
            return list(self.starts[1:])
        n = len(self.names)
        return [duration * i / n for i in range(1, n)]


ExpressionSpec = Union[str, Sequence[str], Sequence[tuple[str, float]], ExpressionSequence]

_ITEM = re.compile(r"^\s*([A-Za-z_]+)\s*(?:@\s*([0-9]*\.?[0-9]+)\s*s?)?\s*$")


def parse_sequence(spec: str) -> ExpressionSequence:
    """Parse ``"excited"``, ``"neutral,excited,calm"`` (even split) or ``"neutral@0,excited@10.5"``.

    Times are seconds from the slot start; either every item has one or none does.
    """
    items = [item for item in spec.split(",")]
    names, starts = [], []
    for item in items:
        match = _ITEM.match(item)
        if not match:
            raise InvalidInputError(
                f"cannot parse expression item {item.strip()!r}; use NAME or NAME@SECONDS, e.g. 'neutral@0,excited@10.5'"
            )
        names.append(match.group(1).lower())
        starts.append(None if match.group(2) is None else float(match.group(2)))
    timed = [s is not None for s in starts]
    if any(timed) and not all(timed):
        raise InvalidInputError("give a start time for every preset of the sequence or for none")
    return ExpressionSequence(tuple(names), tuple(starts) if all(timed) else None)  # type: ignore[arg-type]


def as_sequence(expression: ExpressionSpec) -> ExpressionSequence:
    """Normalize every accepted form of the ``expression`` argument."""
    if isinstance(expression, ExpressionSequence):
        return expression
    if isinstance(expression, str):
        return parse_sequence(expression)
    usage = "expression must be a preset name, a sequence string, a list of names, or a list of (name, start_seconds)"
    if not isinstance(expression, (list, tuple)):
        raise InvalidInputError(f"{usage}; got {type(expression).__name__}")
    items = list(expression)
    if not items:
        raise InvalidInputError("an expression sequence needs at least one preset")
    if all(isinstance(item, str) for item in items):
        return ExpressionSequence(tuple(items))
    if all(isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str) for item in items):
        try:
            starts = tuple(float(t) for _, t in items)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{usage}; start times must be numbers of seconds") from None
        return ExpressionSequence(tuple(n for n, _ in items), starts)
    raise InvalidInputError(usage)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def preset_weights(sequence: ExpressionSequence, times: np.ndarray, duration: float, crossfade_s: float = CROSSFADE_S) -> np.ndarray:
    """float64 [T, S]: each preset's weight at each frame time; rows sum to 1.

    The crossfade around a boundary is narrowed when a segment is shorter than it, so each
    preset still reaches full weight inside its own segment.
    """
    bounds = sequence.boundaries(duration)
    edges = [0.0, *bounds, max(duration, bounds[-1] if bounds else 0.0) + crossfade_s]
    n = len(sequence.names)
    ramps = []
    for i, b in enumerate(bounds):
        shortest = min(edges[i + 1] - edges[i], edges[i + 2] - edges[i + 1])
        width = max(min(crossfade_s, shortest), 1e-6)
        ramps.append(smoothstep((times - (b - width / 2.0)) / width))
    weights = np.empty((times.size, n), np.float64)
    for i in range(n):
        up = ramps[i - 1] if i > 0 else np.ones_like(times)
        down = ramps[i] if i < n - 1 else np.zeros_like(times)
        weights[:, i] = up - down
    return np.clip(weights, 0.0, 1.0)


def parameter_curves(sequence: ExpressionSequence, times: np.ndarray, duration: float,
                     crossfade_s: float = CROSSFADE_S) -> dict[str, np.ndarray]:
    """Every Expression parameter as a float64 [T] curve following the sequence."""
    weights = preset_weights(sequence, times, duration, crossfade_s)
    table = np.array([[getattr(preset(n), p) for p in PARAMETERS] for n in sequence.names], np.float64)
    # Preset by preset in a fixed order (not a matrix product, whose kernels may sum rows of
    # different-sized inputs differently): a row depends only on its own weights.
    blended = np.zeros((times.size, len(PARAMETERS)), np.float64)
    for i in range(len(sequence.names)):
        blended += weights[:, i, None] * table[i][None, :]
    return {p: blended[:, j] for j, p in enumerate(PARAMETERS)}
