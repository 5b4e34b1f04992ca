"""Head turns in 3D, measured on rendered pixels: the pose a detector reads back, and a still background.

The pose comes from mediapipe's face mesh on each rendered frame and solvePnP against mediapipe's
canonical face (``pose.py``), relative to the unturned frame. The background is everything outside
mediapipe's selfie segmentation of the portrait (the person) grown by a quarter of the eye
distance. Neither tool knows anything of the warp rig.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from vortex.actors.face_mesh import FaceMeshDetector
from vortex.animators.warp import WarpAnimator
from vortex.motion.controls import CHANNEL_INDEX, Controls

_spec = importlib.util.spec_from_file_location("warp_pose", Path(__file__).with_name("pose.py"))
pose = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pose)
relative_yaw_pitch = pose.relative_yaw_pitch

POSES = [(0.0, 0.0), (15.0, 0.0), (-15.0, 0.0), (0.0, 10.0), (0.0, -10.0)]


@pytest.fixture(scope="module", params=["astronaut", "flux-path", "procedural"])
def turned(request, warp_portraits):
    portrait = warp_portraits[request.param]()
    controls = Controls.zeros(len(POSES), 24)
    for i, (yaw, pitch) in enumerate(POSES):
        controls.values[i, CHANNEL_INDEX["head_yaw"]] = yaw
        controls.values[i, CHANNEL_INDEX["head_pitch"]] = pitch
    frames = np.concatenate(list(WarpAnimator().frames(portrait, controls)))
    return request.param, portrait, frames


def test_commanded_yaw_and_pitch_read_back_within_3_degrees(turned):
    name, portrait, frames = turned
    with FaceMeshDetector() as detector:
        meshes = [detector.detect(f) for f in frames]
    assert all(meshes), f"{name}: the face mesh lost the turned face"
    rest = meshes[0][0].points
    for (yaw, pitch), found in zip(POSES[1:], meshes[1:]):
        got_yaw, got_pitch = relative_yaw_pitch(rest, found[0].points, portrait.size)
        assert abs(got_yaw - yaw) <= 3.0, f"{name}: yaw {yaw} read as {got_yaw:.1f}"
        assert abs(got_pitch - pitch) <= 3.0, f"{name}: pitch {pitch} read as {got_pitch:.1f}"


def test_background_outside_the_person_stays_still_while_the_head_turns(turned):
    import mediapipe as mp

    name, portrait, frames = turned
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        person = segmenter.process(portrait.image).segmentation_mask > 0.5
    iod = float(np.linalg.norm(portrait.landmarks[36:42].mean(0) - portrait.landmarks[42:48].mean(0)))
    grow = int(round(0.25 * iod))
    region = cv2.dilate(person.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)) > 0
    background = ~region
    assert background.mean() > 0.1, f"{name}: too little background to measure"
    still = portrait.image.astype(np.int16)
    for (yaw, pitch), frame in zip(POSES[1:], frames[1:]):
        change = np.abs(frame.astype(np.int16) - still)
        assert change[background].mean() <= 1.0, f"{name}: background moved by {change[background].mean():.2f} at {(yaw, pitch)}"
        assert change[region].mean() > 2.0, f"{name}: the head did not move at {(yaw, pitch)}"
