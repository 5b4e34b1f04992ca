"""Head pose from rendered pixels: mediapipe's landmarks + solvePnP against mediapipe's canonical face.

Independent of the warp rig: the 3D model is the canonical face model shipped with mediapipe's
sources (``data/canonical_face_468.txt``), the 2D points are what the face mesh finds in a frame.
Poses are compared as rotations relative to the unmoved portrait's, so the photo's own head pose
cancels out.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CANONICAL = np.loadtxt(Path(__file__).parent / "data" / "canonical_face_468.txt")
# Rigid points only (forehead, brows' roots, eye corners, nose, cheekbones, jaw, chin): no lids or lips.
RIGID = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 33, 133, 362, 263, 130, 359, 70, 300, 105, 334,
         107, 336, 234, 454, 93, 323, 132, 361, 58, 288, 172, 397, 136, 365, 149, 378, 148, 377, 152, 176, 400,
         50, 280, 101, 330, 36, 266, 205, 425, 123, 352, 116, 345, 143, 372, 129, 358, 98, 327)


def rotation(points: np.ndarray, size: int) -> np.ndarray:
    """3x3 rotation of the canonical face that best explains detected mesh points [478, 3] (pixels)."""
    idx = list(RIGID)
    image_pts = points[idx, :2].astype(np.float64)
    # The canonical model is y-up, z towards the camera; the camera is y-down, z forward.
    model = CANONICAL[idx] * np.array([1.0, -1.0, -1.0])
    # A long lens (focal 20x the frame): portraits are shot from afar, and mediapipe's own mesh
    # is a weak-perspective one; a short focal length reads turns as smaller than they are.
    f = 20.0 * size
    camera = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1]], np.float64)
    # Start from a frontal face at the distance its width implies: near-orthographic views have a
    # mirrored (Necker) solution, and the solver must not wander into it.
    width_px = float(np.linalg.norm(image_pts[RIGID.index(234)] - image_pts[RIGID.index(454)]))
    width_cm = float(np.linalg.norm(CANONICAL[234] - CANONICAL[454]))
    centre = image_pts.mean(axis=0) - size / 2
    depth = f * width_cm / max(width_px, 1.0)
    rvec = np.zeros((3, 1))
    tvec = np.array([[centre[0] * depth / f], [centre[1] * depth / f], [depth]])
    ok, rvec, tvec = cv2.solvePnP(model, image_pts, camera, None, rvec, tvec, useExtrinsicGuess=True,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    assert ok
    return cv2.Rodrigues(rvec)[0]


def relative_yaw_pitch(rest: np.ndarray, turned: np.ndarray, size: int) -> tuple[float, float]:
    """(yaw, pitch) in degrees of ``turned`` relative to ``rest`` (mesh points of two frames):
    yaw + = the face turns towards image right (the subject's left), pitch + = nods down."""
    r = rotation(turned, size) @ rotation(rest, size).T
    # r = Rx(pitch) @ Ry(yaw) about the camera's axes (x right, y down, z forward): Ry(+) swings
    # the nose towards image left and Rx(+) swings it down.
    yaw = np.degrees(np.arcsin(np.clip(r[0, 2], -1, 1)))
    pitch = np.degrees(np.arctan2(-r[1, 2], r[2, 2]))
    return float(-yaw), float(pitch)
