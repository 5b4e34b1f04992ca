"""``animate``: the compatibility call in the shape of the original animator contract
(image tensor and 24 kHz waveform in, frame tensor out), on a process-wide resident pipeline."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from vortex.errors import InvalidInputError
from vortex.pipeline.core import VortexPipeline, run_sync
from vortex.pipeline.request import SlotInputs, SlotRequest
from vortex.recipe import DURATION_RANGE, FPS_RANGE, AudioTrack, Recipe, SlotSpec, VisualTrack, validate_size


_default_pipeline: VortexPipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> VortexPipeline:
    """A process-wide resident pipeline (warp animator) for ``animate``."""
    global _default_pipeline
    with _default_lock:
        if _default_pipeline is None:
            _default_pipeline = VortexPipeline()
        return _default_pipeline


def _to_numpy(value: Any, name: str) -> tuple[np.ndarray, bool]:
    is_torch = type(value).__module__.startswith("torch")
    if is_torch:
        value = value.detach().to("cpu").float().numpy()
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a numeric array, got {type(value).__name__}") from None
    return array, is_torch


def animate(
    source_image: Any,
    driving_audio: Any,
    expression_preset: str = "neutral",
    fps: int = 24,
    duration: float = 45,
    output: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    *,
    pipeline: VortexPipeline | None = None,
):
    """The original animator contract: a face image and 24 kHz speech in, frames out.

    source_image: float [3, H, W] in [0, 1] (numpy or torch), a photo with a face.
    driving_audio: float mono waveform at 24 kHz (numpy or torch, [N] or [1, N]).
    Returns float32 [duration * fps, 3, S, S] in [0, 1] (S = H when square and 256..1024, else
    512), as a torch tensor when the image was one. Audio longer than ``duration`` is truncated
    with the warning "Audio truncated from 60.0s to 45.0s"; shorter audio is padded with
    silence while the face idles. ``output`` also writes the MP4.
    """
    image, as_torch = _to_numpy(source_image, "source_image")
    if image.ndim != 3 or image.shape[0] != 3:
        raise InvalidInputError(f"source_image must be float [3, H, W] in [0, 1], got shape {tuple(image.shape)}")
    if not np.isfinite(image).all() or image.min() < -1e-3 or image.max() > 1 + 1e-3:
        raise InvalidInputError("source_image values must be finite and within [0, 1]")
    audio, _ = _to_numpy(driving_audio, "driving_audio")
    if audio.ndim == 2 and audio.shape[0] == 1:
        audio = audio[0]
    if audio.ndim != 1:
        raise InvalidInputError(f"driving_audio must be a mono waveform [N] at 24 kHz, got shape {tuple(audio.shape)}")
    if audio.size == 0:
        raise InvalidInputError("driving_audio is empty")
    if not np.isfinite(audio).all():
        raise InvalidInputError("driving_audio contains NaN or infinite samples")
    height, width = image.shape[1:]
    size = height if height == width and 256 <= height <= 1024 and height % 2 == 0 else 512
    fps_value = fps
    if isinstance(fps, float) and fps.is_integer():
        fps_value = int(fps)
    if isinstance(fps_value, bool) or not isinstance(fps_value, int) or not FPS_RANGE[0] <= fps_value <= FPS_RANGE[1]:
        raise InvalidInputError(f"fps must be an integer from {FPS_RANGE[0]} to {FPS_RANGE[1]}, got {fps!r}")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not DURATION_RANGE[0] <= duration <= DURATION_RANGE[1]:
        raise InvalidInputError(f"duration must be from {DURATION_RANGE[0]:g} to {DURATION_RANGE[1]:g} seconds, got {duration!r}")
    validate_size(size, "size")
    recipe = Recipe(
        audio_track=AudioTrack(),
        visual_track=VisualTrack(expression_preset=expression_preset),
        slot=SlotSpec(float(duration), fps_value, size, int(seed or 0)),
    )
    from vortex.motion.expressions import preset

    preset(expression_preset)  # unknown preset -> InvalidInputError listing the valid ones
    pixels = np.clip(np.rint(image.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
    pipe = pipeline or default_pipeline()
    request = SlotRequest(recipe, slot_id="animate", inputs=SlotInputs(waveform=audio, image=pixels), output=output,
                          return_frames=True)
    result = run_sync(pipe.generate(request))
    result.raise_for_error()
    frames = result.frames_buffer
    if as_torch:
        import torch

        return torch.from_numpy(frames)
    return frames
