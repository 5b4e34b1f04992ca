"""The mouth interior belongs to the face: lit like its skin, real-looking teeth, the lips moved not painted.

Everything is measured on rendered frames with mediapipe's face mesh (the inner-lip ring of each
frame, the face oval, eyes, brows and lips of the rest frame), not with the rig's own landmarks.
"""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from vortex.actors.face_mesh import FaceMeshDetector
from vortex.animators.warp import WarpAnimator
from vortex.motion.controls import CHANNEL_INDEX, Controls

LUMA = np.array([0.299, 0.587, 0.114])
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
EYES = ((33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
        (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249))
BROWS = ((70, 63, 105, 66, 107, 55, 65, 52, 53, 46), (300, 293, 334, 296, 336, 285, 295, 282, 283, 276))
NOSTRILS = (98, 97, 2, 326, 327, 294, 278, 344, 440, 275, 4, 45, 220, 115, 48, 64)
JAW = (0.0, 0.12, 0.6, 1.0)
MARGIN = 12.0  # WarpConfig.teeth_margin


def _mask(shape, *polygons, grow: int = 0) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    for poly in polygons:
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    if grow > 0:
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    elif grow < 0:
        mask = cv2.erode(mask, np.ones((-2 * grow + 1, -2 * grow + 1), np.uint8))
    return mask > 0


@pytest.fixture(scope="module", params=["astronaut", "flux-path", "procedural"])
def mouths(request, warp_portraits):
    portrait = warp_portraits[request.param]()
    controls = Controls.zeros(len(JAW), 24)
    controls.values[:, CHANNEL_INDEX["jaw_open"]] = JAW
    frames = np.concatenate(list(WarpAnimator().frames(portrait, controls)))
    with FaceMeshDetector() as detector:
        meshes = [detector.detect(f) for f in frames]
    assert all(meshes), f"{request.param}: the face mesh lost the face"
    return request.param, frames, [m[0].points[:, :2] for m in meshes]


def _skin(frame, points) -> np.ndarray:
    """Skin pixels of a frame: the face oval without eyes, brows, nostrils and lips."""
    grow = max(2, int(0.01 * frame.shape[0]))
    face = _mask(frame.shape, points[list(FACE_OVAL)], grow=-grow)
    parts = _mask(frame.shape, *(points[list(e)] for e in EYES), *(points[list(b)] for b in BROWS),
                  points[list(NOSTRILS)], points[list(OUTER_LIPS)], grow=3 * grow)
    return frame[face & ~parts].astype(np.float64)


def test_nothing_in_the_mouth_outshines_the_face_and_nothing_is_pure_white(mouths):
    name, frames, points = mouths
    brightest = float(np.percentile(_skin(frames[0], points[0]) @ LUMA, 99.5))
    for jaw, frame, pts in zip(JAW[1:], frames[1:], points[1:]):
        inside = frame[_mask(frame.shape, pts[list(INNER_LIPS)], grow=-1)].astype(np.float64)
        if len(inside) < 10:
            continue
        assert (inside @ LUMA).max() <= brightest + MARGIN + 3, f"{name} jaw {jaw}: {(inside @ LUMA).max():.0f} vs skin {brightest:.0f}"
        assert not np.any(np.all(inside >= 250, axis=1)), f"{name} jaw {jaw}: pure white in the mouth"


def test_the_open_mouth_has_teeth_with_separations_over_a_cavity_that_darkens_inwards(mouths):
    name, frames, points = mouths
    frame, pts = frames[-1], points[-1]
    skin_level = float(np.median(_skin(frames[0], points[0]) @ LUMA))
    inside = _mask(frame.shape, pts[list(INNER_LIPS)], grow=-1)
    lum = frame.astype(np.float64) @ LUMA
    ys, xs = np.nonzero(inside)
    # The cavity: some of the opening is deep shadow, darker than the face by far.
    assert np.percentile(lum[inside], 10) < 0.3 * skin_level, f"{name}: no dark cavity"
    # Teeth: a bright band under the upper lip whose profile across the mouth dips between teeth.
    top = {x: ys[xs == x].min() for x in np.unique(xs)}
    width = xs.max() - xs.min()
    centre = xs.min() + width // 2
    band = [x for x in range(centre - int(0.3 * width), centre + int(0.3 * width)) if x in top]
    best_dips = 0
    for depth in range(2, 9):
        profile = np.array([lum[top[x] + depth, x] for x in band])
        smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
        dips = sum(1 for i in range(2, len(smooth) - 2)
                   if smooth[i] < smooth[i - 1] and smooth[i] <= smooth[i + 1]
                   and min(smooth[max(0, i - 6):i].max(), smooth[i + 1:i + 7].max()) - smooth[i] > 6)
        if profile.mean() > 0.5 * skin_level:
            best_dips = max(best_dips, dips)
    assert best_dips >= 3, f"{name}: no teeth with separations under the upper lip ({best_dips} dips)"


def test_teeth_show_more_as_the_jaw_opens(mouths):
    name, frames, points = mouths
    skin_level = float(np.median(_skin(frames[0], points[0]) @ LUMA))
    shown = []
    for frame, pts in zip(frames[1:], points[1:]):
        inside = _mask(frame.shape, pts[list(INNER_LIPS)], grow=-1)
        shown.append(int(np.sum((frame.astype(np.float64) @ LUMA)[inside] > 0.6 * skin_level)))
    assert shown[0] < shown[-1], f"{name}: teeth pixels at jaw {JAW[1:]}: {shown}"


def test_the_lips_are_the_photos_lips_moved_not_painted(mouths):
    name, frames, points = mouths
    rest, opened = frames[0], frames[-1]
    ring = lambda f, p: _mask(f.shape, p[list(OUTER_LIPS)], grow=-1) & ~_mask(f.shape, p[list(INNER_LIPS)], grow=2)  # noqa: E731
    lips_rest = rest[ring(rest, points[0])].astype(np.float64)
    lips_open = opened[ring(opened, points[-1])].astype(np.float64)
    assert len(lips_open) > 100, f"{name}: lips vanished"
    low, high = np.percentile(lips_rest, 5, axis=0), np.percentile(lips_rest, 95, axis=0)
    median = np.median(lips_open, axis=0)
    assert np.all((median >= low) & (median <= high)), f"{name}: lips {median} vs rest {low}..{high}"
    # Texture kept: the lips' own variation survives (a painted lip would be flat).
    assert (lips_open @ LUMA).std() > 0.5 * (lips_rest @ LUMA).std(), name
