"""WarpConfig: the warp rig's tuning constants in one typed place (LivePortrait ``InferenceConfig`` style).

Every number a person might tune when a face looks wrong lives here, with the reason it has the
value it has; the rig modules read them from the config they are given, so an engine can load,
validate and override them without touching the warp code. ``WarpConfig()`` is the tuned
default; ``WarpConfig(yaw_limit=20.0)`` overrides one field and validates the result.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from vortex.errors import InvalidInputError


@dataclass(frozen=True)
class WarpConfig:
    """Tuning of the embedded warp animator. Lengths are in inter-ocular distances (IOD) unless named ``_px``."""

    # --- grids ---------------------------------------------------------------------------
    step: int = 2
    """Resolution divisor of the displacement grids (fields at 1/step resolution, upsampled once)."""

    # --- head turns in 3D (turn.py) -------------------------------------------------------
    yaw_limit: float = 30.0
    """Degrees; commanded yaw beyond this is clipped (the mesh hides its far cheek past ~30)."""
    pitch_limit: float = 20.0
    """Degrees; commanded pitch beyond this is clipped."""
    yaw_samples: tuple[float, ...] = (10.0, 20.0, 30.0)
    """Positive yaw angles (deg) whose exact piecewise-affine fields are precomputed (mirrored to
    negative angles); a frame blends the two that bracket its yaw. 10 deg apart keeps the blend
    within about half a pixel of the exact warp at 512 px (the sine is nearly linear there)."""
    pitch_samples: tuple[float, ...] = (7.0, 14.0, 20.0)
    """Positive pitch angles (deg) precomputed likewise."""
    pivot_depth: float = 0.9
    """Depth of the head's turning axes behind the eye line: about the ears' depth (the canonical
    face puts them 0.96 IOD behind the eyes; the atlas joint sits a little in front of them)."""
    depth_gain: float = 1.35
    """Multiplier on a face mesh's depth (about the eye line) when turning. Mediapipe's z is flatter
    than a head: its own mesh, turned 15 deg with its own z, reads as 13.8 deg against the
    canonical face, and rendered pixels lose a little more (edges and shading stay frontal)."""
    canonical_depth_gain: float = 1.2
    """The same for the canonical face's depths on a drawn actor's 68 landmarks (metric, so less)."""
    pitch_gain: float = 1.0
    """Geometric pitch per commanded degree on a face mesh's own depth (already scaled by
    ``depth_gain``). It was 1.2, set on the astronaut and drawn faces: on Grace Hopper, measured
    afterwards, that read -10 as -13.7 deg (the detector read the full nod on her, short on
    the faces it was set on). At 1.0: astronaut +8.4 / -8.3, Grace Hopper +11.2 / -9.9 (mediapipe + solvePnP)."""
    canonical_pitch_gain: float = 1.2
    """The same for a drawn actor on the canonical face's depths: its 68 outline points carry no
    shading, and a nod changes the face's outline less than a turn, so it needs the extra share
    (at 1.0 the procedural portrait reads +7.3 / -6.6)."""
    pitch_axis_drop: float = 0.3
    """Height of the pitch axis below the eye line (with ``pivot_depth`` behind it)."""
    skull_scale: float = 1.35
    """The hair/skull ring: the face oval scaled about its centre, moving with the head."""
    still_scale: float = 1.6
    """The ring (face oval scaled) from which the background stays still; between it and the
    skull ring the background absorbs the head's motion."""
    neck_rows: tuple[tuple[float, float], ...] = ((0.45, 0.55), (0.95, 0.2))
    """(distance below the jaw, share of the head's rotation it follows): the neck twists less
    than the head; the shoulders (below the last row) stay still."""
    shoulder_drop: float = 1.55
    """Distance below the jaw line of the still shoulder row."""

    # --- lids (eyes.py) ----------------------------------------------------------------------
    lid_close: float = 0.94
    """Share of the eye opening the upper lid travels at blink = 1 (the lower lid rises to meet it)."""
    lower_lid_rise: float = 0.05
    """Share of the opening the lower lid rises at blink = 1 (with ``lid_close``, a few percent
    short of meeting: the lash line hides the rest, and the mesh keeps distinct points)."""
    crease_follow: float = 0.9
    """Share of the upper lid's travel the lid crease follows: the skin between lashes and crease
    slides down with the lid (so the lash line stays thin), the skin above stretches."""
    fold_follow: float = 0.4
    """Share of the upper lid's travel the ring above the crease follows; the brow stays."""

    # --- mouth interior (mouth.py) ---------------------------------------------------------
    teeth_margin: float = 12.0
    """Grey levels teeth may exceed the brightest sampled skin by (never pure white: <= 250)."""
    teeth_count: int = 8
    """Upper front teeth drawn between the mouth corners (the corners hide the back ones)."""
    interior_blur: float = 0.012
    """Feather (IOD) of the interior's edges under the lips: anti-aliased, never a hard cut."""

    def __post_init__(self) -> None:
        if self.step not in (1, 2, 4):
            raise InvalidInputError(f"WarpConfig.step must be 1, 2 or 4, got {self.step}")
        for name in ("yaw_samples", "pitch_samples"):
            samples = getattr(self, name)
            if not samples or any(b <= a for a, b in zip(samples, samples[1:])) or samples[0] <= 0:
                raise InvalidInputError(f"WarpConfig.{name} must be increasing positive angles, got {samples}")
        if not 0 < self.yaw_limit <= self.yaw_samples[-1] or not 0 < self.pitch_limit <= self.pitch_samples[-1]:
            raise InvalidInputError("WarpConfig yaw_limit/pitch_limit must be positive and covered by the samples")
        if not 1.0 < self.skull_scale < self.still_scale:
            raise InvalidInputError("WarpConfig needs 1 < skull_scale < still_scale")
        for name in ("lid_close", "lower_lid_rise", "crease_follow", "fold_follow"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInputError(f"WarpConfig.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.lid_close + self.lower_lid_rise > 1.0 + 1e-9:
            raise InvalidInputError("WarpConfig lid_close + lower_lid_rise must not exceed 1 (the lids would cross)")
        if not 0 <= self.teeth_margin <= 40 or self.teeth_count < 2:
            raise InvalidInputError("WarpConfig teeth_margin must be 0..40 and teeth_count >= 2")

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}
