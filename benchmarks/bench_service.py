"""The service against one process per slot: N slots submitted at once to ``vortex serve`` vs. the
same N slots as sequential ``vortex generate`` processes, measured in one run.

What a director node gains from the resident service: models load once, and slots queue
instead of each paying a process start and a model load. Both sides render the same recipes
(same bytes; different seeds and scripts per slot) with the same worker count of rendering
at a time (``--workers 1``: the right setting for 2 cores). Reported per side: throughput
(seconds of video per wall second), latency from submit to done (p50/p95; for the processes,
from the batch start to each one's end, as a queue would see it) and peak RSS (the server
process; the largest single ``vortex generate``). ``ratio`` is service over processes.

``--quick``: 3 slots of 3 s at 256 px; the full run: 6 slots of 10 s at 512 px.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, percentiles  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [
    "Good evening, and welcome to the late news.",
    "Tonight, a comet was seen over the harbour.",
    "Traffic on the ring road is moving slowly.",
    "Tomorrow will be bright, with a light breeze.",
    "Our reporter spoke to the mayor this morning.",
    "And finally, a dog who learned to skateboard.",
]


def recipes(quick: bool) -> list[dict]:
    n, seconds, size = (3, 3, 256) if quick else (6, 10, 512)
    return [
        {
            "audio_track": {"script": SCRIPTS[i % len(SCRIPTS)], "voice_id": "jf_alpha"},
            "visual_track": {"prompt": "news anchor, suit, studio"},
            "slot": {"duration_sec": seconds, "fps": 24, "size": size, "seed": i},
        }
        for i in range(n)
    ]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


class _PeakRss:
    """Samples a process's resident memory every 50 ms (psutil), keeping the peak in MB."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)
            except Exception:  # noqa: BLE001 - the process ended
                return
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_mb, 1)


def run_processes(batch: list[dict], folder: Path) -> dict:
    latencies, peaks = [], []
    started = time.perf_counter()
    for i, recipe in enumerate(batch):
        path = folder / f"r{i}.json"
        path.write_text(json.dumps(recipe))
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vortex.cli",
                "generate",
                "--recipe",
                str(path),
                "-o",
                str(folder / f"p{i}.mp4"),
                "-q",
            ],
            env=_env(),
        )
        sampler = _PeakRss(process.pid)
        if process.wait() != 0:
            raise RuntimeError(f"vortex generate failed on recipe {i}")
        peaks.append(sampler.stop())
        latencies.append(time.perf_counter() - started)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 3), "latency_s": percentiles(latencies), "peak_rss_mb": max(peaks)}


def run_service(batch: list[dict], folder: Path) -> dict:
    import httpx

    log = open(folder / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "vortex.cli", "serve", "--port", "0", "--data", str(folder / "data"), "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(),
    )
    sampler = _PeakRss(server.pid)
    try:
        url = None
        while url is None:
            text = (folder / "server.log").read_text()
            if "serving on " in text:
                url = text.split("serving on ", 1)[1].split()[0]
            elif server.poll() is not None:
                raise RuntimeError(f"the server did not start:\n{text}")
            time.sleep(0.05)
        with httpx.Client(base_url=url, timeout=60) as http:
            load0 = time.perf_counter()
            while http.get("/readyz").status_code != 200:
                time.sleep(0.05)
            load_s = time.perf_counter() - load0
            started = time.perf_counter()
            ids = [http.post("/v1/slots", json=recipe).json()["id"] for recipe in batch]
            finished: dict[str, float] = {}
            while len(finished) < len(ids):
                for slot_id in ids:
                    if slot_id not in finished:
                        status = http.get(f"/v1/slots/{slot_id}").json()["status"]
                        if status == "done":
                            finished[slot_id] = time.perf_counter() - started
                        elif status in ("failed", "cancelled"):
                            raise RuntimeError(f"slot {slot_id} {status}")
                time.sleep(0.05)
            wall = time.perf_counter() - started
            same = all(
                http.get(f"/v1/slots/{slot_id}/video.mp4").content == (folder / f"p{i}.mp4").read_bytes()
                for i, slot_id in enumerate(ids)
            )
    finally:
        server.terminate()
        server.wait(60)
        log.close()
    return {
        "wall_s": round(wall, 3),
        "model_load_s": round(load_s, 3),
        "latency_s": percentiles(list(finished.values())),
        "peak_rss_mb": sampler.stop(),
        "same_bytes_as_generate": same,
    }


def run(quick: bool = False) -> dict:
    batch = recipes(quick)
    video_s = sum(r["slot"]["duration_sec"] for r in batch)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        load_before = os.getloadavg()[0]
        processes = run_processes(batch, folder)
        service = run_service(batch, folder)
        load_after = os.getloadavg()[0]
    for side in (processes, service):
        side["throughput_video_s_per_wall_s"] = round(video_s / side["wall_s"], 3)
    return {
        "slots": len(batch),
        "slot_s": batch[0]["slot"]["duration_sec"],
        "size": batch[0]["slot"]["size"],
        "workers": 1,
        "processes": processes,
        "service": service,
        "ratio": {
            "throughput": round(
                service["throughput_video_s_per_wall_s"] / processes["throughput_video_s_per_wall_s"], 3
            ),
            "latency_p50": round(service["latency_s"]["p50"] / processes["latency_s"]["p50"], 3),
            "latency_p95": round(service["latency_s"]["p95"] / processes["latency_s"]["p95"], 3),
            "peak_rss": round(service["peak_rss_mb"] / processes["peak_rss_mb"], 3),
        },
        "load_average_1min": {"before": round(load_before, 2), "after": round(load_after, 2)},
    }


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
