"""Runs the device check's steps under a time budget and gathers one JSON-ready document."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Callable

from vortex.devices import choose_device, nvidia_driver_present

GPU_FIGURES = (
    "liveportrait fp32 and fp16 ms/frame at 512 px over 1080 frames (cuda)",
    "liveportrait peak VRAM (cuda)",
    "liveportrait fp16 vs fp32 frame difference",
    "liveportrait torch.compile and CUDA graphs ms/frame",
    "warp torch path ms/frame on cuda",
    "tiny Flux pipeline on cuda",
    "VRAM monitor soft and hard limits on cuda",
    "CUDA tests (pytest -m cuda)",
)
"""What only a GPU run can measure: listed as ``unmeasured`` when the check runs without one."""


@dataclass
class Budget:
    """Seconds left of the check's allowance (started when the shell script started, if it says so)."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)


@dataclass(frozen=True)
class Step:
    """One measurement: ``run(context)`` returns a dict; ``estimate_s`` is what it needs to start."""

    name: str
    run: Callable[[dict], dict]
    estimate_s: float


def gpu_info() -> dict | None:
    """Name, driver and memory from nvidia-smi and torch; None without a usable NVIDIA GPU."""
    device = choose_device("auto")
    if device.kind != "cuda":
        return None
    import torch

    info = {"name": device.name, "memory_mb": round(device.total_memory_mb or 0), "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20)
        info["driver"] = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        info["driver"] = None
    return info


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def no_gpu_reason() -> str:
    if not nvidia_driver_present():
        return "no NVIDIA driver (no /proc/driver/nvidia/version, no nvidia-smi)"
    try:
        import torch
    except ImportError:
        return "an NVIDIA driver but no torch (pip install 'vortex[torch]')"
    if torch.version.cuda is None:
        return f"an NVIDIA driver but torch {torch.__version__} is a CPU build"
    return "torch cannot use the GPU (torch.cuda.is_available() is False)"


def run_steps(steps: list[Step], context: dict, budget: Budget, log=None) -> dict[str, dict]:
    """Each step in order, timed; a failure is recorded with its error and the next step runs."""
    results: dict[str, dict] = {}
    for step in steps:
        if budget.left() < step.estimate_s:
            results[step.name] = {"status": "skipped", "reason": f"time budget: {budget.left():.0f} s left, needs about "
                                                                  f"{step.estimate_s:.0f} s"}
            continue
        t0 = time.monotonic()
        try:
            result = {"status": "ok", **step.run(context)}
        except Exception as exc:  # noqa: BLE001 - recorded in the report; the check goes on
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                      "where": traceback.format_exc(limit=-3).strip().splitlines()[-3:]}
        result["seconds"] = round(time.monotonic() - t0, 2)
        results[step.name] = result
        if log is not None:
            log(f"{step.name}: {result['status']} in {result['seconds']} s")
    return results


def run_check(budget_s: float = 450.0, frames: int = 1080, run_tests: bool = True, log=None) -> dict:
    """The whole check; returns the document (``ok`` is False when any step failed)."""
    from vortex.devicecheck import steps

    budget = Budget(budget_s)
    gpu = gpu_info()
    context = {"device": "cuda" if gpu else "cpu", "frames": frames if gpu else 2, "budget": budget}
    plan = steps.gpu_plan(run_tests) if gpu else steps.cpu_plan()
    with warnings.catch_warnings(record=True) as caught:  # into the document, not onto stderr
        warnings.simplefilter("always")
        results = run_steps(plan, context, budget, log)
    document = {
        "vortex_devicecheck": 1,
        "gpu": gpu,
        "no_gpu_reason": None if gpu else no_gpu_reason(),
        "machine": machine(),
        "python_executable": sys.executable,
        "budget_s": budget_s,
        "elapsed_s": round(time.monotonic() - budget.started, 1),
        "steps": results,
        "unmeasured": [] if gpu else list(GPU_FIGURES),
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }
    document["ok"] = all(r["status"] != "failed" for r in results.values())
    return document
