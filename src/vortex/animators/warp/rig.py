"""The landmark rig: where each of the 68 iBUG points goes when one channel is at unit strength.

Displacements are written in the face's own frame (``u`` along the eye line towards image-right,
``v`` perpendicular towards the chin) and in units of the inter-ocular distance, so one rig fits
every face size and a slightly tilted photo. Channels that are signed (smile, eye_wide, brow_up)
use the same table with a negative weight.

Photos often show the mouth slightly open at rest (the contract wants lips closed at rest);
``closed_rest`` computes the closed-lip landmark set the rig starts from, so ``jaw_open = 0``
always means closed lips and the opening is drawn by the animator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JAW = np.arange(0, 17)
BROWS = np.arange(17, 27)
UPPER_OUTER = np.array([49, 50, 51, 52, 53])
LOWER_OUTER = np.array([55, 56, 57, 58, 59])
UPPER_INNER = np.array([61, 62, 63])
LOWER_INNER = np.array([67, 66, 65])  # paired with UPPER_INNER, same order
EYE_R_UPPER, EYE_R_LOWER = np.array([37, 38]), np.array([41, 40])
EYE_L_UPPER, EYE_L_LOWER = np.array([43, 44]), np.array([47, 46])

EXPRESSION_CHANNELS: tuple[str, ...] = (
    "jaw_open", "mouth_wide", "mouth_round", "lip_press", "smile",
    "blink_l", "blink_r", "eye_wide", "brow_up",
)
"""Channels the rig moves landmarks for (head and gaze channels are handled as dense fields)."""

MIN_LIP_GAP = 0.6
"""Pixels kept between upper and lower inner lips so the triangulation never sees duplicates."""


@dataclass(frozen=True)
class FaceFrame:
    """The face's own axes and scale, measured from the rest landmarks."""

    u: np.ndarray  # unit vector, image-right along the eye line
    v: np.ndarray  # unit vector towards the chin
    iod: float  # inter-ocular distance in pixels
    center: np.ndarray  # mean of the eye centres and the mouth centre

    def vec(self, du: float, dv: float) -> np.ndarray:
        return (du * self.u + dv * self.v) * self.iod


def face_frame(landmarks: np.ndarray) -> FaceFrame:
    right_eye = landmarks[36:42].mean(axis=0)  # image-left
    left_eye = landmarks[42:48].mean(axis=0)
    axis = left_eye - right_eye
    iod = float(np.linalg.norm(axis))
    if iod < 4:
        raise ValueError(f"eyes are {iod:.1f} px apart; the face is too small to animate")
    u = axis / iod
    v = np.array([-u[1], u[0]], np.float64)
    if v[1] < 0:
        v = -v
    mouth = landmarks[48:60].mean(axis=0)
    center = (right_eye + left_eye + mouth) / 3
    return FaceFrame(u.astype(np.float64), v, iod, center.astype(np.float64))


