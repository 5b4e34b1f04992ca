"""M: the motion extractor, a ConvNeXtV2-tiny backbone with pose, expression and keypoint heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vortex.animators.liveportrait.config import MotionExtractorConfig


class LayerNormChannelsFirst(nn.Module):
    """LayerNorm over dim 1 of an NCHW tensor (biased variance, eps 1e-6), as ConvNeXt defines it."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class GRN(nn.Module):
    """Global response normalisation on NHWC input: x + gamma * (x * Nx) + beta."""

    def __init__(self, dim: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


class ConvNeXtBlock(nn.Module):
    """dwconv 7x7 -> LayerNorm (NHWC) -> Linear 4x -> GELU (erf) -> GRN -> Linear -> residual."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.grn = GRN(4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.grn(F.gelu(self.pwconv1(self.norm(y)))))
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtV2(nn.Module):
    """The backbone plus the seven LivePortrait heads (attribute names of the official checkpoint)."""

    def __init__(self, cfg: MotionExtractorConfig):
        super().__init__()
        dims = cfg.dims
        self.downsample_layers = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(cfg.in_chans, dims[0], kernel_size=4, stride=4), LayerNormChannelsFirst(dims[0]))]
            + [
                nn.Sequential(LayerNormChannelsFirst(dims[i]), nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2))
                for i in range(3)
            ]
        )
        self.stages = nn.ModuleList(
            [nn.Sequential(*[ConvNeXtBlock(dims[i]) for _ in range(cfg.depths[i])]) for i in range(4)]
        )
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.fc_kp = nn.Linear(dims[-1], 3 * cfg.num_kp)
        self.fc_scale = nn.Linear(dims[-1], 1)
        self.fc_pitch = nn.Linear(dims[-1], cfg.num_bins)
        self.fc_yaw = nn.Linear(dims[-1], cfg.num_bins)
        self.fc_roll = nn.Linear(dims[-1], cfg.num_bins)
        self.fc_t = nn.Linear(dims[-1], 3)
        self.fc_exp = nn.Linear(dims[-1], 3 * cfg.num_kp)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        feat = self.norm(x.mean((-2, -1)))
        return {
            "pitch": self.fc_pitch(feat),
            "yaw": self.fc_yaw(feat),
            "roll": self.fc_roll(feat),
            "t": self.fc_t(feat),
            "exp": self.fc_exp(feat),
            "scale": self.fc_scale(feat),
            "kp": self.fc_kp(feat),
        }


class MotionExtractor(nn.Module):
    """image B x 3 x 256 x 256 in [0, 1] -> raw heads: pitch/yaw/roll B x 66 bin logits, t B x 3,
    exp B x 63, scale B x 1, kp B x 63 (21 keypoints x (x, y, z), row-major)."""

    def __init__(self, cfg: MotionExtractorConfig = MotionExtractorConfig()):
        super().__init__()
        self.detector = ConvNeXtV2(cfg)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.detector(image)
