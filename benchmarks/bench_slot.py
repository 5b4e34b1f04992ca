"""A whole slot end to end: recipe -> speech || actor -> motion -> animation -> MP4 on disk.

The full run is the network's slot: 45 s at 24 fps (1080 frames), 512x512, a script that fills
about 40 s with speech, a procedural actor and an expression sequence. ``--quick`` makes a
10-second slot. Backends load once (timed as ``load_s``) and stay resident, as in a server;
the slot is then timed per stage. Peak RSS is sampled during the slot (``slot_peak_rss_mb``)
and for the whole process (``process_peak_rss_mb``, ``ru_maxrss``).

Targets (2 CPU cores): whole slot <= 20 s wall (stretch 15 s), peak RSS <= 2 GB. ``cpu_s`` (all
threads' CPU seconds during the slot) and the 1-minute load average are printed too: on a shared
machine wall time mostly measures the neighbours, CPU time what the slot itself costs.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb  # noqa: E402

SCRIPT = (
    "Listen up, Morty, because I am only going to say this once. Science is not about why, it is about why not. "
    "Every time you ask a question, the universe gets a little bit bigger and a little bit stranger. "
    "Today we are going to build a portal gun out of a toaster, two spoons and a very confused hamster. "
    "Great, now we have to go to dimension thirty five C and apologise to a sentient pizza. "
    "That is the thing about science, Morty. Sometimes it explodes, and sometimes it orders takeout."
)
QUICK_SCRIPT = "Listen up, Morty. Science is not about why, it is about why not. Pack a sandwich, we leave in five minutes."
TARGET_WALL_S = 20.0
TARGET_RSS_MB = 2048.0


def run(quick: bool = False) -> dict:
    from vortex.pipeline import VortexPipeline

    duration = 10 if quick else 45
    recipe = {
        "slot_id": "bench",
        "audio_track": {"script": QUICK_SCRIPT if quick else SCRIPT, "voice_id": "rick_c137"},
        "visual_track": {"prompt": "old scientist, grey spiky hair, lab coat, laboratory",
                         "expression_sequence": ["neutral", "excited", "manic", "calm"]},
        "slot": {"duration_sec": duration, "fps": 24, "size": 512, "seed": 1},
    }
    started = time.perf_counter()
    # The embedded backends, pinned: this measures the CPU path whatever models this machine has.
    pipeline = VortexPipeline(animator="warp", actor="procedural", speech="kokoro-onnx").load()
    load_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "slot.mp4"
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = pipeline.generate_slot_sync(recipe, output=out)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        mp4_mb = out.stat().st_size / 2**20 if out.exists() else None
    result.raise_for_error()
    t = result.timings
    return {
        "backends": result.backends,
        "slot": {"duration_s": duration, "frames": result.frames, "fps": result.fps, "size": result.size,
                 "speech_s": result.speech_duration_sec, "mp4_mb": round(mp4_mb, 2) if mp4_mb else None,
                 "warnings": list(result.warnings)},
        "load_s": round(load_s, 3),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "stages_s": {k: t[k] for k in ("speech", "actor", "motion", "render_encode", "animation", "encode") if k in t},
        "ms_per_frame_render": round(1000 * t["animation"] / result.frames, 2),
        "realtime_factor": round(wall / duration, 3),
        "slot_peak_rss_mb": result.peak_rss_mb,
        "process_peak_rss_mb": peak_rss_mb(),
        "targets": {"wall_s": TARGET_WALL_S, "rss_mb": TARGET_RSS_MB,
                    "wall_met": wall <= TARGET_WALL_S if not quick else None,
                    "rss_met": result.peak_rss_mb <= TARGET_RSS_MB},
    }


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
