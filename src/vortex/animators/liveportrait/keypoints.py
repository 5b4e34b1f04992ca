"""Head pose and implicit-keypoint arithmetic of LivePortrait (``transform_keypoint`` and helpers)."""

from __future__ import annotations

import math

import torch


def headpose_to_degrees(pred: torch.Tensor) -> torch.Tensor:
    """B x 66 bin logits -> B degrees (softmax expectation * 3 - 97.5); anything else passes through."""
    if pred.ndim > 1 and pred.shape[1] == 66:
        idx = torch.arange(66, dtype=pred.dtype, device=pred.device)
        return (torch.softmax(pred, dim=1) * idx).sum(dim=1) * 3 - 97.5
    return pred


def rotation_matrix(pitch: torch.Tensor, yaw: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Degrees (B or B x 1) -> B x 3 x 3, returning R^T with R = Rz(roll) Ry(yaw) Rx(pitch).

    The transpose is what the official ``get_rotation_matrix`` returns, so ``kp @ result`` rotates
    row-vector keypoints by R.
    """
    x, y, z = (a.reshape(-1) * (math.pi / 180.0) for a in (pitch, yaw, roll))
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rx = torch.stack([one, zero, zero, zero, x.cos(), -x.sin(), zero, x.sin(), x.cos()], dim=1).view(-1, 3, 3)
    ry = torch.stack([y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos()], dim=1).view(-1, 3, 3)
    rz = torch.stack([z.cos(), -z.sin(), zero, z.sin(), z.cos(), zero, zero, zero, one], dim=1).view(-1, 3, 3)
    return torch.bmm(torch.bmm(rz, ry), rx).transpose(1, 2)


def transform_keypoints(
    kp: torch.Tensor, rot_t: torch.Tensor, exp: torch.Tensor, scale: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """scale * (kp @ R^T + exp) + (t_x, t_y, 0); kp/exp B x 63 or B x 21 x 3, scale B x 1, t B x 3."""
    b = kp.shape[0]
    out = (kp.reshape(b, -1, 3) @ rot_t + exp.reshape(b, -1, 3)) * scale.reshape(b, 1, 1)
    shift = torch.cat([t[:, :2], torch.zeros_like(t[:, 2:3])], dim=1)
    return out + shift[:, None, :]


def transform_keypoint_info(info: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Motion-extractor heads -> degrees, R^T and the transformed keypoints B x 21 x 3."""
    pitch, yaw, roll = (headpose_to_degrees(info[k]) for k in ("pitch", "yaw", "roll"))
    rot_t = rotation_matrix(pitch, yaw, roll)
    kp = transform_keypoints(info["kp"], rot_t, info["exp"], info["scale"], info["t"])
    return {"pitch": pitch, "yaw": yaw, "roll": roll, "rot_mat": rot_t, "kp_transformed": kp}
