"""LivePortrait animator speed: ms/frame at 512x512 on CPU (float32) and, when present, CUDA (FP16).

Uses the official weights when they are installed (``models_dir()/liveportrait``); otherwise the
closed-form recipe weights of ``shared/liveportrait`` (``vortex.animators.liveportrait.recipe``):
speed does not depend on weight values, only the pictures do. The GPU figures the issue asks for
(FP32 and FP16, compile, CUDA graphs, VRAM) are ``python -m vortex.devicecheck``.

* CPU: a few frames (2 quick, 6 full) of a 512x512 procedural portrait, batch 2, after one warm-up
  frame; the one-off source step (appearance + motion extractor) is timed separately.
* CUDA: 1080 frames (120 quick) in FP16, batched, with the VRAM of the loaded networks
  (``torch.cuda.memory_allocated``) and the peak during animation (``max_memory_allocated``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb  # noqa: E402

from vortex.actors.procedural import draw_portrait  # noqa: E402
from vortex.animators.liveportrait import loader  # noqa: E402
from vortex.devicecheck.steps import talking_controls  # noqa: E402
from vortex.motion.controls import Controls  # noqa: E402

SIZE = 512
FPS = 24


def networks(device: str):
    """Official weights when installed, else the shared recipe's networks; returns (networks, weights label)."""
    if not loader.missing_files():
        return loader.load_networks(device=device), "official"
    from vortex.animators.liveportrait.recipe import golden_dir, recipe_networks

    return recipe_networks(device), f"recipe ({golden_dir()}; no official weights installed)"


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
