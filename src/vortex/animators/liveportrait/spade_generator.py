"""G: the SPADE decoder, warped features B x 256 x 64 x 64 -> RGB B x 3 x 512 x 512 in (0, 1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vortex.animators.liveportrait.config import SpadeGeneratorConfig


class SpectralNormConv2d(nn.Module):
    """Conv2d whose effective weight is ``weight_orig / sigma``, sigma = u . (W_mat v).

    Keys mirror ``torch.nn.utils.spectral_norm`` in a checkpoint: ``bias`` (optional), ``weight_orig``,
    ``weight_u``, ``weight_v``. At inference the stored u and v are used as they are: no power
    iteration, no renormalisation (what PyTorch does in eval mode). ``fold()`` bakes the division into a
    plain weight once loaded, so per-frame inference pays nothing for it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, bias: bool = True):
        super().__init__()
        self.padding = padding
        self.weight_orig = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.register_buffer("weight_u", torch.ones(out_channels))
        self.register_buffer("weight_v", torch.ones(in_channels * kernel_size * kernel_size))
        self._folded: torch.Tensor | None = None

    def effective_weight(self) -> torch.Tensor:
        # sigma in float32 even when the module runs in float16: the dot product is long.
        w = self.weight_orig.float()
        sigma = torch.dot(self.weight_u.float(), torch.mv(w.reshape(w.shape[0], -1), self.weight_v.float()))
        return (w / sigma).to(self.weight_orig.dtype)

    def fold(self) -> None:
        """Cache the effective weight (call after loading; any later load_state_dict must call it again)."""
        with torch.no_grad():
            self._folded = self.effective_weight()

    def _load_from_state_dict(self, *args, **kwargs):  # a new load invalidates the cached weight
        self._folded = None
        super()._load_from_state_dict(*args, **kwargs)

    def _apply(self, fn, *args, **kwargs):  # .to()/.half() invalidate it too
        self._folded = None
        return super()._apply(fn, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self._folded if self._folded is not None else self.effective_weight()
        return F.conv2d(x, weight, self.bias, padding=self.padding)


class SPADE(nn.Module):
    """InstanceNorm(x) * (1 + gamma(seg)) + beta(seg), seg resized to x with nearest."""

    def __init__(self, norm_nc: int, label_nc: int, hidden: int = 128):
        super().__init__()
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, kernel_size=3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        normalized = F.instance_norm(x, eps=1e-5)
        if seg.shape[-2:] != x.shape[-2:]:
            seg = F.interpolate(seg, size=x.shape[-2:], mode="nearest")
        actv = self.mlp_shared(seg)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, label_nc: int):
        super().__init__()
        fmiddle = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = SpectralNormConv2d(fin, fmiddle, 3, padding=1)
        self.conv_1 = SpectralNormConv2d(fmiddle, fout, 3, padding=1)
        if self.learned_shortcut:
            self.conv_s = SpectralNormConv2d(fin, fout, 1, bias=False)
            self.norm_s = SPADE(fin, label_nc)
        self.norm_0 = SPADE(fin, label_nc)
        self.norm_1 = SPADE(fmiddle, label_nc)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return shortcut + dx


class SPADEDecoder(nn.Module):
    """feature B x 256 x 64 x 64 -> image B x 3 x 512 x 512 (sigmoid)."""

    def __init__(self, cfg: SpadeGeneratorConfig = SpadeGeneratorConfig()):
        super().__init__()
        channels = min(cfg.max_features, cfg.block_expansion * 2**cfg.num_down_blocks)  # 256
        self.fc = nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1)
        for i in range(6):
            setattr(self, f"G_middle_{i}", SPADEResnetBlock(2 * channels, 2 * channels, channels))
        self.up_0 = SPADEResnetBlock(2 * channels, channels, channels)
        self.up_1 = SPADEResnetBlock(channels, cfg.out_channels, channels)
        self.conv_img = nn.Sequential(
            nn.Conv2d(cfg.out_channels, 3 * cfg.upscale**2, kernel_size=3, padding=1),
            nn.PixelShuffle(cfg.upscale),
        )

    def fold_spectral_norm(self) -> None:
        for module in self.modules():
            if isinstance(module, SpectralNormConv2d):
                module.fold()

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.fc(feature)
        for i in range(6):
            x = getattr(self, f"G_middle_{i}")(x, feature)
        # Each up block's three SPADE layers share one nearest-resized segmap (resized once here).
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.up_0(x, F.interpolate(feature, size=x.shape[-2:], mode="nearest"))
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.up_1(x, F.interpolate(feature, size=x.shape[-2:], mode="nearest"))
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 0.2)))
