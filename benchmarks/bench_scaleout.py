"""Scale-out on Ray: the same batch of slots rendered by 1 and then 2 Ray worker processes on this
machine, measured in one run.

Each worker is a Ray actor with one resident pipeline reserving one CPU (``RayExecutor``, as
``vortex serve --executor ray`` uses it); all slots are submitted at once and the executor hands
them to free workers. Reported per worker count: the workers' start (models loading), wall time
for the batch, throughput (slots per hour and seconds of video per wall second), latency from
submit to done (p50/p95) and the workers' peak RSS; ``speedup`` is 2 workers over 1. The
README's projection per node is computed from these figures (the arithmetic is shown there).

``--quick``: 4 slots of 3 s at 256 px; the full run: 6 slots of 10 s at 512 px. A local Ray
instance is started for the run (``ray.init``) and shut down at its end.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import SCRIPTS  # noqa: E402 - the same news lines as the service benchmark
from common import emit, percentiles  # noqa: E402

OPTIONS = {"animator": "warp", "actor": "procedural", "speech": "kokoro-onnx"}


def recipes(quick: bool) -> list[dict]:
    n, seconds, size = (4, 3, 256) if quick else (6, 10, 512)
    return [{"audio_track": {"script": SCRIPTS[i % len(SCRIPTS)], "voice_id": "jf_alpha"},
             "visual_track": {"prompt": "news anchor, suit, studio"},
             "slot": {"duration_sec": seconds, "fps": 24, "size": size, "seed": i}} for i in range(n)]


class _WorkersRss:
    """Peak resident memory of the executor's worker processes (psutil, every 100 ms)."""

    def __init__(self, executor) -> None:
        self._executor = executor
        self.peak_mb: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(0.1):
            for worker in self._executor.describe_workers():
                try:
                    rss = psutil.Process(worker["pid"]).memory_info().rss / 2**20
                except (psutil.NoSuchProcess, ValueError):
                    continue
                self.peak_mb[worker["name"]] = max(self.peak_mb.get(worker["name"], 0.0), rss)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {name: round(mb, 1) for name, mb in self.peak_mb.items()}


async def _batch(executor, batch: list[dict]) -> tuple[float, list[float], list[str]]:
    from vortex.service.executor import RenderJob

    started = time.perf_counter()
    latencies: list[float] = []
    workers: list[str] = []

    async def one(i: int, recipe: dict) -> None:
        outcome = await executor.submit(RenderJob(f"slot{i}", recipe), lambda p: None)
        if not outcome.success:
            raise RuntimeError(f"slot {i} failed: {outcome.error}")
        latencies.append(time.perf_counter() - started)
        workers.append(outcome.worker)

    await asyncio.gather(*(one(i, r) for i, r in enumerate(batch)))
    return time.perf_counter() - started, latencies, workers


def measure(workers: int, batch: list[dict]) -> dict:
    from vortex.cluster.executor import RayExecutor

    executor = RayExecutor("auto", workers=workers, num_cpus=1, pipeline_options=OPTIONS)
    loop = asyncio.new_event_loop()
    try:
        t0 = time.perf_counter()
        loop.run_until_complete(executor.start())
        start_s = time.perf_counter() - t0
        sampler = _WorkersRss(executor)
        wall, latencies, made_by = loop.run_until_complete(_batch(executor, batch))
        peak = sampler.stop()
    finally:
        loop.run_until_complete(executor.close())
        loop.close()
    video_s = sum(r["slot"]["duration_sec"] for r in batch)
    return {
        "workers": workers,
        "start_s": round(start_s, 2),
        "wall_s": round(wall, 2),
        "slots_per_hour": round(len(batch) / wall * 3600, 1),
        "video_s_per_wall_s": round(video_s / wall, 3),
        "latency_s": percentiles(latencies, 2),
        "slots_per_worker": {name: made_by.count(name) for name in sorted(set(made_by))},
        "worker_peak_rss_mb": peak,
    }


def run(quick: bool = False) -> dict:
    import ray

    batch = recipes(quick)
    slot = batch[0]["slot"]
    load_before = os.getloadavg()[0]
    # A local Ray instance with as many CPUs as this machine: 1 or 2 one-CPU workers fit.
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, namespace="vortex", logging_level="WARNING",
             log_to_driver=False)
    try:
        one = measure(1, batch)
        two = measure(2, batch)
    finally:
        ray.shutdown()
    return {
        "benchmark": "scaleout",
        "slots": len(batch),
        "slot": {"duration_s": slot["duration_sec"], "size": slot["size"], "fps": slot["fps"]},
        "one_worker": one,
        "two_workers": two,
        "speedup": round(two["slots_per_hour"] / one["slots_per_hour"], 3),
        "load_avg_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
