"""``LivePortraitAnimator``: Controls tracks -> LivePortrait driving keypoints -> warped, decoded frames.

Per portrait, once: a square crop around the face is resized to 256x256, the appearance extractor
gives the feature volume and the motion extractor the source pose, expression and keypoints.
Per frame (batched): head channels rotate and translate the canonical keypoints, expression channels
add the official editor's expression offsets, jaw_open/lip_press set the lip-retargeting target and
blinks/eye_wide the eye-retargeting target, stitching keeps the crop attached, then the warping
network and the SPADE decoder render 512x512, which is resized into the crop and feathered into the
portrait. Everything after the source step stays on the device; only uint8 frames come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from vortex.actors.portrait import Portrait
from vortex.animators.base import write_chunks_into
from vortex.animators.liveportrait.config import SOURCE_SIZE, DrivingConfig, RuntimeConfig
from vortex.animators.liveportrait.loader import LivePortraitNetworks, import_torch, load_networks
from vortex.errors import InvalidInputError
from vortex.motion.controls import CHANNEL_INDEX, CHANNELS, Controls


@dataclass(frozen=True)
class CropBox:
    """Square region of the portrait that LivePortrait animates: top-left (x0, y0) and side, pixels."""

    x0: int
    y0: int
    side: int


@dataclass(frozen=True)
class SourceState:
    """What the animator computes once per portrait (torch tensors on the networks' device).

    feature_3d: [1, 32, 16, 64, 64] network dtype. kp_canonical, exp, kp_source: float32 [1, 21, 3].
    scale [1, 1], t [1, 3], pitch/yaw/roll [1] degrees. eye_ratios [1, 2] (subject left, right),
    lip_ratio [1, 1]: open ratios measured on the portrait's landmarks.
    """

    feature_3d: Any
    kp_canonical: Any
    exp: Any
    scale: Any
    t: Any
    pitch: Any
    yaw: Any
    roll: Any
    kp_source: Any
    eye_ratios: Any
    lip_ratio: Any
    crop: CropBox
    image_hw: tuple[int, int]


def crop_box(portrait: Portrait, cfg: DrivingConfig) -> CropBox:
    """A square around the face box (official crop scale and shift), kept inside the image."""
    h, w = portrait.image.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in portrait.face_box)
    face = max(x1 - x0, y1 - y0)
    if not np.isfinite(face) or face <= 1:
        return CropBox(0, 0, min(h, w))
    side = int(round(min(min(h, w), cfg.crop_scale * face)))
    cx = 0.5 * (x0 + x1)
    cy = 0.5 * (y0 + y1) + cfg.crop_shift_y * face
    left = int(round(min(max(cx - side / 2, 0), w - side)))
    top = int(round(min(max(cy - side / 2, 0), h - side)))
    return CropBox(left, top, side)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def eye_open_ratio(eye: np.ndarray) -> float:
    """iBUG eye (6 points: corners 0 and 3, upper 1-2, lower 5-4) -> mean lid gap / eye width."""
    width = _distance(eye[0], eye[3])
    gap = 0.5 * (_distance(eye[1], eye[5]) + _distance(eye[2], eye[4]))
    return gap / width if width > 1e-6 else float("nan")


def lip_open_ratio(landmarks: np.ndarray) -> float:
    """Inner-lip gap (iBUG 62-66) / mouth width (48-54), the quantity LivePortrait's lip net reads."""
    width = _distance(landmarks[48], landmarks[54])
    return _distance(landmarks[62], landmarks[66]) / width if width > 1e-6 else 0.0


def feather_mask(side: int, feather: float) -> np.ndarray:
    """float32 [side, side]: 1 inside, raised-cosine fall-off to 0 over the outer ``feather`` fraction."""
    ramp = max(1, int(round(feather * side)))
    pos = np.arange(side, dtype=np.float64)
    edge = np.minimum(pos + 0.5, side - pos - 0.5) / ramp
    profile = np.where(edge >= 1, 1.0, 0.5 - 0.5 * np.cos(np.pi * np.clip(edge, 0, 1)))
    return np.outer(profile, profile).astype(np.float32)


class LivePortraitAnimator:
    """The Animator protocol on the official LivePortrait networks.

    networks: already loaded networks (e.g. from ``load_networks``); when None they are read from
    ``weights_root`` (default ``models_dir()/liveportrait``) on ``device`` (default CUDA if present).
    batch_size: frames per warping/decoding batch (``runtime.batch_size`` when ``runtime`` is given).
    runtime: batching, static shapes and ``torch.compile`` / CUDA graphs (``RuntimeConfig``).

    The source portrait's features stay resident on the device (``SourceState``) and enter the
    warping network once per batch with batch 1 (never copied per frame); a chunk's driving
    keypoints come from one batched call of the retargeting networks.
    """

    name = "liveportrait"

    def __init__(
        self,
        networks: LivePortraitNetworks | None = None,
        *,
        weights_root: Path | str | None = None,
        device: Any = None,
        batch_size: int = 8,
        driving: DrivingConfig = DrivingConfig(),
        runtime: RuntimeConfig | None = None,
    ) -> None:
        try:
            self.runtime = runtime if runtime is not None else RuntimeConfig(batch_size=batch_size)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        self.torch = import_torch()
        self.networks = networks if networks is not None else load_networks(weights_root, device=device)
        self.batch_size = self.runtime.batch_size
        self.driving = driving
        self._cache: tuple[Portrait, SourceState] | None = None
        self._warp, self._decode = self._runners()

    def _runners(self):
        """The warping network and the decoder, compiled when ``runtime.compile_mode`` says so."""
        nets, runtime = self.networks, self.runtime
        if runtime.compile_mode is None:
            return nets.warping, nets.generator
        compile_ = lambda net: self.torch.compile(net, mode=runtime.compile_mode, backend=runtime.compile_backend,  # noqa: E731
                                                  dynamic=False, fullgraph=False)
        return compile_(nets.warping), compile_(nets.generator)

    @classmethod
    def from_models_dir(cls, models_dir: Path | str | None = None, device: Any = None) -> "LivePortraitAnimator":
        """The registry's loader (``vortex.backends``): the official networks from ``models_dir``."""
        from vortex.models import backend_dir

        return cls(weights_root=backend_dir("liveportrait", models_dir), device=device)

    def _autocast(self):
        """On CUDA in float16, run under autocast as the official wrapper does, so that its float32
        op list (norms, softmax, reductions) keeps float32 precision; a no-op on CPU."""
        torch, nets = self.torch, self.networks
        enabled = nets.device.type == "cuda" and nets.dtype == torch.float16
        return torch.autocast(device_type=nets.device.type, dtype=torch.float16, enabled=enabled)

    # -- source -----------------------------------------------------------------------------
    def prepare(self, portrait: Portrait) -> None:
        """Compute (and cache) the portrait's source state now."""
        self.source(portrait)

    def source(self, portrait: Portrait) -> SourceState:
        """Features, pose and keypoints of the portrait; cached for the last portrait seen."""
        # The cache holds the portrait itself, so its id cannot be reused by another object.
        if self._cache is not None and self._cache[0] is portrait:
            return self._cache[1]
        state = self._compute_source(portrait)
        self._cache = (portrait, state)
        return state

    def _compute_source(self, portrait: Portrait) -> SourceState:
        import cv2

        from vortex.animators.liveportrait.keypoints import transform_keypoint_info

        torch, nets = self.torch, self.networks
        image = portrait.image
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InvalidInputError(f"portrait image must be uint8 [H, W, 3], got {image.dtype} {image.shape}")
        box = crop_box(portrait, self.driving)
        crop = image[box.y0 : box.y0 + box.side, box.x0 : box.x0 + box.side]
        interp = cv2.INTER_AREA if box.side > SOURCE_SIZE else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (SOURCE_SIZE, SOURCE_SIZE), interpolation=interp)
        x = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))[None]).to(nets.device)
        x = (x.float() / 255.0).to(nets.dtype)
        with torch.no_grad(), self._autocast():
            feature_3d = nets.appearance(x).to(nets.dtype)
            raw = {k: v.float() for k, v in nets.motion(x).items()}
        with torch.no_grad():
            info = transform_keypoint_info(raw)
        landmarks = np.asarray(portrait.landmarks, np.float64)
        eyes = [eye_open_ratio(landmarks[42:48]), eye_open_ratio(landmarks[36:42])]  # subject left, right
        eyes = [r if np.isfinite(r) and r > 0 else self.driving.default_eye_open_ratio for r in eyes]
        f32 = dict(dtype=torch.float32, device=nets.device)
        return SourceState(
            feature_3d=feature_3d,
            kp_canonical=raw["kp"].reshape(1, -1, 3),
            exp=raw["exp"].reshape(1, -1, 3),
            scale=raw["scale"],
            t=raw["t"],
            pitch=info["pitch"],
            yaw=info["yaw"],
            roll=info["roll"],
            kp_source=info["kp_transformed"],
            eye_ratios=torch.tensor([eyes], **f32),
            lip_ratio=torch.tensor([[lip_open_ratio(landmarks)]], **f32),
            crop=box,
            image_hw=(int(image.shape[0]), int(image.shape[1])),
        )

    # -- driving ----------------------------------------------------------------------------
    def expression_offsets(self, rows: Any) -> Any:
        """[n, K] controls -> [n, 21, 3] offsets added to the source expression (before scaling)."""
        torch, cfg = self.torch, self.driving
        n = rows.shape[0]
        out = torch.zeros(n, 21, 3, dtype=torch.float32, device=rows.device)
        smile = rows[:, CHANNEL_INDEX["smile"]].clamp(*cfg.smile_range)
        for kp, axis, gain in cfg.smile_rows:
            out[:, kp, axis] += smile * gain
        brow = rows[:, CHANNEL_INDEX["brow_up"]].clamp(-1, 1) * cfg.brow_scale
        up, down = brow.clamp(min=0), brow.clamp(max=0)
        for kp, axis, gain in cfg.brow_up_rows:
            out[:, kp, axis] += up * gain
        for kp, axis, gain in cfg.brow_down_rows:
            out[:, kp, axis] += down * gain
        return out

    def retargeting_inputs(self, src: SourceState, rows: Any) -> tuple[Any, Any]:
        """[n, K] controls -> (eye input [n, 3], lip input [n, 2]) of the retargeting networks.

        eye: [source left ratio, source right ratio, target], target = mean source ratio * (1 - mean
        blink) * (1 + gain * eye_wide), clipped to [0, max]. lip: [source ratio, target], target =
        max ratio * jaw_open * (1 - lip_press).
        """
        torch, cfg = self.torch, self.driving
        n = rows.shape[0]
        col = lambda name: rows[:, CHANNEL_INDEX[name]]  # noqa: E731
        blink = 0.5 * (col("blink_l").clamp(0, 1) + col("blink_r").clamp(0, 1))
        widen = 1 + cfg.eye_wide_gain * col("eye_wide").clamp(-1, 1)
        eye_target = (src.eye_ratios.mean() * (1 - blink) * widen).clamp(0, cfg.max_eye_open_ratio)
        lip_target = cfg.max_lip_open_ratio * col("jaw_open").clamp(0, 1) * (1 - col("lip_press").clamp(0, 1))
        eye_in = torch.cat([src.eye_ratios.expand(n, 2), eye_target[:, None]], dim=1)
        lip_in = torch.cat([src.lip_ratio.expand(n, 1), lip_target[:, None]], dim=1)
        return eye_in, lip_in

    def driving_keypoints(self, src: SourceState, values: np.ndarray, stitch: bool = True) -> Any:
        """float32 [n, K] Controls rows -> driving keypoints float32 [n, 21, 3] on the device."""
        from vortex.animators.liveportrait.keypoints import rotation_matrix, transform_keypoints

        torch, cfg, nets = self.torch, self.driving, self.networks
        rows = torch.as_tensor(np.asarray(values, np.float32), device=nets.device)
        if rows.ndim != 2 or rows.shape[1] != len(CHANNELS):
            raise InvalidInputError(f"controls rows must be [n, {len(CHANNELS)}], got {tuple(rows.shape)}")
        n = rows.shape[0]
        col = lambda name: rows[:, CHANNEL_INDEX[name]]  # noqa: E731
        sp, sy, sr = cfg.head_signs
        rot = rotation_matrix(src.pitch + sp * col("head_pitch"), src.yaw + sy * col("head_yaw"), src.roll + sr * col("head_roll"))
        exp = src.exp + self.expression_offsets(rows)
        # Keypoints span [-1, 1] over the crop; Controls translate in fractions of the portrait.
        h, w = src.image_hw
        dx = col("head_dx") * (2.0 * w / src.crop.side)
        dy = col("head_dy") * (2.0 * h / src.crop.side)
        t = src.t + torch.stack([dx, dy, torch.zeros_like(dx)], dim=1)
        kp = transform_keypoints(src.kp_canonical.expand(n, -1, -1), rot, exp, src.scale.expand(n, 1), t)
        eye_in, lip_in = self.retargeting_inputs(src, rows)
        kp_src = src.kp_source.expand(n, -1, -1)
        with torch.no_grad():
            kp = kp + nets.retargeting.retarget_eye(kp_src, eye_in) + nets.retargeting.retarget_lip(kp_src, lip_in)
            if stitch:
                kp = nets.retargeting.stitch(kp_src, kp)
        return kp

    # -- rendering --------------------------------------------------------------------------
    def frames(self, portrait: Portrait, controls: Controls, chunk: int = 24) -> Iterator[np.ndarray]:
        """Yield uint8 [n, H, W, 3] chunks of the animated portrait, all ``controls.frames`` in order."""
        if chunk < 1:
            raise InvalidInputError(f"chunk must be >= 1, got {chunk}")
        if not np.isfinite(controls.values).all():
            raise InvalidInputError("controls contain NaN or infinite values")
        torch, nets = self.torch, self.networks
        src = self.source(portrait)
        box = src.crop
        base = torch.from_numpy(np.ascontiguousarray(portrait.image)).to(nets.device)
        mask = torch.from_numpy(feather_mask(box.side, self.driving.feather)).to(nets.device)[..., None]
        region = base[box.y0 : box.y0 + box.side, box.x0 : box.x0 + box.side].float()
        for start in range(0, controls.frames, chunk):
            rows = controls.values[start : start + chunk]
            n = rows.shape[0]
            kp_all = self.driving_keypoints(src, rows)  # the whole chunk's motion in one batched call
            out = base.unsqueeze(0).repeat(n, 1, 1, 1)
            for b in range(0, n, self.batch_size):
                kp = kp_all[b : b + self.batch_size]
                crops = self._render_crops(src, kp, box.side)  # [m, side, side, 3] float 0..255
                blended = crops * mask + region * (1 - mask)
                out[b : b + kp.shape[0], box.y0 : box.y0 + box.side, box.x0 : box.x0 + box.side] = (
                    blended.round().clamp(0, 255).to(torch.uint8)
                )
            yield out.cpu().numpy()

    def _render_crops(self, src: SourceState, kp_d: Any, side: int) -> Any:
        """Driving keypoints [m, 21, 3] -> crops [m, side, side, 3] float 0..255 on the device."""
        torch, nets = self.torch, self.networks
        import torch.nn.functional as F

        m = kp_d.shape[0]
        if self.runtime.pads_batches and m < self.batch_size:  # one shape for every call
            kp_d = torch.cat([kp_d, kp_d[-1:].expand(self.batch_size - m, -1, -1)])
        if self.runtime.compile_mode == "reduce-overhead" and nets.device.type == "cuda":
            torch.compiler.cudagraph_mark_step_begin()  # the previous replay's outputs are consumed
        with torch.no_grad(), self._autocast():
            warped = self._warp(
                src.feature_3d,  # batch 1: the resident source volume, shared by every frame
                kp_driving=kp_d.to(nets.dtype),
                kp_source=src.kp_source.expand(kp_d.shape[0], -1, -1).to(nets.dtype),
            )["out"]
            image = self._decode(warped)[:m].float()  # [m, 3, 512, 512] in (0, 1)
            if image.shape[-1] != side:
                image = F.interpolate(image, size=(side, side), mode="bilinear", align_corners=False, antialias=side < image.shape[-1])
        return image.permute(0, 2, 3, 1) * 255.0

    def render_into(self, portrait: Portrait, controls: Controls, buffer: np.ndarray) -> None:
        """Write every frame into a float32 [T, 3, H, W] buffer in [0, 1], in place."""
        written = write_chunks_into(self.frames(portrait, controls, chunk=max(self.batch_size, 1)), buffer)
        if written != controls.frames:
            raise RuntimeError(f"LivePortrait produced {written} frames, expected {controls.frames}")
