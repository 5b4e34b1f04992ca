"""Shared helpers for benchmark scripts: percentiles, peak memory and the machine's name.

Every benchmark module exposes ``run(quick: bool = False) -> dict`` and prints that dict as
JSON when run as a script; ``benchmarks/run.py`` gathers them into one document.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from typing import Callable, Sequence

import numpy as np


def percentiles(samples: Sequence[float], digits: int = 3) -> dict:
    arr = np.asarray(samples, dtype=np.float64)
    return {
        "n": int(arr.size),
        "p50": round(float(np.percentile(arr, 50)), digits),
        "p95": round(float(np.percentile(arr, 95)), digits),
        "p99": round(float(np.percentile(arr, 99)), digits),
        "mean": round(float(arr.mean()), digits),
    }


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Wall seconds of ``repeats`` calls after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "gpu": None}
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def emit(result: dict) -> None:
    json.dump({"machine": machine(), **result}, sys.stdout, indent=2)
    sys.stdout.write("\n")
