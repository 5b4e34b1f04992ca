"""LivePortrait animator speed: ms/frame at 512x512 on CPU (float32) and, when present, CUDA (FP16).

Uses the official weights when they are installed (``models_dir()/liveportrait``); otherwise the
networks get deterministic recipe-style weights (the README's closed-form fill, applied to each
module's own keys): speed does not depend on weight values, only the pictures do.

* CPU: a few frames (2 quick, 6 full) of a 512x512 procedural portrait, batch 2, after one warm-up
  frame; the one-off source step (appearance + motion extractor) is timed separately.
* CUDA: 1080 frames (120 quick) in FP16, batched, with the VRAM of the loaded networks
  (``torch.cuda.memory_allocated``) and the peak during animation (``max_memory_allocated``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb  # noqa: E402

from vortex.actors.procedural import draw_portrait  # noqa: E402
from vortex.animators.liveportrait import loader  # noqa: E402
from vortex.motion.controls import CHANNEL_INDEX, Controls  # noqa: E402

SIZE = 512
FPS = 24


def recipe_fill(module) -> dict:
    """The shared README's closed-form weight recipe applied to a module's own state-dict entries."""
    import torch

    out = {}
    gain = 3.0
    for i, (key, value) in enumerate(module.state_dict().items()):
        last, shape = key.rsplit(".", 1)[-1], tuple(value.shape)
        n = int(np.prod(shape)) if shape else 1
        if last == "num_batches_tracked":
            out[key] = torch.zeros((), dtype=torch.int64)
            continue
        k = np.arange(1, n + 1, dtype=np.float64)
        y = np.sin(k * 12.9898 + (i + 1) * 78.233) * 43758.5453
        u = (2.0 * (y - np.floor(y)) - 1.0).reshape(shape)
        if last == "running_mean":
            v = 0.1 * u
        elif last == "running_var":
            v = 1.0 + 0.25 * u
        elif last in ("weight", "weight_orig") and len(shape) >= 2:
            v = u * np.sqrt(gain / np.prod(shape[1:]))
        elif last == "weight":
            v = 1.0 + 0.1 * u
        elif last in ("weight_u", "weight_v"):
            v = u / np.linalg.norm(u)
        else:
            v = 0.1 * u
        out[key] = torch.from_numpy(v.astype(np.float32))
    return out


def networks(device: str):
    """Official weights when installed, else recipe-filled networks; returns (networks, weights label)."""
    if not loader.missing_files():
        return loader.load_networks(device=device), "official"
    from vortex.animators.liveportrait.appearance_feature_extractor import AppearanceFeatureExtractor
    from vortex.animators.liveportrait.motion_extractor import MotionExtractor
    from vortex.animators.liveportrait.spade_generator import SPADEDecoder
    from vortex.animators.liveportrait.stitching_retargeting import StitchingRetargeting
    from vortex.animators.liveportrait.warping import WarpingNetwork

    nets = {"appearance": AppearanceFeatureExtractor(), "motion": MotionExtractor(), "warping": WarpingNetwork(), "generator": SPADEDecoder()}
    states = {name: recipe_fill(net) for name, net in nets.items()}
    s = StitchingRetargeting()
    retargeting = {key: recipe_fill(getattr(s, attr)) for attr, key in s.CHECKPOINT_KEYS.items()}
    return loader.build_networks(states, retargeting, device=device), "recipe (no official weights installed)"


def talking_controls(frames: int) -> Controls:
    t = np.arange(frames) / FPS
    values = np.zeros((frames, len(CHANNEL_INDEX)), np.float32)
    values[:, CHANNEL_INDEX["jaw_open"]] = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
    values[:, CHANNEL_INDEX["head_yaw"]] = 6 * np.sin(2 * np.pi * 0.2 * t)
    values[:, CHANNEL_INDEX["head_pitch"]] = 3 * np.sin(2 * np.pi * 0.13 * t)
    blink = (np.arange(frames) % 96) < 4
    values[blink, CHANNEL_INDEX["blink_l"]] = 1.0
    values[blink, CHANNEL_INDEX["blink_r"]] = 1.0
    values[:, CHANNEL_INDEX["smile"]] = 0.3
    return Controls(values, FPS)


def measure(animator, portrait, frames: int, chunk: int, sync=None) -> dict:
    start = time.perf_counter()
    animator.source(portrait)
    if sync:
        sync()
    source_ms = (time.perf_counter() - start) * 1000
    controls = talking_controls(frames)
    warm = Controls(controls.values[: min(frames, chunk)].copy(), FPS)
    for _ in animator.frames(portrait, warm, chunk=chunk):
        pass
    start = time.perf_counter()
    produced = 0
    for c in animator.frames(portrait, controls, chunk=chunk):
        produced += c.shape[0]
    if sync:
        sync()
    wall = time.perf_counter() - start
    assert produced == frames
    return {
        "frames": frames,
        "source_ms": round(source_ms, 1),
        "ms_per_frame": round(wall * 1000 / frames, 1),
        "total_s": round(wall, 2),
        "fps": round(frames / wall, 2),
    }


def run(quick: bool = False) -> dict:
    import torch

    from vortex.animators.liveportrait.animator import LivePortraitAnimator

    portrait = draw_portrait("a woman with long dark hair", seed=7, size=SIZE)
    result: dict = {"size": SIZE}
    threads = torch.get_num_threads()
    nets, label = networks("cpu")
    result["weights"] = label
    with torch.no_grad():
        cpu = measure(LivePortraitAnimator(nets, batch_size=2), portrait, 2 if quick else 6, chunk=2)
    result["cpu_float32"] = {**cpu, "threads": threads, "peak_rss_mb": peak_rss_mb()}
    del nets
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats()
        gpu_nets, _ = networks("cuda")
        torch.cuda.synchronize()
        loaded = torch.cuda.memory_allocated()
        batch = 8  # the animator's default
        with torch.no_grad():
            gpu = measure(
                LivePortraitAnimator(gpu_nets, batch_size=batch), portrait, 120 if quick else 1080, chunk=48,
                sync=torch.cuda.synchronize,
            )
        result["cuda_fp16"] = {
            **gpu,
            "gpu": torch.cuda.get_device_name(0),
            "batch_size": batch,
            "vram_networks_mb": round(loaded / 2**20, 1),
            "vram_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
        }
    else:
        result["cuda_fp16"] = "no CUDA device on this machine; GPU numbers pending a GPU run"
    return result


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
