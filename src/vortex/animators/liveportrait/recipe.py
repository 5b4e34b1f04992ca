"""The closed-form LivePortrait weight recipe of ../shared/liveportrait/README.md (numpy only).

Tests, the device check and anyone checking the networks build verification weights with it: they
are not a model (their output is not a face), they only make every network's golden forward pass
reproducible, and its compute measurable, without the official checkpoint files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

GAINS = {
    "base_models/appearance_feature_extractor.pth": 4.5,
    "base_models/motion_extractor.pth": 3.0,
    "base_models/warping_module.pth": 6.0,
    "base_models/spade_generator.pth": 2.0,
    "retargeting_models/stitching_retargeting_module.pth": 6.0,
}
BASE_FILES = tuple(k for k in GAINS if k.startswith("base_models/"))
RETARGETING_FILE = "retargeting_models/stitching_retargeting_module.pth"
SUB_NETWORKS = ("retarget_shoulder", "retarget_mouth", "retarget_eye")


def golden_dir() -> Path | None:
    """``$VORTEX_LIVEPORTRAIT_GOLDEN``, else ``shared/liveportrait`` beside or inside the checkout
    (or the working folder); None when absent."""
    env = os.environ.get("VORTEX_LIVEPORTRAIT_GOLDEN")
    if env:
        return Path(env) if Path(env, "manifest.json").is_file() else None
    repo = Path(__file__).resolve().parents[4]  # src/vortex/animators/liveportrait/recipe.py
    for base in (repo, Path.cwd()):
        for candidate in (base.parent / "shared" / "liveportrait", base / "shared" / "liveportrait"):
            if (candidate / "manifest.json").is_file():
                return candidate
    return None


def load_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def entries_of(manifest: dict, file: str, sub: str | None = None) -> list[dict]:
    ckpt = manifest["checkpoints"][file]
    return ckpt["sub_networks"][sub]["entries"] if sub else ckpt["entries"]


def _uniform(i: int, n: int) -> np.ndarray:
    k = np.arange(1, n + 1, dtype=np.float64)
    y = np.sin(k * 12.9898 + (i + 1) * 78.233) * 43758.5453
    return 2.0 * (y - np.floor(y)) - 1.0


def recipe_state_dict(entries: list[dict], gain: float) -> dict[str, np.ndarray]:
    """Fill every manifest entry (in manifest order, i = 0, 1, ...) by the README's table."""
    out: dict[str, np.ndarray] = {}
    pending_u: list[tuple[str, tuple[int, ...]]] = []
    for i, entry in enumerate(entries):
        key, shape = entry["key"], tuple(entry["shape"])
        last = key.rsplit(".", 1)[-1]
        n = int(np.prod(shape)) if shape else 1
        if last == "num_batches_tracked":
            out[key] = np.zeros(shape, np.int64)
            continue
        u = _uniform(i, n).reshape(shape)
        if last == "running_mean":
            value = 0.1 * u
        elif last == "running_var":
            value = 1.0 + 0.25 * u
        elif last in ("weight", "weight_orig") and len(shape) >= 2:
            value = u * np.sqrt(gain / np.prod(shape[1:]))
        elif last == "weight":
            value = 1.0 + 0.1 * u
        elif last in ("bias", "gamma", "beta"):
            value = 0.1 * u
        elif last == "weight_v":
            value = u / np.linalg.norm(u)
        elif last == "weight_u":
            pending_u.append((key, shape))
            continue
        else:
            raise KeyError(f"no recipe row for {key}")
        out[key] = value.astype(np.float32)
    for key, shape in pending_u:
        prefix = key[: -len("weight_u")]
        w_mat = out[prefix + "weight_orig"].astype(np.float64).reshape(shape[0], -1)
        w = w_mat @ out[prefix + "weight_v"].astype(np.float64)
        out[key] = (w / np.linalg.norm(w)).astype(np.float32)
    return {e["key"]: out[e["key"]] for e in entries}


def file_state_dicts(manifest: dict, file: str) -> dict:
    """Recipe weights of one checkpoint file: a flat dict, or for retargeting a dict of three dicts."""
    if file == RETARGETING_FILE:
        return {sub: recipe_state_dict(entries_of(manifest, file, sub), GAINS[file]) for sub in SUB_NETWORKS}
    return recipe_state_dict(entries_of(manifest, file), GAINS[file])


def sha256_le(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()).hexdigest()


def to_torch(state: dict, prefix: str = "") -> dict:
    import torch

    if all(isinstance(v, dict) for v in state.values()):
        return {k: to_torch(v, prefix) for k, v in state.items()}
    return {prefix + k: torch.from_numpy(np.array(v)) for k, v in state.items()}


def recipe_networks(device: str = "cpu", folder: Path | None = None, dtype=None):
    """All five networks with recipe weights, built through the loader's strict path.

    ``dtype`` as ``build_networks`` takes it (default: float16 on CUDA, float32 on CPU).
    Raises ``MissingResourceError`` when the manifest (``golden_dir()``) is not found.
    """
    from vortex.animators.liveportrait.loader import BASE_FILES, RETARGETING_FILE, build_networks
    from vortex.errors import MissingResourceError

    folder = folder or golden_dir()
    if folder is None:
        raise MissingResourceError("LivePortrait recipe manifest not found: expected shared/liveportrait/manifest.json beside "
                                   "the checkout or $VORTEX_LIVEPORTRAIT_GOLDEN")
    base, retargeting = _recipe_states(str(folder))
    states = {name: to_torch(base[rel]) for name, rel in BASE_FILES.items()}
    return build_networks(states, to_torch(retargeting, "module."), device=device, dtype=dtype)


@functools.lru_cache(maxsize=1)
def _recipe_states(folder: str) -> tuple[dict, dict]:
    """numpy recipe weights of every base file and of the retargeting file (built once: ~130 M values)."""
    from vortex.animators.liveportrait.loader import BASE_FILES, RETARGETING_FILE

    manifest = load_manifest(Path(folder))
    return {rel: file_state_dicts(manifest, rel) for rel in BASE_FILES.values()}, file_state_dicts(manifest, RETARGETING_FILE)
