"""Which device a slot runs on, and the memory watchers that guard it.

- ``choose_device("auto")`` picks CUDA only when an NVIDIA driver is present *and* torch sees a
  GPU; on a machine without a driver it never imports torch (importing it costs ~1 s and
  hundreds of MB, which the embedded CPU path does not need).
- ``VramMonitor`` enforces a soft and a hard VRAM limit on the CUDA path: above the soft limit it
  releases the allocator's cache and records a warning; the hard limit is handed to the CUDA
  caching allocator (``set_per_process_memory_fraction``) and checked between chunks, so a slot
  fails with ``CudaOutOfMemoryError`` instead of taking the GPU from its neighbours.
  On CPU it is a no-op that says so.
- ``RssSampler`` measures a slot's own peak resident memory (``ru_maxrss`` is per process and
  never goes down, so it cannot tell one slot from the next).
- ``is_cuda_oom`` recognises out-of-memory errors from torch and ONNX Runtime's CUDA provider.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import threading
from dataclasses import dataclass

from vortex.errors import CudaOutOfMemoryError, InvalidInputError

MB = 1024 * 1024


def nvidia_driver_present() -> bool:
    return os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None


def _cuda_torch():
    """torch when it is installed and sees a GPU, else None (never imports torch without a driver)."""
    if not nvidia_driver_present():
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cpu" or "cuda"
    name: str
    total_memory_mb: float | None = None

    def describe(self) -> str:
        if self.kind == "cuda":
            return f"cuda: {self.name}, {self.total_memory_mb:.0f} MB"
        return f"cpu: {self.name}, {os.cpu_count()} cores"


def choose_device(requested: str = "auto") -> DeviceInfo:
    """``auto`` -> CUDA when usable, else CPU; ``cuda`` without a usable GPU is an input error."""
    if requested not in ("auto", "cpu", "cuda"):
        raise InvalidInputError(f"unknown device {requested!r}; choose auto, cpu or cuda")
    if requested in ("auto", "cuda"):
        torch = _cuda_torch()
        if torch is not None:
            props = torch.cuda.get_device_properties(0)
            return DeviceInfo("cuda", props.name, props.total_memory / MB)
        if requested == "cuda":
            raise InvalidInputError("device cuda requested but no CUDA GPU is usable (needs an NVIDIA driver and torch with CUDA)")
    return DeviceInfo("cpu", _cpu_name())


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


TRANSIENT_ERRNOS = frozenset({errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.ETIMEDOUT, errno.ESTALE})
"""OS errors worth another try: a busy or stalled file (weights on a network mount), an interrupted read."""


def is_transient(exc: BaseException) -> bool:
    """True for failures that can pass by themselves: a GPU another process holds ("busy or
    unavailable"), a busy, stalled or interrupted file read. Never invalid input or missing files."""
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return True
    return "CUDA" in str(exc) and "busy or unavailable" in str(exc)


def is_cuda_oom(exc: BaseException) -> bool:
    """True for torch's CUDA OOM and ONNX Runtime's CUDA allocation failures."""
    if isinstance(exc, CudaOutOfMemoryError):
        return True
    torch = sys.modules.get("torch")
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch else None
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    text = str(exc)
    return "CUDA out of memory" in text or ("CUDA" in text and "Failed to allocate memory" in text)


class VramMonitor:
    """Soft/hard VRAM limits (MB) for the CUDA path; a described no-op on CPU.

    Default limits: soft at 85% and hard at 95% of the GPU's memory.
    """

    def __init__(self, device: DeviceInfo, soft_limit_mb: float | None = None, hard_limit_mb: float | None = None) -> None:
        self.device = device
        self.warnings: list[str] = []
        self._torch = _cuda_torch() if device.kind == "cuda" else None
        if self._torch is None:
            self.soft_limit_mb = self.hard_limit_mb = None
            return
        total = device.total_memory_mb or self._torch.cuda.get_device_properties(0).total_memory / MB
        self.total_mb = total
        self.soft_limit_mb = soft_limit_mb if soft_limit_mb is not None else 0.85 * total
        self.hard_limit_mb = hard_limit_mb if hard_limit_mb is not None else 0.95 * total
        if not 0 < self.soft_limit_mb <= self.hard_limit_mb:
            raise InvalidInputError(f"VRAM limits need 0 < soft <= hard, got soft={self.soft_limit_mb} hard={self.hard_limit_mb}")
        self._soft_warned = False

    @property
    def active(self) -> bool:
        return self._torch is not None

    def describe(self) -> str:
        if not self.active:
            return f"{self.device.describe()}; no VRAM limits apply (CPU path)"
        return f"{self.device.describe()}; VRAM soft limit {self.soft_limit_mb:.0f} MB, hard limit {self.hard_limit_mb:.0f} MB"

    def arm(self) -> None:
        """Give the hard limit to the caching allocator and reset the peak counter."""
        if not self.active:
            return
        torch = self._torch
        torch.cuda.set_per_process_memory_fraction(min(1.0, self.hard_limit_mb / self.total_mb), 0)
        torch.cuda.reset_peak_memory_stats(0)

    def used_mb(self) -> float:
        return self._torch.cuda.memory_reserved(0) / MB if self.active else 0.0

    def check(self) -> None:
        """Between chunks: above soft, release the cache (warn once); above hard, fail as OOM."""
        if not self.active:
            return
        used = self.used_mb()
        if used > self.hard_limit_mb:
            raise CudaOutOfMemoryError(
                f"CUDA out of memory: {used:.0f} MB reserved passed the hard VRAM limit of {self.hard_limit_mb:.0f} MB; "
                "use a smaller --size or the warp animator"
            )
        if used > self.soft_limit_mb:
            self._torch.cuda.empty_cache()
            if not self._soft_warned:
                self._soft_warned = True
                self.warnings.append(f"VRAM use {used:.0f} MB passed the soft limit of {self.soft_limit_mb:.0f} MB; released cached memory")

    def peak_mb(self) -> float | None:
        if not self.active:
            return None
        return round(self._torch.cuda.max_memory_allocated(0) / MB, 1)


class RssSampler:
    """Samples this process's resident memory on a daemon thread; ``peak_mb`` after ``stop``."""

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.peak_bytes = 0

    def _sample(self) -> None:
        rss = self._process.memory_info().rss
        if rss > self.peak_bytes:
            self.peak_bytes = rss

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def start(self) -> "RssSampler":
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="vortex-rss", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        return self.peak_mb

    def cancel(self) -> None:
        """Stop sampling without waiting for the sampler thread (a stopping slot does not need
        its peak, and the wait for a thread that needs the GIL took 0.1 s and more under load)."""
        self._stop.set()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_bytes / MB, 1)

    def __enter__(self) -> "RssSampler":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