def closed_rest(landmarks: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Rest landmarks with the inner lips brought together (the jaw rises, the upper lip barely moves)."""
    rest = landmarks.astype(np.float64).copy()
    gaps = (rest[LOWER_INNER] - rest[UPPER_INNER]) @ frame.v  # px along the face's down axis
    gap = float(max(gaps.max(), 0.0))
    if gap <= 1.5 * MIN_LIP_GAP:
        return _separate_inner_lips(rest, frame)
    up = frame.v * gap  # the closing distance, along v
    rest[UPPER_INNER] += 0.2 * up
    rest[UPPER_OUTER] += 0.1 * up
    rest[LOWER_INNER] -= 0.8 * up
    rest[LOWER_OUTER] -= 0.75 * up
    rest[[48, 54, 60, 64]] -= 0.3 * up
    for idx, share in ((8, 0.7), (7, 0.6), (9, 0.6), (6, 0.45), (10, 0.45), (5, 0.25), (11, 0.25), (4, 0.1), (12, 0.1)):
        rest[idx] -= share * up
    return _separate_inner_lips(rest, frame)


def _separate_inner_lips(rest: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Make each lower inner-lip point sit at least MIN_LIP_GAP below its upper partner."""
    for upper, lower in zip(UPPER_INNER, LOWER_INNER):
        gap = float((rest[lower] - rest[upper]) @ frame.v)
        if gap < MIN_LIP_GAP:
            mid = (rest[upper] + rest[lower]) / 2
            rest[upper] = mid - frame.v * MIN_LIP_GAP / 2
            rest[lower] = mid + frame.v * MIN_LIP_GAP / 2
    return rest


def smile_gain(landmarks: np.ndarray, frame: FaceFrame) -> float:
    """How much of a positive ``smile`` to add: less when the portrait already smiles.

    The lift of the mouth corners above the lips' middle, in inter-ocular distances, is ~0.02
    on a neutral face and ~0.17 on the astronaut's broad smile; adding the full smile channel
    on top of a smile looks like a grin mask, so the gain falls to 0.3 at a lift of 0.15.
    """
    middle = (landmarks[51] + landmarks[57] + landmarks[62] + landmarks[66]) / 4
    lift = float(((middle - (landmarks[48] + landmarks[54]) / 2) @ frame.v) / frame.iod)
    return float(np.clip(1.0 - (lift - 0.03) / 0.12 * 0.7, 0.3, 1.0))


def _set(d: np.ndarray, frame: FaceFrame, table: dict[int, tuple[float, float]]) -> None:
    for idx, (du, dv) in table.items():
        d[idx] += frame.vec(du, dv)


def _mirror(table: dict[int, tuple[float, float]], pairs: dict[int, int]) -> dict[int, tuple[float, float]]:
    """Add the subject's-left partner of each subject's-right entry with u flipped."""
    out = dict(table)
    for right, (du, dv) in table.items():
        if right in pairs:
            out[pairs[right]] = (-du, dv)
    return out


LIP_PAIRS = {48: 54, 49: 53, 50: 52, 59: 55, 58: 56, 60: 64, 61: 63, 67: 65}
JAW_PAIRS = {i: 16 - i for i in range(8)}
FACE_PAIRS = {**LIP_PAIRS, **JAW_PAIRS, 31: 35, 40: 47, 41: 46, 37: 44, 38: 43, 17: 26, 18: 25, 19: 24, 20: 23, 21: 22}


def channel_displacements(rest: np.ndarray, frame: FaceFrame) -> dict[str, np.ndarray]:
    """Per-channel landmark displacement [68, 2] (pixels) at unit strength, from the closed rest."""
    out: dict[str, np.ndarray] = {}
    zero = lambda: np.zeros((68, 2), np.float64)  # noqa: E731

    a = 0.36  # full jaw opening: inner-lip gap of ~0.38 inter-ocular distances
    d = zero()
    _set(d, frame, _mirror({
        66: (0, a), 67: (0.0, 0.92 * a), 57: (0, 0.95 * a), 58: (0, 0.88 * a), 59: (0.0, 0.7 * a),
        48: (0.04, 0.3 * a), 60: (0.04, 0.32 * a), 61: (0, -0.02), 62: (0, -0.02), 51: (0, -0.015),
        50: (0, -0.015), 49: (0, -0.01),
        8: (0, 0.8 * a), 7: (0, 0.72 * a), 6: (0, 0.55 * a), 5: (0, 0.33 * a), 4: (0, 0.14 * a), 3: (0, 0.04 * a),
    }, FACE_PAIRS))
    out["jaw_open"] = d

    d = zero()
    _set(d, frame, _mirror({
        48: (-0.13, -0.01), 60: (-0.12, -0.01), 49: (-0.08, 0.01), 59: (-0.08, -0.01), 61: (-0.07, 0),
        67: (-0.07, 0), 50: (-0.04, 0.015), 58: (-0.04, -0.015), 51: (0, 0.015), 57: (0, -0.015),
    }, FACE_PAIRS))
    out["mouth_wide"] = d

    d = zero()
    _set(d, frame, _mirror({
        48: (0.11, 0), 60: (0.10, 0), 49: (0.06, -0.02), 59: (0.06, 0.02), 50: (0.02, -0.03),
        58: (0.02, 0.03), 51: (0, -0.03), 57: (0, 0.03), 61: (0.05, -0.01), 67: (0.05, 0.01),
        62: (0, -0.01), 66: (0, 0.01),
    }, FACE_PAIRS))
    out["mouth_round"] = d

    d = zero()
    _set(d, frame, _mirror({
        48: (0.015, 0), 60: (0.01, 0), 49: (0, 0.025), 50: (0, 0.03), 51: (0, 0.03),
        59: (0, -0.025), 58: (0, -0.03), 57: (0, -0.03),
    }, FACE_PAIRS))
    out["lip_press"] = d

    d = zero()
    _set(d, frame, _mirror({
        48: (-0.07, -0.11), 60: (-0.06, -0.09), 49: (-0.03, -0.05), 59: (-0.03, -0.05), 61: (-0.03, -0.05),
        67: (-0.03, -0.05), 50: (0, -0.02), 58: (0, -0.02), 51: (0, -0.01), 57: (0, -0.015),
        41: (0, -0.025), 40: (0, -0.02), 3: (-0.01, -0.02), 2: (-0.01, -0.015), 31: (-0.01, -0.01),
    }, FACE_PAIRS))
    out["smile"] = d

    for name, upper, lower in (("blink_l", EYE_L_UPPER, EYE_L_LOWER), ("blink_r", EYE_R_UPPER, EYE_R_LOWER)):
        d = zero()
        span = rest[lower] - rest[upper]
        d[upper] = 0.85 * span  # the upper lid does most of a blink
        d[lower] = -0.08 * span
        out[name] = d

    d = zero()
    _set(d, frame, _mirror({37: (0, -0.05), 38: (0, -0.05), 41: (0, 0.015), 40: (0, 0.015),
                            17: (0, -0.02), 18: (0, -0.02), 19: (0, -0.02), 20: (0, -0.02), 21: (0, -0.02)}, FACE_PAIRS))
    out["eye_wide"] = d

    d = zero()
    _set(d, frame, _mirror({17: (0, -0.08), 18: (0, -0.10), 19: (0, -0.11), 20: (0, -0.10), 21: (0, -0.09),
                            37: (0, -0.015), 38: (0, -0.015)}, FACE_PAIRS))
    out["brow_up"] = d
    return out


def anchor_points(rest: np.ndarray, frame: FaceFrame, size: int) -> np.ndarray:
    """Points that never move with expressions: a ring round the face, forehead, neck and the image border.

    They keep every expression field local to the face and let it fade to zero smoothly.
    """
    pts = []
    center = frame.center
    contour = np.concatenate([rest[JAW], rest[BROWS][::-1] - frame.v * 0.55 * frame.iod])
    for scale in (1.3,):
        pts.append(center + (contour - center) * scale)
    pts.append(rest[BROWS] - frame.v * 0.45 * frame.iod)  # forehead
    pts.append(rest[JAW[4:13]] + frame.v * 0.75 * frame.iod)  # neck under the chin
    pts.append(rest[[1, 2, 3, 13, 14, 15]] * 0.6 + rest[[31, 31, 48, 54, 35, 35]] * 0.4)  # cheeks
    edge = np.linspace(0, size - 1, 9)
    border = [(x, 0) for x in edge] + [(x, size - 1) for x in edge] + [(0, y) for y in edge[1:-1]] + [(size - 1, y) for y in edge[1:-1]]
    pts.append(np.array(border, np.float64))
    return np.concatenate(pts).astype(np.float64)
