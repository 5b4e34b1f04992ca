"""The embedded warp animator: landmark rig -> dense basis fields -> one remap per frame.

``WarpAnimator`` is the NumPy/OpenCV path; ``vortex.animators.warp.torch_backend.TorchWarpAnimator``
runs the same warp with torch (imported only there).
"""

from vortex.animators.warp.animator import WarpAnimator, WarpRig, build_rig

__all__ = ["WarpAnimator", "WarpRig", "build_rig"]
