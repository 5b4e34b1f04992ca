"""MP4 encoding speed: frames from memory into H.264 + AAC through ``Mp4Writer``.

A 45-second slot is 1080 frames of 512x512; ``--quick`` encodes 240. The frames are a moving,
textured image (real photo content from scikit-image when available) so the encoder does real
work, not a flat colour it compresses for free.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb, percentiles  # noqa: E402

from vortex.media.video import Mp4Writer  # noqa: E402

FPS = 24
SIZE = 512


DISTINCT = 48
"""Distinct frames held in memory and cycled, so peak RSS measures the encoder, not the input."""


def _frames(n: int) -> np.ndarray:
    try:
        from skimage import data

        base = data.astronaut()
    except Exception:  # scikit-image is a test extra; fall back to a textured pattern
        rng = np.random.default_rng(0)
        base = (rng.integers(0, 255, (SIZE, SIZE, 3))).astype(np.uint8)
    frames = np.empty((n, SIZE, SIZE, 3), np.uint8)
    for i in range(n):  # a slow drift and a changing patch, as a talking head has
        frames[i] = np.roll(base, (int(3 * np.sin(i / 12)), int(2 * np.cos(i / 17))), axis=(0, 1))
        frames[i, 300:360, 200:310] = (base[300:360, 200:310].astype(np.int16) * (0.6 + 0.4 * np.sin(i / 3))).astype(np.uint8)
    return frames


def run(quick: bool = False) -> dict:
    n = 240 if quick else 1080
    repeats = 3 if quick else 5
    frames = _frames(DISTINCT)
    audio = (0.1 * np.random.default_rng(1).standard_normal(n * 1000)).astype(np.float32)
    samples = []
    size_bytes = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.mp4"
        for i in range(repeats + 1):
            start = time.perf_counter()
            with Mp4Writer(out, FPS, SIZE, audio=audio) as sink:
                for c in range(0, n, 24):
                    sink.write(frames[c % DISTINCT : c % DISTINCT + 24])
            elapsed = time.perf_counter() - start
            if i:  # the first run warms caches and is not counted
                samples.append(elapsed)
            size_bytes = out.stat().st_size
    stats = percentiles(samples)
    return {
        "benchmark": "encoding",
        "frames": n,
        "size": SIZE,
        "fps": FPS,
        "codec": "h264 crf20 veryfast yuv420p + aac 24k mono",
        "seconds": stats,
        "frames_per_s": round(n / stats["p50"], 1),
        "realtime_factor": round(stats["p50"] / (n / FPS), 4),
        "file_mb": round(size_bytes / 1e6, 2),
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
