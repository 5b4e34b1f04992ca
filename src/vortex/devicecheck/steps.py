"""The device check's measurements. Each takes the run's context (device, frames, budget) and
returns a JSON-ready dict; the same functions run on the CPU (a few frames, what CI checks) and on
CUDA (the 1080-frame slot), so the GPU path is the code the CPU run has already exercised."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from vortex.devicecheck.runner import Step
from vortex.motion.controls import CHANNEL_INDEX, Controls

SIZE = 512
FPS = 24
MB = 1024 * 1024


def talking_controls(frames: int, fps: int = FPS) -> Controls:
    """A synthetic talking head: jaw at 3 Hz, slow head sway, a blink every 4 s, a light smile."""
    t = np.arange(frames) / fps
    values = np.zeros((frames, len(CHANNEL_INDEX)), np.float32)
    values[:, CHANNEL_INDEX["jaw_open"]] = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
    values[:, CHANNEL_INDEX["head_yaw"]] = 6 * np.sin(2 * np.pi * 0.2 * t)
    values[:, CHANNEL_INDEX["head_pitch"]] = 3 * np.sin(2 * np.pi * 0.13 * t)
    blink = (np.arange(frames) % (4 * fps)) < 4
    values[blink, CHANNEL_INDEX["blink_l"]] = 1.0
    values[blink, CHANNEL_INDEX["blink_r"]] = 1.0
    values[:, CHANNEL_INDEX["smile"]] = 0.3
    return Controls(values, fps)


def _portrait():
    from vortex.actors.procedural import draw_portrait

    return draw_portrait("a woman with long dark hair, studio", seed=7, size=SIZE)


def _sync(device: str):
    if device == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


def _difference(a: np.ndarray, b: np.ndarray) -> dict:
    """Frame difference in grey levels (uint8 frames)."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return {"mean": round(float(diff.mean()), 4), "p99": float(np.percentile(diff, 99)), "max": int(diff.max())}


def _render(animator, portrait, controls: Controls, chunk: int, device: str, keep: int) -> tuple[dict, np.ndarray]:
    """Time all of ``controls`` (on CUDA after one warm-up batch: lazy initialisation and cuDNN's
    algorithm search are not per-frame costs); returns figures and the first ``keep`` frames."""
    sync = _sync(device)
    if device == "cuda":
        warm = Controls(controls.values[: min(controls.frames, getattr(animator, "batch_size", chunk))].copy(), controls.fps)
        for _ in animator.frames(portrait, warm, chunk=chunk):
            pass
        sync()
    kept, produced = [], 0
    start = time.perf_counter()
    for frames in animator.frames(portrait, controls, chunk=chunk):
        if produced < keep:
            kept.append(frames[: keep - produced])
        produced += frames.shape[0]
    sync()
    wall = time.perf_counter() - start
    figures = {"frames": produced, "ms_per_frame": round(wall * 1000 / produced, 2), "fps": round(produced / wall, 1),
               "total_s": round(wall, 2)}
    return figures, np.concatenate(kept)


# --- LivePortrait --------------------------------------------------------------------------------


def liveportrait(context: dict) -> dict:
    """FP32 (and on CUDA FP16) over the slot's frames with recipe weights: speed, VRAM, FP16 error,
    and batched-vs-frame-by-frame agreement."""
    import torch

    from vortex.animators.liveportrait.animator import LivePortraitAnimator
    from vortex.animators.liveportrait.recipe import golden_dir, recipe_networks

    device, frames = context["device"], context["frames"]
    portrait, controls = _portrait(), talking_controls(frames)
    batch = 8 if device == "cuda" else 2
    keep = min(frames, 48)
    out: dict = {"weights": f"recipe ({golden_dir()})", "size": SIZE, "batch_size": batch}
    dtypes = {"fp32": torch.float32, "fp16": torch.float16} if device == "cuda" else {"fp32": torch.float32}
    kept: dict[str, np.ndarray] = {}
    for label, dtype in dtypes.items():
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        nets = recipe_networks(device, dtype=dtype)
        loaded_mb = torch.cuda.memory_allocated() / MB if device == "cuda" else None
        animator = LivePortraitAnimator(nets, batch_size=batch)
        t0 = time.perf_counter()
        animator.source(portrait)
        _sync(device)()
        source_ms = (time.perf_counter() - t0) * 1000
        with torch.no_grad():
            figures, kept[label] = _render(animator, portrait, controls, chunk=48 if device == "cuda" else batch,
                                           device=device, keep=keep)
        figures["source_ms"] = round(source_ms, 1)
        if device == "cuda":
            figures["vram_networks_mb"] = round(loaded_mb, 1)
            figures["vram_peak_mb"] = round(torch.cuda.max_memory_allocated() / MB, 1)
        out[label] = figures
        if label == "fp32" or device == "cuda":
            # Batched against frame by frame, on a few frames: the batching changes rounding only.
            # On the CPU one frame of the batch is enough (each LivePortrait frame costs seconds there).
            few = Controls(controls.values[: min(frames, batch if device == "cuda" else 1)].copy(), controls.fps)
            alone = np.concatenate(list(animator.frames(portrait, few, chunk=1)))  # chunks of one: one frame a call
            out[f"{label}_batched_vs_single"] = {"frames": few.frames, **_difference(kept[label][: few.frames], alone)}
        del nets, animator
    if "fp16" in kept:
        out["fp16_vs_fp32"] = {"frames": keep, **_difference(kept["fp16"], kept["fp32"])}
    return out


