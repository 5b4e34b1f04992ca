"""Portraits the warp's photo-realism tests measure on (turns, lids, mouth)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from vortex.actors.procedural import draw_portrait

HOPPER = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "grace_hopper.jpg"
"""Grace Hopper (US Navy photo, public domain), shipped in matplotlib's sample data."""


def _astronaut():
    data = pytest.importorskip("skimage.data")
    from vortex.actors.photo import photo_actor

    return photo_actor(data.astronaut())


def _flux_path():
    """A portrait as the Flux actor hands it over: its post-processing (``portrait_from_image``)
    on a real photo the rig was not tuned on (the tiny random Flux pipeline draws noise, no face)."""
    from vortex.actors.flux import portrait_from_image

    rgb = cv2.cvtColor(cv2.imread(str(HOPPER)), cv2.COLOR_BGR2RGB)
    return portrait_from_image(rgb, 512, {"seed": 0, "prompt": "grace hopper"})


@pytest.fixture(scope="session")
def warp_portraits():
    """Name -> factory: the astronaut photo, a procedural portrait, and a Flux-path portrait."""
    return {
        "astronaut": _astronaut,
        "procedural": lambda: draw_portrait("a friendly woman with red hair", seed=3),
        "flux-path": _flux_path,
    }
