"""F: the appearance feature extractor, 256x256 RGB -> a 32x16x64x64 feature volume."""

from __future__ import annotations

import torch
from torch import nn

from vortex.animators.liveportrait.blocks import DownBlock2d, ResBlock3d, SameBlock2d
from vortex.animators.liveportrait.config import AppearanceFeatureExtractorConfig


class AppearanceFeatureExtractor(nn.Module):
    """image B x 3 x 256 x 256 in [0, 1] -> feature_3d B x 32 x 16 x 64 x 64.

    The 512 channels after the 1x1 ``second`` conv are viewed as 32 x 16 (channel c*16+d -> (c, d)).
    """

    def __init__(self, cfg: AppearanceFeatureExtractorConfig = AppearanceFeatureExtractorConfig()):
        super().__init__()
        self.cfg = cfg
        self.first = SameBlock2d(cfg.image_channel, cfg.block_expansion)
        blocks = []
        out_features = cfg.block_expansion
        for i in range(cfg.num_down_blocks):
            in_features = min(cfg.max_features, cfg.block_expansion * 2**i)
            out_features = min(cfg.max_features, cfg.block_expansion * 2 ** (i + 1))
            blocks.append(DownBlock2d(in_features, out_features))
        self.down_blocks = nn.ModuleList(blocks)
        self.second = nn.Conv2d(out_features, cfg.max_features, kernel_size=1)
        self.resblocks_3d = nn.Sequential()
        for i in range(cfg.num_resblocks):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(cfg.reshape_channel))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        out = self.first(image)
        for block in self.down_blocks:
            out = block(out)
        out = self.second(out)
        b, _, h, w = out.shape
        volume = out.view(b, self.cfg.reshape_channel, self.cfg.reshape_depth, h, w)
        return self.resblocks_3d(volume)
