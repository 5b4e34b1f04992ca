"""The torch warp backend gives the OpenCV path's frames within a small tolerance (CPU here, CUDA when present)."""

from __future__ import annotations

import numpy as np
import pytest

from vortex.actors.procedural import draw_portrait
from vortex.animators.warp import WarpAnimator
from vortex.motion.controls import CHANNEL_INDEX, CHANNELS, Controls

torch = pytest.importorskip("torch")
from vortex.animators.warp.torch_backend import TorchWarpAnimator  # noqa: E402


def controls(frames: int) -> Controls:
    rng = np.random.default_rng(5)
    values = np.zeros((frames, len(CHANNELS)), np.float32)
    for name, low, high in (("jaw_open", 0, 1), ("smile", -0.5, 1), ("blink_l", 0, 1), ("mouth_wide", 0, 1),
                            ("gaze_x", -1, 1), ("head_yaw", -8, 8), ("head_roll", -4, 4), ("head_dx", -0.02, 0.02)):
        values[:, CHANNEL_INDEX[name]] = rng.uniform(low, high, frames)
    return Controls(values, 24)


def compare(device: str) -> None:
    portrait = draw_portrait("an old man with a grey beard", seed=1, size=256)
    track = controls(10)
    reference = np.concatenate(list(WarpAnimator().frames(portrait, track))).astype(np.int16)
    frames = np.concatenate(list(TorchWarpAnimator(device=device).frames(portrait, track, chunk=4)))
    assert frames.dtype == np.uint8 and frames.shape == reference.shape
    diff = np.abs(frames.astype(np.int16) - reference)
    assert diff.mean() < 0.25, diff.mean()
    assert np.percentile(diff, 99.9) <= 4, np.percentile(diff, 99.9)
    assert np.abs(np.diff(reference, axis=0)).mean() > 1.0  # the frames differ from one another


def test_torch_cpu_matches_opencv_path():
    compare("cpu")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
def test_torch_cuda_matches_opencv_path():
    compare("cuda")


def test_torch_render_into_fills_the_buffer_in_place():
    portrait = draw_portrait("an old man with a grey beard", seed=1, size=128)
    track = controls(5)
    buffer = np.zeros((5, 3, 128, 128), np.float32)
    TorchWarpAnimator(device="cpu").render_into(portrait, track, buffer)
    frames = np.concatenate(list(TorchWarpAnimator(device="cpu").frames(portrait, track)))
    np.testing.assert_allclose(buffer, frames.transpose(0, 3, 1, 2) / np.float32(255), atol=1e-6)
