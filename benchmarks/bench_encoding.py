"""Encoding cost of the streaming sinks: frames from memory into the MP4 writer, the HLS sink, and both.

A 45-second slot is 1080 frames of 512x512; ``--quick`` encodes 240. The frames are a moving,
textured image (real photo content from scikit-image when available) so the encoder does real
work, not a flat colour it compresses for free. Audio is fed in 1-second pieces ahead of the
frames, as the speech stage does.

Reported per sink: wall seconds (p50/p95) and CPU milliseconds per frame (process CPU time, all
threads: x264 runs two), the frames/s that gives, and a split of one run into the parts the
profile shows (x264, AAC, RGB->YUV conversion and frame wrapping), so waste is visible. CPU time,
unlike wall time, is fairly stable on a machine shared with other jobs; the load is reported.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb, percentiles  # noqa: E402

from vortex.media.hls import HlsSink  # noqa: E402
from vortex.media.video import Mp4Writer  # noqa: E402

FPS = 24
SIZE = 512
SAMPLE_RATE = 24_000

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


def _open(kind: str, folder: Path) -> list:
    sinks = []
    if "mp4" in kind:
        sinks.append(Mp4Writer(folder / "bench.mp4", FPS, SIZE))
    if "hls" in kind:
        sinks.append(HlsSink(folder / "hls", FPS, SIZE))
    return sinks


def _encode(kind: str, folder: Path, frames: np.ndarray, audio: np.ndarray, n: int) -> int:
    """One slot's worth of frames into the sinks; returns the bytes written."""
    for path in (folder / "bench.mp4", folder / "hls"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    sinks = _open(kind, folder)
    for c in range(0, n, FPS):
        for sink in sinks:
            sink.write_audio(audio[c * 1000 : (c + FPS) * 1000])
            sink.write(frames[c % DISTINCT : c % DISTINCT + FPS])
    for sink in sinks:
        sink.close()
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


PARTS = {
    "x264": "{method 'encode' of 'av.video.stream.VideoStream' objects}",
    "aac": "{method 'encode' of 'av.audio.stream.AudioStream' objects}",
    "rgb_to_yuv": "{cvtColor}",
    "frame_wrap": "{av.video.frame.from_ndarray}",
    "mux": "{method 'mux' of 'av.container.output.OutputContainer' objects}",
}


def _profile_split(kind: str, folder: Path, frames: np.ndarray, audio: np.ndarray, n: int) -> dict:
    """CPU milliseconds per frame in each part: one run under cProfile timed by process CPU time,
    so x264's worker threads count towards the calls during which they ran."""
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    _encode(kind, folder, frames, audio, n)
    profile.disable()
    stats = pstats.Stats(profile).stats
    by_name = {pstats.func_std_string(key): value for key, value in stats.items()}
    return {part: round(by_name[name][2] * 1000 / n, 3) if name in by_name else 0.0 for part, name in PARTS.items()}


def run(quick: bool = False) -> dict:
    n = 240 if quick else 1080
    repeats = 3 if quick else 5
    frames = _frames(DISTINCT)
    audio = (0.1 * np.random.default_rng(1).standard_normal(n * 1000)).astype(np.float32)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind in ("mp4", "hls", "mp4+hls"):
            walls, cpus, size_bytes = [], [], 0
            for i in range(repeats + 1):
                w0, c0 = time.perf_counter(), time.process_time()
                size_bytes = _encode(kind, folder, frames, audio, n)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                if i:  # the first run warms caches and is not counted
                    walls.append(wall)
                    cpus.append(cpu * 1000 / n)
            wall_stats, cpu_stats = percentiles(walls), percentiles(cpus)
            results[kind] = {
                "wall_seconds": wall_stats,
                "cpu_ms_per_frame": cpu_stats,
                "frames_per_s": round(n / wall_stats["p50"], 1),
                "realtime_factor": round(wall_stats["p50"] / (n / FPS), 4),
                "output_mb": round(size_bytes / 1e6, 2),
                "profile_cpu_ms_per_frame": _profile_split(kind, folder, frames, audio, n),
            }
    return {
        "benchmark": "encoding",
        "frames": n,
        "size": SIZE,
        "fps": FPS,
        "codec": "h264 crf20 veryfast yuv420p + aac 24k mono; hls: 2 s mpegts segments, fixed GOP",
        "sinks": results,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
