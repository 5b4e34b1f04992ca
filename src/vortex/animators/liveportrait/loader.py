"""Load the official LivePortrait checkpoint files into the project's networks.

Files (human model) from the Hugging Face repo KwaiVGI/LivePortrait, placed under
``vortex.config.models_dir() / "liveportrait"`` with the repo's own sub-paths::

    liveportrait/base_models/appearance_feature_extractor.pth
    liveportrait/base_models/motion_extractor.pth
    liveportrait/base_models/warping_module.pth
    liveportrait/base_models/spade_generator.pth
    liveportrait/retargeting_models/stitching_retargeting_module.pth

Keys are matched strictly (every key present, none extra, same shapes). The retargeting file holds
three state dicts whose keys may carry the DDP ``module.`` prefix; both forms are accepted. Networks
run in float16 on CUDA and float32 on CPU; the retargeting MLPs and keypoint math stay float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vortex.config import models_dir
from vortex.errors import MissingResourceError, ModelIntegrityError

from vortex.models.registry import (
    LIVEPORTRAIT_BASE_FILES,
    LIVEPORTRAIT_FILES,
    LIVEPORTRAIT_REPO,
    LIVEPORTRAIT_RETARGETING_FILE,
    LIVEPORTRAIT_SUBFOLDER,
)

if TYPE_CHECKING:
    import torch

# The file list is the models registry's (it lists, fetches and checks them); the loader reads them.
HF_REPO = LIVEPORTRAIT_REPO
HF_SUBFOLDER = LIVEPORTRAIT_SUBFOLDER
BASE_FILES = LIVEPORTRAIT_BASE_FILES
RETARGETING_FILE = LIVEPORTRAIT_RETARGETING_FILE
ALL_FILES = LIVEPORTRAIT_FILES


def weights_dir(root: Path | str | None = None) -> Path:
    """Where the official files are expected: ``root`` or ``models_dir()/liveportrait``."""
    return Path(root).expanduser() if root is not None else models_dir() / "liveportrait"


def import_torch():
    try:
        import torch
    except ImportError as exc:  # the torch extra is optional
        raise MissingResourceError(
            "the LivePortrait animator needs PyTorch: pip install 'vortex[torch]' (a CUDA build on GPU machines)"
        ) from exc
    return torch


def missing_files(root: Path | str | None = None) -> list[Path]:
    folder = weights_dir(root)
    return [folder / rel for rel in ALL_FILES if not (folder / rel).is_file()]


def require_files(root: Path | str | None = None) -> Path:
    """Raise one MissingResourceError naming every absent file and where to get it."""
    folder = weights_dir(root)
    absent = missing_files(folder)
    if absent:
        names = ", ".join(str(p) for p in absent)
        sources = ", ".join(f"{HF_SUBFOLDER}/{p.relative_to(folder).as_posix()}" for p in absent)
        raise MissingResourceError(
            f"LivePortrait weights missing: {names}. Download {sources} from the Hugging Face repo {HF_REPO} "
            f"(https://huggingface.co/{HF_REPO}) and place them under {folder} keeping the base_models/ and "
            "retargeting_models/ sub-folders, or run `vortex models download liveportrait` "
            "(set VORTEX_MODELS_DIR to use another models directory)."
        )
    return folder


def read_checkpoint(path: Path) -> dict:
    torch = import_torch()
    if not path.is_file():
        raise MissingResourceError(
            f"LivePortrait weight file missing: {path}. Get {HF_SUBFOLDER}/{_relative(path)} from {HF_REPO} on Hugging Face."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or non-checkpoint file
        raise ModelIntegrityError(f"cannot read LivePortrait checkpoint {path}: {exc}") from exc
    if not isinstance(state, dict):
        raise ModelIntegrityError(f"{path} holds a {type(state).__name__}, expected a state dict")
    return state


def _relative(path: Path) -> str:
    parts = path.as_posix().split("/")
    return "/".join(parts[-2:])


def strip_module_prefix(state: dict) -> dict:
    """What the official loader does to retargeting keys: drop the DDP ``module.`` prefix."""
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def load_strict(module: "torch.nn.Module", state: dict, source: str) -> None:
    """Copy ``state`` into ``module`` after checking keys and shapes exactly; errors name the file."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(getattr(state[k], "shape", ())) != tuple(v.shape)
    ]
    if missing or unexpected or wrong:
        details = []
        if missing:
            details.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        if wrong:
            details.append(f"{len(wrong)} with wrong shapes (e.g. {'; '.join(wrong[:3])})")
        raise ModelIntegrityError(f"{source} does not match the LivePortrait layout: " + ", ".join(details))
    module.load_state_dict(state, strict=True)


@dataclass
class LivePortraitNetworks:
    """The five loaded networks, in eval mode on one device."""

    appearance: Any  # AppearanceFeatureExtractor
    motion: Any  # MotionExtractor
    warping: Any  # WarpingNetwork
    generator: Any  # SPADEDecoder
    retargeting: Any  # StitchingRetargeting (always float32)
    device: Any
    dtype: Any

    def parameter_bytes(self) -> int:
        nets = (self.appearance, self.motion, self.warping, self.generator, self.retargeting)
        return sum(t.numel() * t.element_size() for n in nets for t in list(n.parameters()) + list(n.buffers()))


def build_networks(states: dict[str, dict], retargeting_state: dict, device=None, dtype=None, source: str = "") -> LivePortraitNetworks:
    """Networks from in-memory state dicts (``states`` keyed like BASE_FILES; retargeting as in the file)."""
    torch = import_torch()
    from vortex.animators.liveportrait.appearance_feature_extractor import AppearanceFeatureExtractor
    from vortex.animators.liveportrait.motion_extractor import MotionExtractor
    from vortex.animators.liveportrait.spade_generator import SPADEDecoder
    from vortex.animators.liveportrait.stitching_retargeting import StitchingRetargeting
    from vortex.animators.liveportrait.warping import WarpingNetwork

    device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    if dtype is None:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
    nets = {
        "appearance": AppearanceFeatureExtractor(),
        "motion": MotionExtractor(),
        "warping": WarpingNetwork(),
        "generator": SPADEDecoder(),
    }
    for name, net in nets.items():
        load_strict(net, states[name], f"{source}{BASE_FILES[name]}")
        net.eval().to(device=device, dtype=dtype)
    nets["generator"].fold_spectral_norm()
    retargeting = StitchingRetargeting()
    for attr, key in StitchingRetargeting.CHECKPOINT_KEYS.items():
        if key not in retargeting_state:
            raise ModelIntegrityError(
                f"{source}{RETARGETING_FILE} has no '{key}' entry (found: {', '.join(map(str, retargeting_state))})"
            )
        load_strict(getattr(retargeting, attr), strip_module_prefix(retargeting_state[key]), f"{source}{RETARGETING_FILE}[{key}]")
    retargeting.eval().to(device=device, dtype=torch.float32)
    for net in (*nets.values(), retargeting):
        net.requires_grad_(False)
    return LivePortraitNetworks(retargeting=retargeting, device=device, dtype=dtype, **nets)


def load_networks(root: Path | str | None = None, device=None, dtype=None) -> LivePortraitNetworks:
    """Read the five official files from ``weights_dir(root)`` and build the networks.

    device: default CUDA when available, else CPU. dtype: default float16 on CUDA, float32 on CPU.
    """
    folder = require_files(root)
    states = {name: read_checkpoint(folder / rel) for name, rel in BASE_FILES.items()}
    return build_networks(states, read_checkpoint(folder / RETARGETING_FILE), device, dtype, source=f"{folder}/")
