"""S: the stitching, lip and eye retargeting MLPs and the wrapper arithmetic around them."""

from __future__ import annotations

import torch
from torch import nn

from vortex.animators.liveportrait.config import EYE, LIP, STITCHING, RetargetingMLPConfig


class StitchingRetargetingNetwork(nn.Module):
    """Linear/ReLU stack (Linear layers at even indices of ``mlp``), no activation after the last."""

    def __init__(self, cfg: RetargetingMLPConfig):
        super().__init__()
        layers: list[nn.Module] = []
        width = cfg.input_size
        for hidden in cfg.hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, cfg.output_size))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


class StitchingRetargeting(nn.Module):
    """The three MLPs of ``stitching_retargeting_module.pth`` and how the official wrapper calls them.

    Keypoints are B x 21 x 3 in normalised volume coordinates.
    """

    CHECKPOINT_KEYS = {"stitching": "retarget_shoulder", "lip": "retarget_mouth", "eye": "retarget_eye"}

    def __init__(self):
        super().__init__()
        self.stitching = StitchingRetargetingNetwork(STITCHING)
        self.lip = StitchingRetargetingNetwork(LIP)
        self.eye = StitchingRetargetingNetwork(EYE)

    def stitch(self, kp_source: torch.Tensor, kp_driving: torch.Tensor) -> torch.Tensor:
        """Driving keypoints corrected so the animated crop stays stitched to the source's shoulders."""
        b, k = kp_source.shape[:2]
        delta = self.stitching(torch.cat([kp_source.reshape(b, -1), kp_driving.reshape(b, -1)], dim=1))
        new = kp_driving + delta[:, : 3 * k].reshape(b, k, 3)
        shift_xy = delta[:, 3 * k : 3 * k + 2].reshape(b, 1, 2)
        return torch.cat([new[..., :2] + shift_xy, new[..., 2:]], dim=-1)

    def retarget_lip(self, kp_source: torch.Tensor, lip_close_ratio: torch.Tensor) -> torch.Tensor:
        """lip_close_ratio B x 2 = [source lip ratio, target lip ratio] -> keypoint delta B x 21 x 3."""
        b, k = kp_source.shape[:2]
        return self.lip(torch.cat([kp_source.reshape(b, -1), lip_close_ratio], dim=1)).reshape(b, k, 3)

    def retarget_eye(self, kp_source: torch.Tensor, eye_close_ratio: torch.Tensor) -> torch.Tensor:
        """eye_close_ratio B x 3 = [source left, source right, target ratio] -> keypoint delta B x 21 x 3."""
        b, k = kp_source.shape[:2]
        return self.eye(torch.cat([kp_source.reshape(b, -1), eye_close_ratio], dim=1)).reshape(b, k, 3)
