"""The same warp on torch: batched GEMMs and ``grid_sample`` (CUDA when present), for GPU slots.

Everything geometric matches ``render_frame`` step for step: the expression field and the head
map are the same matrix products on the same precomputed rig, the expression field is sampled
through the head map with ``grid_sample`` (zeros outside, like ``BORDER_CONSTANT``), the map is
upsampled with ``interpolate(bilinear, align_corners=False)`` (the pixel-centre convention of
``cv2.resize``) and the image is sampled once. The painted details (mouth interior, lids) are
the NumPy functions, run on each downloaded frame. Frames equal the OpenCV path's within a few
grey levels at sharp edges (OpenCV interpolates with 1/32-pixel fixed-point weights).

torch is imported only when this backend is built (``pip install vortex[torch]``).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from vortex.actors.portrait import Portrait
from vortex.animators.base import write_chunks_into
from vortex.animators.warp.animator import WarpRig, build_rig, frame_coefficients, paint_details
from vortex.errors import InvalidInputError, MissingResourceError
from vortex.motion.controls import Controls


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise MissingResourceError("the torch warp backend needs PyTorch: pip install 'vortex[torch]' (torch==2.13.0)") from exc
    return torch


class TorchWarpAnimator:
    """``WarpAnimator`` on torch; ``device`` defaults to CUDA when available, else CPU."""

    name = "warp-torch"

    def __init__(self, device: str | None = None, step: int = 2) -> None:
        torch = _torch()
        if step not in (1, 2, 4):
            raise InvalidInputError(f"step must be 1, 2 or 4, got {step}")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.step = step
        self._cache: tuple[Portrait, WarpRig, dict] | None = None

    def prepare(self, portrait: Portrait) -> None:
        """Build (and cache) the portrait's rig and its tensors on the device now."""
        self._prepared(portrait)

    def _prepared(self, portrait: Portrait) -> tuple[WarpRig, dict]:
        if self._cache is not None and self._cache[0] is portrait:
            return self._cache[1], self._cache[2]
        torch = _torch()
        rig = build_rig(portrait, step=self.step)
        dev = self.device
        tensors = {
            "image": torch.from_numpy(rig.image).to(dev).permute(2, 0, 1)[None].float(),
            "base": torch.from_numpy(rig.base_field).to(dev),
            "basis": torch.from_numpy(rig.basis).to(dev),
            "head": torch.from_numpy(rig.head_basis).to(dev),
            "face_offset": torch.from_numpy(rig.face_offset).to(dev),
        }
        self._cache = (portrait, rig, tensors)
        return rig, tensors

    def frames(self, portrait: Portrait, controls: Controls, chunk: int = 24) -> Iterator[np.ndarray]:
        """Yield uint8 [n, H, W, 3] chunks covering all ``controls.frames`` frames in order."""
        if chunk < 1:
            raise InvalidInputError(f"chunk must be >= 1, got {chunk}")
        if not np.all(np.isfinite(controls.values)):
            raise InvalidInputError("controls contain NaN or infinite values")
        torch = _torch()
        rig, t = self._prepared(portrait)
        for start in range(0, controls.frames, chunk):
            rows = controls.values[start : start + chunk]
            coefficients = [frame_coefficients(rig, row) for row in rows]
            weights = np.stack([c[0] for c in coefficients]).astype(np.float32)
            ks = np.stack([c[2] for c in coefficients]).astype(np.float32)
            with torch.no_grad():
                region = _warp_batch(torch, rig, t, torch.from_numpy(weights).to(self.device), torch.from_numpy(ks).to(self.device))
            out = np.repeat(rig.image[None], len(rows), axis=0)
            hg = rig.head_grid
            full_h, full_w = hg.full_shape
            out[:, hg.y0 : hg.y0 + full_h, hg.x0 : hg.x0 + full_w] = region
            for i, (w, pose, _) in enumerate(coefficients):
                paint_details(rig, out[i], w, pose)
            yield out

    def render_into(self, portrait: Portrait, controls: Controls, buffer: np.ndarray) -> None:
        """Write every frame into a caller's float32 [T, 3, H, W] buffer in [0, 1], in place."""
        size = portrait.image.shape[0]
        if buffer.ndim != 4 or buffer.shape[0] != controls.frames or buffer.shape[2:] != (size, size):
            raise InvalidInputError(f"buffer must be float32 [{controls.frames}, 3, {size}, {size}], got {buffer.dtype} {buffer.shape}")
        write_chunks_into(self.frames(portrait, controls), buffer)


def _warp_batch(torch, rig: WarpRig, t: dict, weights, ks) -> np.ndarray:
    """The moving region of a batch of frames: uint8 [B, h, w, 3] on the CPU."""
    import torch.nn.functional as F

    fg, hg = rig.face_grid, rig.head_grid
    b = weights.shape[0]
    expr = (t["base"] + weights @ t["basis"]).view(b, fg.height, fg.width, 2).permute(0, 3, 1, 2)
    at = (ks @ t["head"]).view(b, hg.height, hg.width, 2)
    low = (at - t["face_offset"]) / fg.step  # face-grid sample coordinates
    # grid_sample with align_corners=True: -1 and 1 are the centres of the first and last sample.
    scale = torch.tensor([2.0 / max(fg.width - 1, 1), 2.0 / max(fg.height - 1, 1)], device=at.device)
    sampled = F.grid_sample(expr, low * scale - 1.0, mode="bilinear", padding_mode="zeros", align_corners=True)
    at = (at + sampled.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    full_h, full_w = hg.full_shape
    if hg.step > 1:
        at = F.interpolate(at, size=(full_h, full_w), mode="bilinear", align_corners=False)
        at[:, 1, 0, :] = hg.y0
        at[:, 1, -1, :] = hg.y0 + full_h - 1
        at[:, 0, :, 0] = hg.x0
        at[:, 0, :, -1] = hg.x0 + full_w - 1
    size = rig.size
    grid = at.permute(0, 2, 3, 1) * (2.0 / (size - 1)) - 1.0
    image = t["image"].expand(b, -1, -1, -1)
    warped = F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
    return warped.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
