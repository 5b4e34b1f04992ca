"""Speech synthesis speed: real-time factor of the embedded Kokoro-82M int8 ONNX backend.

A ~45-second English script (quick: two sentences, ~8 s) is synthesized with jf_alpha; the
real-time factor is synthesis seconds / audio seconds (lower is faster; target <= 0.3 on
2 CPU cores), p50/p95 over repeats after one warm-up call. The CPU seconds spent per audio
second are reported too: on a shared machine the wall RTF measures the load, CPU time does not. Also: session start time (model
already assembled in the cache), chunks per script and peak resident memory.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb, percentiles  # noqa: E402

from vortex.speech.kokoro_onnx import KokoroOnnxSpeech  # noqa: E402
from vortex.speech.kokoro_model import patched_model_path  # noqa: E402

SCRIPT = (
    "Welcome back to the show. Today we are talking about something that everybody uses and almost "
    "nobody understands: the humble battery. Inside every battery, two different materials are kept apart "
    "by a thin layer that only lets charged atoms through. When you connect a phone or a flashlight, "
    "electrons take the long way around, through the wires, and that flow is the electricity we use. "
    "Charging simply pushes everything back to where it started. Over time, tiny cracks and side reactions "
    "eat away at the materials, which is why an old phone dies before lunch. Keep your batteries cool, "
    "avoid draining them completely, and they will thank you with years of service. See you next time."
)
QUICK_SCRIPT = "Welcome back to the show. Today we are talking about the humble battery, and why it wears out."


def run(quick: bool = False) -> dict:
    patched_model_path()  # assemble once, outside the timings
    t0 = time.perf_counter()
    engine = KokoroOnnxSpeech()
    load_s = time.perf_counter() - t0
    text = QUICK_SCRIPT if quick else SCRIPT
    repeats = 1 if quick else 3
    engine.synthesize(text[:120])  # warm-up: first-run allocations
    rtfs, seconds, cpu_rtfs, audio_s, chunks = [], [], [], 0.0, 0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        speech = engine.synthesize(text)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        cpu_rtfs.append(cpu / speech.duration)
        audio_s, chunks = speech.duration, speech.metadata["chunks"]
        seconds.append(elapsed)
        rtfs.append(elapsed / speech.duration)
    return {
        "machine_note": "2-core shared dev box: timings under load are pessimistic",
        "voice": "jf_alpha",
        "audio_s": round(audio_s, 2),
        "chunks": chunks,
        "session_start_s": round(load_s, 3),
        "synthesis_s": percentiles(seconds),
        "rtf": percentiles(rtfs),
        "rtf_best": round(min(rtfs), 3),  # the least disturbed repeat on a shared machine
        "rtf_target": 0.3,
        # CPU seconds per audio second, all threads summed: barely affected by other processes
        # competing for the cores, so comparable across loaded runs (wall RTF on 2 idle cores
        # is about this divided by the 2 threads' parallel speed-up).
        "cpu_s_per_audio_s": percentiles(cpu_rtfs),
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
