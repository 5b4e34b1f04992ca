"""Blinks close the photo's own lids: the detector sees the eyes shut, and the closed eye is lid skin.

Measured with mediapipe's face mesh on the rendered frames (independent of the rig): the eye
aperture at the middle frame of a blink, and the colours inside the open eye's outline at that
frame against the colours of the same portrait's upper-lid skin (between lid margin and brow).
"""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from vortex.actors.face_mesh import FaceMeshDetector
from vortex.animators.warp import WarpAnimator
from vortex.motion.controls import CHANNEL_INDEX, Controls

CURVE = [0.0, 0.0, 0.35, 0.75, 1.0, 0.75, 0.35, 0.0, 0.0]  # a blink; frame 4 is its middle
MIDDLE = 4
# Mediapipe rings: the eye outline (upper margin, then lower back) and the brow's lower edge.
EYES = (
    {"ring": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
     "upper": (33, 246, 161, 160, 159, 158, 157, 173, 133), "brow": (46, 53, 52, 65, 55)},
    {"ring": (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
     "upper": (263, 466, 388, 387, 386, 385, 384, 398, 362), "brow": (276, 283, 282, 295, 285)},
)


@pytest.fixture(scope="module", params=["astronaut", "flux-path", "procedural"])
def blink(request, warp_portraits):
    portrait = warp_portraits[request.param]()
    controls = Controls.zeros(len(CURVE), 24)
    for name in ("blink_l", "blink_r"):
        controls.values[:, CHANNEL_INDEX[name]] = CURVE
    frames = np.concatenate(list(WarpAnimator().frames(portrait, controls)))
    with FaceMeshDetector() as detector:
        meshes = [detector.detect(f) for f in frames]
    assert all(meshes), f"{request.param}: the face mesh lost the face during the blink"
    return request.param, frames, [m[0] for m in meshes]


def test_eyes_close_to_a_fifth_of_open_at_the_middle_of_a_blink(blink):
    name, _, meshes = blink
    open_ = np.mean([meshes[i].eye_aperture for i in (0, 1, 7, 8)])
    middle = meshes[MIDDLE].eye_aperture
    assert middle <= 0.2 * open_, f"{name}: eye aperture {middle:.4f} at mid-blink vs {open_:.4f} open"
    assert meshes[8].eye_aperture > 0.8 * meshes[0].eye_aperture, f"{name}: the eyes did not reopen"


def _polygon(shape, points) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask > 0


def test_the_closed_eye_has_the_colours_of_the_photos_own_lid_skin(blink):
    name, frames, meshes = blink
    rest, closed = frames[0], frames[MIDDLE]
    points = meshes[0].points[:, :2]
    for eye in EYES:
        lid = _polygon(rest.shape, np.concatenate([points[list(eye["upper"])], points[list(eye["brow"])][::-1]]))
        lid &= ~_polygon(rest.shape, points[list(eye["ring"])])
        skin = rest[lid].astype(np.float64)
        assert len(skin) > 50, f"{name}: lid region too small"
        low, high = np.percentile(skin, 2, axis=0), np.percentile(skin, 98, axis=0)
        inside = closed[_polygon(rest.shape, points[list(eye["ring"])])].astype(np.float64)
        median = np.median(inside, axis=0)
        assert np.all((median >= low - 4) & (median <= high + 4)), f"{name}: closed eye median {median} vs lid skin {low}..{high}"
        share = np.mean(np.all((inside >= low - 4) & (inside <= high + 4), axis=1))
        assert share >= 0.7, f"{name}: only {share:.0%} of the closed eye is lid-skin coloured"
