"""FLUX.1-schnell actor: an actor description + seed -> a generated photo -> the photo actor's Portrait.

Generation follows the model card: 4 steps, guidance 0 (schnell is guidance-distilled), 512x512,
a seeded CPU ``torch.Generator`` (so the same seed gives the same latents whatever the device
or offload mode). On CUDA the transformer and the T5 encoder are quantized to NF4 with
bitsandbytes (~7 GB of weights instead of ~24 GB in bf16); ``offload`` trades speed for VRAM on
small GPUs ("model": whole components move to the GPU in turn, "sequential": layer by layer).

The generated image then goes through exactly the photo path (``vortex.actors.photo``): face
landmarks, alignment and crop; a generated image without a detectable face fails there with
the photo path's clear error, naming the seed so the user can try another.

diffusers/transformers/torch are imported only when this backend is used (``vortex[flux]``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vortex.actors.portrait import Portrait
from vortex.errors import InvalidInputError, MissingResourceError

BACKEND = "flux-schnell"
"""Name of the official files in ``vortex.models`` (``vortex models download flux-schnell``)."""

PROMPT_TEMPLATE = (
    "photorealistic head-and-shoulders portrait photo of {description}, facing the camera, "
    "looking straight into the lens, neutral expression, mouth closed, eyes open, whole face visible, "
    "soft even studio lighting, plain background"
)
"""Frontal, closed mouth, open eyes: what the landmark path and the animators need at rest."""

QUANTIZE_CHOICES = ("auto", "nf4", "none")
OFFLOAD_CHOICES = ("none", "model", "sequential")
_INSTALL = "pip install 'vortex[flux]'"


@dataclass(frozen=True)
class FluxOptions:
    """How to run FLUX.1-schnell. Defaults are the model card's (4 steps, guidance 0, 512 px)."""

    size: int = 512
    steps: int = 4
    guidance: float = 0.0
    max_sequence_length: int = 256
    """T5 prompt length; schnell was trained with at most 256."""
    quantize: str = "auto"
    """"nf4" (bitsandbytes, CUDA only), "none", or "auto": nf4 on CUDA when bitsandbytes is installed."""
    offload: str = "none"
    """"none", "model" (enable_model_cpu_offload) or "sequential" (enable_sequential_cpu_offload); CUDA only."""
    device: str = "auto"
    """"auto", "cpu" or "cuda" (see ``vortex.devices.choose_device``)."""

    def __post_init__(self) -> None:
        if self.quantize not in QUANTIZE_CHOICES:
            raise InvalidInputError(f"quantize must be one of {', '.join(QUANTIZE_CHOICES)}, got {self.quantize!r}")
        if self.offload not in OFFLOAD_CHOICES:
            raise InvalidInputError(f"offload must be one of {', '.join(OFFLOAD_CHOICES)}, got {self.offload!r}")
        if self.size < 64 or self.size % 16:
            raise InvalidInputError(f"size must be a multiple of 16 and at least 64, got {self.size}")
        if self.steps < 1:
            raise InvalidInputError(f"steps must be at least 1, got {self.steps}")


def portrait_prompt(description: str) -> str:
    description = " ".join(str(description).split())
    if not description:
        raise InvalidInputError("actor description is empty; describe the person to generate")
    return PROMPT_TEMPLATE.format(description=description)


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise InvalidInputError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def _torch_stack():
    try:
        import diffusers
        import torch
    except ImportError as exc:
        raise MissingResourceError(f"the flux actor needs torch and diffusers; install them with: {_INSTALL}") from exc
    return torch, diffusers


def _resolve_quantize(options: FluxOptions, device: str) -> str:
    if options.quantize == "none" or (options.quantize == "auto" and device != "cuda"):
        return "none"
    if device != "cuda":
        raise InvalidInputError("NF4 quantization (bitsandbytes) needs a CUDA GPU; use quantize='none' on CPU")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        if options.quantize == "auto":
            return "none"
        raise MissingResourceError("NF4 quantization needs bitsandbytes on a CUDA system: pip install bitsandbytes") from exc
    return "nf4"


