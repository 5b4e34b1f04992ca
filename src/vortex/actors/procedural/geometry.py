"""Face layout: the curves the painter draws and the 68 iBUG landmarks, computed from the same numbers.

Everything lives on a 512x512 reference canvas (the painter scales the canvas for other sizes),
so the landmarks are exact by construction: they are points *of* the drawn curves, not a fit.
Proportions follow a real face closely enough for mediapipe's face mesh to find it (eye line at
half the head height, eye width about a fifth of the face width, mouth at a third of the way from
nose to chin), then stylised: bigger eyes, bolder outlines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vortex.actors.procedural.traits import Traits

REF = 512.0
# Where the 17 iBUG jaw points fall on the 161-point jaw curve. Not evenly spaced: this follows
# the face-mesh convention (points crowd towards the ears), measured by projecting mediapipe's
# jaw points onto drawn outlines, so our landmarks and an independent detector's agree.
JAW_MARKS = (0, 3, 9, 16, 25, 34, 43, 53, 80, 107, 117, 126, 135, 144, 151, 157, 160)
CX = 256.0
EYE_Y = 236.0


def _superellipse_arc(cx, cy, a, b, start, stop, n, power):
    """Points of |x/a|^p + |y/b|^p = 1 from angle ``start`` to ``stop`` (radians, image y down)."""
    t = np.linspace(start, stop, n)
    c, s = np.cos(t), np.sin(t)
    e = 2.0 / power
    return np.stack([cx + a * np.sign(c) * np.abs(c) ** e, cy + b * np.sign(s) * np.abs(s) ** e], axis=1)


@dataclass(frozen=True)
class FaceGeometry:
    """Curves (float arrays [n, 2]) and landmarks [68, 2] on the 512 reference canvas."""

    outline: np.ndarray  # closed head outline, clockwise from the right ear over the crown
    jaw: np.ndarray  # dense jaw curve from right ear (image left) via chin to left ear
    crown_top: float
    ear_y: float
    eyes: tuple[dict, dict]  # per eye: corners, upper/lower lid curves, iris centre, radii
    brows: tuple[np.ndarray, np.ndarray]  # centre lines, 5 points each, image-left first
    nose: dict
    mouth: dict
    landmarks: np.ndarray

    @property
    def face_box(self) -> tuple[float, float, float, float]:
        x = self.jaw[:, 0]
        return float(x.min()), float(self.crown_top), float(x.max()), float(self.jaw[:, 1].max())


def _eye(cx: float, cy: float, half_w: float, open_h: float, outer_left: bool) -> dict:
    """An almond eye: upper lid arches higher than the lower; landmarks at thirds of the width."""
    xs = np.linspace(cx - half_w, cx + half_w, 41)
    u = (xs - cx) / half_w
    # Outer corner sits slightly higher than the inner one for a friendlier look.
    tilt = (-1.0 if outer_left else 1.0) * u * 2.0
    upper = np.stack([xs, cy - open_h * 0.62 * np.clip(1 - u**2, 0, 1) ** 0.75 + tilt], axis=1)
    lower = np.stack([xs, cy + open_h * 0.38 * np.clip(1 - u**2, 0, 1) ** 0.9 + tilt], axis=1)
    thirds = [13, 27]  # indices at about 1/3 and 2/3 of the width

    # iBUG runs each eye left to right in the image along the upper lid, then back along the lower
    # lid (subject's right eye: outer corner first; left eye: inner corner first).
    marks = [upper[0], upper[thirds[0]], upper[thirds[1]], upper[-1], lower[thirds[1]], lower[thirds[0]]]
    return {
        "upper": upper, "lower": lower, "marks": np.array(marks),
        "iris": np.array([cx, cy + open_h * 0.02]), "iris_r": open_h * 0.47, "pupil_r": open_h * 0.2,
        "centre": np.array([cx, cy]), "half_w": half_w, "open_h": open_h,
    }


def _brow(cx: float, y: float, half_w: float, tilt: float, outer_left: bool) -> np.ndarray:
    xs = np.linspace(cx - half_w, cx + half_w, 5)
    u = (xs - cx) / half_w
    outer = -u if outer_left else u  # +1 at the outer end
    ys = y - 7.0 * (1 - u**2) + tilt * outer + 3.0 * outer
    return np.stack([xs, ys], axis=1)


def build_geometry(t: Traits) -> FaceGeometry:
    a = t.face_half_width
    chin_y = 386.0 + t.chin_drop
    jaw_b = chin_y - EYE_Y - 4
    jaw_top = EYE_Y + 4
    # Jaw: the lower half of a superellipse; squareness widens the jaw angle.
    jaw = _superellipse_arc(CX, jaw_top, a, jaw_b, np.pi, 0.0, 161, t.jaw_squareness)
    # Angle pi is the image-left ear (subject's right, iBUG point 0); pi/2 is the chin.
    crown_top = 98.0 + (a - 110) * 0.4 - (t.cranium - 1.0) * 90.0
    cranium = _superellipse_arc(CX, jaw_top, a * 1.02, jaw_top - crown_top, 0.0, -np.pi, 121, 2.1)
    outline = np.concatenate([jaw, cranium[1:-1]], axis=0)
    jaw_marks = jaw[list(JAW_MARKS)]

    eye_half_w = 25.0 * t.eye_scale
    eye_open = 27.0 * t.eye_scale
    eye_dx = 49.0 * t.eye_gap
    right_eye = _eye(CX - eye_dx, EYE_Y, eye_half_w, eye_open, outer_left=True)
    left_eye = _eye(CX + eye_dx, EYE_Y, eye_half_w, eye_open, outer_left=False)

    brow_y = EYE_Y - eye_open * 0.62 - 20
    # Brows reach past the outer eye corners, as real ones do (and as the face mesh expects).
    brow_r = _brow(CX - eye_dx - 9, brow_y, eye_half_w + 10, t.brow_tilt, outer_left=True)
    brow_l = _brow(CX + eye_dx + 9, brow_y, eye_half_w + 10, t.brow_tilt, outer_left=False)

    ns = t.nose_scale
    tip_y = EYE_Y + 54 * (0.9 + 0.1 * ns)
    base_y = tip_y + 8
    nose_half = 17.0 * ns
    bridge = np.stack([np.full(4, CX), np.linspace(EYE_Y - 10, tip_y, 4)], axis=1)
    nostrils = np.array([
        [CX - nose_half, base_y - 3], [CX - nose_half * 0.5, base_y + 1], [CX, base_y + 3],
        [CX + nose_half * 0.5, base_y + 1], [CX + nose_half, base_y - 3],
    ])
    nose = {"bridge": bridge, "nostrils": nostrils, "tip": np.array([CX, tip_y]), "half_w": nose_half, "base_y": base_y}

    seam_y = base_y + (chin_y - base_y) * 0.36
    mw = t.mouth_half_width
    up = 10.0 * t.lip_scale
    lo = 13.0 * t.lip_scale
    xs = np.linspace(CX - mw, CX + mw, 49)
    u = (xs - CX) / mw
    seam = np.stack([xs, seam_y + 1.5 * (1 - u**2)], axis=1)
    # Upper lip: two peaks (cupid's bow) with a dip in the middle; lower lip: one round curve.
    bow = np.clip(1 - u**2, 0, 1) ** 0.6 * (1.0 - 0.22 * np.exp(-((u / 0.16) ** 2)))
    upper = np.stack([xs, seam_y - up * bow], axis=1)
    lower = np.stack([xs, seam_y + 1.5 * (1 - u**2) + lo * np.clip(1 - u**2, 0, 1) ** 0.7], axis=1)
    idx6 = [0, 10, 17, 24, 31, 38, 48]  # corner, 0.6, ~0.3, centre, ... (image-left to image-right)
    outer_upper = upper[idx6]
    outer_lower = lower[[38, 31, 24, 17, 10]]  # 55..59 run back from the left corner
    inner_seam = seam[[2, 18, 24, 30, 46]]  # inner corners and the three closed-lip points
    mouth = {"upper": upper, "lower": lower, "seam": seam, "seam_y": seam_y, "half_w": mw}

    lm = np.zeros((68, 2), np.float64)
    lm[0:17] = jaw_marks
    lm[17:22] = brow_r
    lm[22:27] = brow_l
    lm[27:31] = bridge
    lm[31:36] = nostrils
    lm[36:42] = right_eye["marks"]
    lm[42:48] = left_eye["marks"]
    lm[48:55] = outer_upper
    lm[55:60] = outer_lower
    lm[60] = inner_seam[0]
    lm[61:64] = inner_seam[1:4]
    lm[64] = inner_seam[4]
    lm[65:68] = inner_seam[3:0:-1]  # lower inner lip runs back; closed lips: same points as 63..61
    return FaceGeometry(
        outline=outline, jaw=jaw, crown_top=crown_top, ear_y=EYE_Y + 20, eyes=(right_eye, left_eye),
        brows=(brow_r, brow_l), nose=nose, mouth=mouth, landmarks=lm,
    )