def liveportrait_compiled(context: dict) -> dict:
    """FP16 with ``torch.compile`` (default mode) and with CUDA graphs (``reduce-overhead``)."""
    import torch

    from vortex.animators.liveportrait.animator import LivePortraitAnimator
    from vortex.animators.liveportrait.config import RuntimeConfig
    from vortex.animators.liveportrait.recipe import recipe_networks

    device, frames, budget = context["device"], context["frames"], context["budget"]
    portrait, controls = _portrait(), talking_controls(frames)
    nets = recipe_networks(device, dtype=torch.float16)
    keep = min(frames, 48)
    with torch.no_grad():
        _, eager = _render(LivePortraitAnimator(nets, batch_size=8), portrait, Controls(controls.values[:keep].copy(), FPS),
                           chunk=48, device=device, keep=keep)
    out: dict = {}
    for label, mode in (("compile_default", "default"), ("cuda_graphs", "reduce-overhead")):
        if budget.left() < 150:
            out[label] = {"status": "skipped", "reason": f"time budget: {budget.left():.0f} s left"}
            continue
        t0 = time.perf_counter()
        animator = LivePortraitAnimator(nets, runtime=RuntimeConfig(batch_size=8, compile_mode=mode))
        with torch.no_grad():
            figures, frames_kept = _render(animator, portrait, controls, chunk=48, device=device, keep=keep)
        figures["compile_and_warmup_s"] = round(time.perf_counter() - t0 - figures["total_s"], 1)
        out[label] = {**figures, "vs_eager": _difference(frames_kept, eager)}
    return out


# --- warp ----------------------------------------------------------------------------------------


def warp(context: dict) -> dict:
    """The embedded warp (OpenCV, CPU) and its torch path on the device: ms/frame at 512 px."""
    from vortex.animators.warp import WarpAnimator
    from vortex.animators.warp.torch_backend import TorchWarpAnimator

    device = context["device"]
    portrait = _portrait()
    frames = 240 if device == "cuda" else 12
    controls = talking_controls(frames)
    numpy_figures, reference = _render(WarpAnimator(), portrait, controls, chunk=24, device="cpu", keep=12)
    torch_figures, frames_kept = _render(TorchWarpAnimator(device=device), portrait, controls, chunk=24, device=device, keep=12)
    return {"opencv_cpu": numpy_figures, f"torch_{device}": torch_figures,
            "torch_vs_opencv": _difference(frames_kept, reference)}


