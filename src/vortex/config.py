"""Where Vortex keeps what it derives (assembled models) and where users put official weights."""

from __future__ import annotations

import os
from pathlib import Path

SAMPLE_RATE = 24_000
"""Every waveform inside Vortex is float32 mono at this rate (Kokoro's native rate)."""


def cache_dir() -> Path:
    """Derived files (the assembled Kokoro ONNX, ...): ``$VORTEX_CACHE_DIR`` or ``~/.cache/vortex``."""
    env = os.environ.get("VORTEX_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vortex"
    return base.expanduser()


def models_dir() -> Path:
    """Official weights the user downloads: ``$VORTEX_MODELS_DIR`` or ``<cache>/models``."""
    env = os.environ.get("VORTEX_MODELS_DIR")
    return Path(env).expanduser() if env else cache_dir() / "models"
