"""LivePortrait animator: the five official networks re-implemented as plain torch modules.

Importing this package does not import torch (the embedded path never needs it): the networks live
in the submodules, and ``LivePortraitAnimator`` / ``load_networks`` are resolved lazily on first use.
"""

from __future__ import annotations

__all__ = ["LivePortraitAnimator", "load_networks"]


def __getattr__(name: str):
    if name == "LivePortraitAnimator":
        from vortex.animators.liveportrait.animator import LivePortraitAnimator

        return LivePortraitAnimator
    if name == "load_networks":
        from vortex.animators.liveportrait.loader import load_networks

        return load_networks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