def load_pipeline(model_dir: str | Path, options: FluxOptions = FluxOptions()):
    """A ``FluxPipeline`` from a diffusers-layout folder, quantized and placed as ``options`` say.

    Returns ``(pipe, info)`` where info records device, dtype, quantization and offload.
    """
    from vortex.devices import choose_device

    torch, diffusers = _torch_stack()
    device = choose_device(options.device).kind
    if options.offload != "none" and device != "cuda":
        raise InvalidInputError(f"offload={options.offload!r} moves weights to a GPU; it needs device cuda")
    quantize = _resolve_quantize(options, device)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype}
    if quantize == "nf4":
        from diffusers.quantizers import PipelineQuantizationConfig

        kwargs["quantization_config"] = PipelineQuantizationConfig(
            quant_backend="bitsandbytes_4bit",
            quant_kwargs={"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_compute_dtype": torch.bfloat16},
            components_to_quantize=["transformer", "text_encoder_2"],
        )
    pipe = diffusers.FluxPipeline.from_pretrained(str(model_dir), **kwargs)
    place_pipeline(pipe, device, options.offload)
    pipe.set_progress_bar_config(disable=True)
    info = {"device": device, "dtype": str(dtype).removeprefix("torch."), "quantize": quantize, "offload": options.offload}
    return pipe, info


def place_pipeline(pipe, device: str, offload: str) -> None:
    if offload == "model":
        pipe.enable_model_cpu_offload()
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload()
    else:
        pipe.to(device)


class FluxActor:
    """A resident FLUX.1-schnell pipeline; call it with a description and a seed to get a Portrait."""

    name = "flux"

    def __init__(self, pipe, options: FluxOptions = FluxOptions(), info: dict | None = None) -> None:
        self.pipe = pipe
        self.options = options
        self.info = dict(info or {})

    @classmethod
    def load(cls, models_dir: str | Path | None = None, options: FluxOptions = FluxOptions()) -> "FluxActor":
        """Load the official files from ``models_dir`` (MissingResourceError naming them if absent)."""
        from vortex.models import require

        root = require(BACKEND, models_dir)
        pipe, info = load_pipeline(root, options)
        return cls(pipe, options, info)

    @classmethod
    def from_models_dir(cls, models_dir: str | Path | None = None, device: str | None = None) -> "FluxActor":
        """The registry's loader (``vortex.backends``): default options on ``device`` (None: auto)."""
        return cls.load(models_dir, FluxOptions(device=device or "auto"))

    def generate(self, description: str, seed: int) -> np.ndarray:
        """The raw generated image: uint8 [size, size, 3] RGB."""
        torch, _ = _torch_stack()
        prompt = portrait_prompt(description)
        generator = torch.Generator("cpu").manual_seed(check_seed(seed))
        o = self.options
        with torch.inference_mode():
            result = self.pipe(
                prompt,
                height=o.size,
                width=o.size,
                num_inference_steps=o.steps,
                guidance_scale=o.guidance,
                max_sequence_length=o.max_sequence_length,
                generator=generator,
                output_type="np",
            )
        return to_uint8(result.images[0])

    def __call__(self, description: str, seed: int = 0, size: int | None = None) -> Portrait:
        """Generate, then run the photo actor's landmark and alignment path on the image."""
        image = self.generate(description, seed)
        details = {"prompt": portrait_prompt(description), "description": description, "seed": check_seed(seed),
                   "steps": self.options.steps, "guidance": self.options.guidance, **self.info}
        return portrait_from_image(image, size or self.options.size, details)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [H, W, 3] in [0, 1] (diffusers' "np" output) -> uint8, rounded."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an [H, W, 3] image, got shape {image.shape}")
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def portrait_from_image(image: np.ndarray, size: int, details: dict | None = None) -> Portrait:
    """The photo actor's landmark + alignment path on a generated image; source becomes "flux".

    A generated image without a detectable face raises the photo path's InvalidInputError,
    with the seed added so the user knows what to change.
    """
    from vortex.actors.photo import photo_actor

    details = dict(details or {})
    try:
        portrait = photo_actor(image, size)
    except InvalidInputError as exc:
        seed = details.get("seed")
        hint = f" (flux seed {seed}); try another seed or a more explicit description" if seed is not None else ""
        raise InvalidInputError(f"generated image: {exc}{hint}") from exc
    return dataclasses.replace(portrait, source="flux", details={**portrait.details, **details})