# --- Flux ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_hugging_face():
    """No loading bars or prompt-truncation notes on stderr (the check's stderr is its one line)."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    saved = diffusers_logging.get_verbosity(), transformers_logging.get_verbosity()
    for module in (diffusers_logging, transformers_logging):
        module.set_verbosity_error()
        module.disable_progress_bar()
    try:
        yield
    finally:
        for module, level in zip((diffusers_logging, transformers_logging), saved):
            module.set_verbosity(level)
            module.enable_progress_bar()


def flux_tiny(context: dict) -> dict:
    """The tiny random FluxPipeline through the production loader and call (4 steps, 512 px)."""
    import torch

    from vortex.actors.flux import FluxActor, FluxOptions, load_pipeline
    from vortex.actors.flux_tiny import tiny_pipeline

    device = context["device"]
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with _quiet_hugging_face(), tempfile.TemporaryDirectory() as folder:
        tiny_pipeline().save_pretrained(folder)
        options = FluxOptions(device=device, max_sequence_length=64)
        pipe, info = load_pipeline(folder, options)
        actor = FluxActor(pipe, options, info)
        if device == "cuda":  # kernels load and autotune on the first call
            actor.generate("an old man with red hair", seed=1)
            _sync(device)()
        t0 = time.perf_counter()
        image = actor.generate("an old man with red hair", seed=3)
        _sync(device)()
        seconds = time.perf_counter() - t0
        again = actor.generate("an old man with red hair", seed=3)
    return {**info, "image": list(image.shape), "seconds_per_image": round(seconds, 3), "same_seed_same_image":
            bool(np.array_equal(image, again)), "vram_peak_mb": round(torch.cuda.max_memory_allocated() / MB, 1)
            if device == "cuda" else None}


# --- VRAM monitor --------------------------------------------------------------------------------


def vram_monitor(context: dict) -> dict:
    """Cross the soft limit (warning, cache released), then the hard one (CudaOutOfMemoryError), then
    let the armed allocator refuse an allocation; on CPU, the monitor's no-op description."""
    from vortex.devices import VramMonitor, choose_device, is_cuda_oom
    from vortex.errors import CudaOutOfMemoryError

    device = choose_device(context["device"])
    if device.kind != "cuda":
        monitor = VramMonitor(device)
        return {"active": monitor.active, "describe": monitor.describe()}
    import torch

    monitor = VramMonitor(device, soft_limit_mb=64, hard_limit_mb=256)
    out: dict = {"active": monitor.active, "soft_limit_mb": 64, "hard_limit_mb": 256}
    block = torch.empty(100 * MB, dtype=torch.uint8, device="cuda")
    monitor.check()
    out["soft_warning"] = monitor.warnings[0] if monitor.warnings else None
    big = torch.empty(200 * MB, dtype=torch.uint8, device="cuda")
    try:
        monitor.check()
        out["hard_limit_error"] = None
    except CudaOutOfMemoryError as exc:
        out["hard_limit_error"] = str(exc)
    del block, big
    torch.cuda.empty_cache()
    monitor.arm()
    try:
        torch.empty(300 * MB, dtype=torch.uint8, device="cuda")
        out["allocator_refused"] = False
    except Exception as exc:  # noqa: BLE001 - what torch raises is the finding
        out["allocator_refused"] = is_cuda_oom(exc)
    finally:
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
    if not (out["soft_warning"] and out["hard_limit_error"] and out["allocator_refused"]):
        raise AssertionError(f"a VRAM limit did not act: {out}")
    return out


# --- CUDA tests ----------------------------------------------------------------------------------


def repository_root() -> Path | None:
    """The checkout holding ``tests/`` (when running from one), else None."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "tests").is_dir() and (root / "pyproject.toml").is_file() else None


def cuda_tests(context: dict) -> dict:
    """``pytest -m cuda`` in the checkout, counted from its JUnit report."""
    root = repository_root()
    if root is None:
        return {"status": "skipped", "reason": "no tests/ folder (not run from a checkout)"}
    timeout = max(30.0, min(240.0, context["budget"].left() - 150))
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", "tests"]
        done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
        suites = ElementTree.parse(report).getroot() if report.is_file() else None
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    failed = []
    if suites is not None:
        for suite in suites.iter("testsuite"):
            for key in counts:
                counts[key] += int(suite.get(key, 0))
        for case in suites.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(f"{case.get('classname')}::{case.get('name')}")
    if done.returncode not in (0, 5) or failed:  # 5: nothing collected
        raise AssertionError(f"CUDA tests failed ({done.returncode}): {failed or done.stdout[-2000:]}")
    return {**counts, "passed": counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]}


# --- plans ---------------------------------------------------------------------------------------


def gpu_plan(run_tests: bool = True) -> list[Step]:
    """On CUDA, most important first: the slot figures, then the other paths, then the options."""
    plan = [
        Step("vram_monitor", vram_monitor, 5),
        Step("liveportrait", liveportrait, 60),
        Step("warp", warp, 20),
        Step("flux_tiny", flux_tiny, 30),
    ]
    if run_tests:
        plan.append(Step("cuda_tests", cuda_tests, 60))
    plan.append(Step("liveportrait_compiled", liveportrait_compiled, 150))
    return plan


def cpu_plan() -> list[Step]:
    """Without a GPU: the same code on the CPU at a few frames (estimates are for a busy 2-core box)."""
    return [
        Step("vram_monitor", vram_monitor, 0),
        Step("liveportrait", liveportrait, 30),
        Step("warp", warp, 5),
        Step("flux_tiny", flux_tiny, 10),
    ]
