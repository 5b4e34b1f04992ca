"""W: dense motion estimation from implicit keypoints, and the warping network built on it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vortex.animators.liveportrait.blocks import DownBlock3d, SameBlock2d, UpBlock3d
from vortex.animators.liveportrait.config import DenseMotionConfig, WarpingConfig


def coordinate_grid(d: int, h: int, w: int, ref: torch.Tensor) -> torch.Tensor:
    """d x h x w x 3 grid of (x, y, z) in [-1, 1] at align_corners=True positions (linspace per axis).

    The official model samples with align_corners=False nevertheless; that mismatch is part of it.
    """
    def axis(n: int) -> torch.Tensor:
        return 2 * (torch.arange(n, dtype=ref.dtype, device=ref.device) / (n - 1)) - 1

    z, y, x = torch.meshgrid(axis(d), axis(h), axis(w), indexing="ij")
    return torch.stack([x, y, z], dim=-1)


def keypoint_gaussians(kp: torch.Tensor, grid: torch.Tensor, variance: float = 0.01) -> torch.Tensor:
    """kp B x K x 3, grid d x h x w x 3 -> B x K x d x h x w heatmaps exp(-0.5 |grid - kp|^2 / variance)."""
    diff = grid[None, None] - kp[:, :, None, None, None, :]
    return torch.exp(-0.5 * (diff**2).sum(-1) / variance)


def sample_volume(volume: torch.Tensor, grids: torch.Tensor) -> torch.Tensor:
    """Trilinear ``grid_sample`` (zero padding, align_corners=False) of N grids N x d x h x w x 3.

    ``volume`` is N x C x D x H x W, one per grid, or 1 x C x D x H x W shared by all of them:
    then the grids are stacked along depth and sampled in one call, so the shared volume (the
    source portrait's features, the same for every frame) is never copied N times. Every output
    voxel is the same interpolation either way. Returns N x C x d x h x w (a view when shared).
    """
    n, d, h, w, _ = grids.shape
    if volume.shape[0] == n:
        return F.grid_sample(volume, grids, mode="bilinear", padding_mode="zeros", align_corners=False)
    if volume.shape[0] != 1:
        raise ValueError(f"volume batch must be 1 or {n}, got {volume.shape[0]}")
    c = volume.shape[1]
    stacked = F.grid_sample(volume, grids.reshape(1, n * d, h, w, 3), mode="bilinear", padding_mode="zeros", align_corners=False)
    return stacked.view(c, n, d, h, w).transpose(0, 1)


class Hourglass(nn.Module):
    """3-D U-Net: 5 down blocks, 5 up blocks with skip concatenation, then conv-BN-ReLU."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.down_blocks = nn.ModuleList(
            [
                DownBlock3d(
                    in_features if i == 0 else min(max_features, block_expansion * 2**i),
                    min(max_features, block_expansion * 2 ** (i + 1)),
                )
                for i in range(num_blocks)
            ]
        )
        self.decoder = nn.Module()
        ups = []
        for i in reversed(range(num_blocks)):
            in_filters = (1 if i == num_blocks - 1 else 2) * min(max_features, block_expansion * 2 ** (i + 1))
            ups.append(UpBlock3d(in_filters, min(max_features, block_expansion * 2**i)))
        self.decoder.up_blocks = nn.ModuleList(ups)
        self.out_filters = block_expansion + in_features
        self.decoder.conv = nn.Conv3d(self.out_filters, self.out_filters, kernel_size=3, padding=1)
        self.decoder.norm = nn.BatchNorm3d(self.out_filters, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        for block in self.encoder.down_blocks:
            skips.append(block(skips[-1]))
        out = skips.pop()
        for block in self.decoder.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return F.relu(self.decoder.norm(self.decoder.conv(out)))


class DenseMotionNetwork(nn.Module):
    """Predicts the deformation grid (B x d x h x w x 3) and the occlusion map (B x 1 x h x w)."""

    def __init__(self, num_kp: int, feature_channel: int, cfg: DenseMotionConfig, estimate_occlusion_map: bool = True):
        super().__init__()
        self.num_kp = num_kp
        self.hourglass = Hourglass(
            cfg.block_expansion, (num_kp + 1) * (cfg.compress + 1), cfg.num_blocks, cfg.max_features
        )
        self.mask = nn.Conv3d(self.hourglass.out_filters, num_kp + 1, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(feature_channel, cfg.compress, kernel_size=1)
        self.norm = nn.BatchNorm3d(cfg.compress, affine=True)
        self.occlusion = (
            nn.Conv2d(self.hourglass.out_filters * cfg.reshape_depth, 1, kernel_size=7, padding=3)
            if estimate_occlusion_map
            else None
        )

    def forward(self, feature: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor) -> dict[str, torch.Tensor]:
        """``feature`` is B x C x d x h x w, or 1 x C x d x h x w shared by all B frames of the keypoints."""
        b = kp_driving.shape[0]
        k1 = self.num_kp + 1
        feature = F.relu(self.norm(self.compress(feature)))  # B (or 1) x 4 x d x h x w
        c, d, h, w = feature.shape[1:]
        grid = coordinate_grid(d, h, w, kp_source)
        # Sparse motions: background identity, then per keypoint grid - driving + source.
        shifted = grid[None, None] - kp_driving[:, :, None, None, None, :] + kp_source[:, :, None, None, None, :]
        motions = torch.cat([grid[None, None].expand(b, 1, d, h, w, 3), shifted], dim=1)  # B x K+1 x d x h x w x 3
        deformed = sample_volume(feature, motions.reshape(b * k1, d, h, w, 3)).view(b, k1, c, d, h, w)
        heat = keypoint_gaussians(kp_driving, grid) - keypoint_gaussians(kp_source, grid)
        heat = torch.cat([heat.new_zeros(b, 1, d, h, w), heat], dim=1).unsqueeze(2)
        prediction = self.hourglass(torch.cat([heat, deformed], dim=2).view(b, -1, d, h, w))
        mask = F.softmax(self.mask(prediction), dim=1).unsqueeze(-1)  # B x K+1 x d x h x w x 1
        out = {"mask": mask.squeeze(-1), "deformation": (motions * mask).sum(dim=1)}
        if self.occlusion is not None:
            out["occlusion_map"] = torch.sigmoid(self.occlusion(prediction.reshape(b, -1, h, w)))
        return out


class WarpingNetwork(nn.Module):
    """forward(feature_3d, kp_driving, kp_source) -> {out B x 256 x 64 x 64, occlusion_map, deformation}.

    Positional order is driving before source, as in the official module. ``feature_3d`` may have
    batch 1 for B keypoint sets: one source portrait animated in B frames at once.
    """

    def __init__(self, cfg: WarpingConfig = WarpingConfig()):
        super().__init__()
        self.dense_motion_network = DenseMotionNetwork(
            cfg.num_kp, cfg.reshape_channel, cfg.dense_motion, cfg.estimate_occlusion_map
        )
        width = cfg.block_expansion * 2**cfg.num_down_blocks
        self.third = SameBlock2d(cfg.max_features, width, kernel_size=3, padding=1, lrelu=True)
        self.fourth = nn.Conv2d(width, width, kernel_size=1)

    def forward(self, feature_3d: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor) -> dict[str, torch.Tensor]:
        dense = self.dense_motion_network(feature_3d, kp_driving, kp_source)
        deformation = dense["deformation"]
        warped = sample_volume(feature_3d, deformation)
        b, c, d, h, w = warped.shape
        out = self.fourth(self.third(warped.reshape(b, c * d, h, w)))
        occlusion = dense.get("occlusion_map")
        if occlusion is not None:
            out = out * occlusion
        return {"out": out, "occlusion_map": occlusion, "deformation": deformation}
