"""The embedded warp animator: landmark rig -> dense basis fields -> one remap per frame."""

from vortex.animators.warp.animator import WarpAnimator, WarpRig, build_rig

__all__ = ["WarpAnimator", "WarpRig", "build_rig"]
