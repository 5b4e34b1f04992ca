"""``vortex serve --executor ray`` on a real two-node Ray cluster: six slots through the HTTP API,
one worker SIGKILLed mid-slot, every slot done once with the bytes this machine renders, the
queue bound still answering 429, and nothing of the workers left after the server stops."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

SRC = str(Path(__file__).resolve().parents[2] / "src")
SCRIPTS = ["Good evening, this is channel one.", "Big science today.", "The weather turns cold tonight.",
           "Our next guest needs no introduction.", "Stay tuned for the news at nine.", "That is all for today."]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


class RayServer:
    """A real ``vortex serve --executor ray`` process on a free loopback port."""

    def __init__(self, data: Path, address: str, *flags: str) -> None:
        self.log_path = data.parent / "serve.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vortex.cli", "serve", "--port", "0", "--data", str(data), "--executor", "ray",
             "--ray-address", address, *flags], stdout=self._log, stderr=subprocess.STDOUT, env=env())
        deadline = time.monotonic() + 180
        while "serving on " not in self.log_path.read_text():
            assert self.process.poll() is None and time.monotonic() < deadline, self.log_path.read_text()
            time.sleep(0.1)
        self.url = self.log_path.read_text().split("serving on ", 1)[1].split()[0]
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def stop(self) -> int:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


def worker_pids(client) -> dict[str, int | None]:
    """job id -> pid of the worker rendering it, from /readyz (``where``: 'ray node N pid P (state)')."""
    workers = client.get("/readyz").json()["workers"]
    return {w["job_id"]: int(re.search(r"pid (\d+)", w["where"]).group(1)) for w in workers if w["job_id"]}


def test_six_slots_through_the_service_with_a_worker_killed_mid_slot(ray_cluster, recipe, render_locally, tmp_path):
    recipes = [recipe(script, seed=20 + i, duration=3.0) for i, script in enumerate(SCRIPTS)]
    server = RayServer(tmp_path / "data", ray_cluster.address, "--workers", "2", "--max-queue", "6",
                       "--animator", "warp", "--actor", "procedural")
    try:
        client = server.client
        # While the workers load, nothing runs: six slots fill the queue and a seventh is refused.
        ids = []
        for r in recipes:
            answer = client.post("/v1/slots", json=r)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
        full = client.post("/v1/slots", json=recipe("One too many.", seed=99))
        assert client.get("/readyz").status_code == 503, "the workers loaded before the queue could fill"
        assert full.status_code == 429 and int(full.headers["Retry-After"]) >= 1

        expected = dict(zip(ids, render_locally(recipes)))  # meanwhile, this machine's own rendering

        deadline = time.monotonic() + 600
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline and server.process.poll() is None, server.log_path.read_text()
            time.sleep(0.2)

        killed: dict[str, int] = {}
        most_running = 0
        while True:
            statuses = {i: client.get(f"/v1/slots/{i}").json() for i in ids}
            running = [i for i, s in statuses.items() if s["status"] == "running"]
            most_running = max(most_running, len(running))
            if not killed:
                pids = worker_pids(client)
                victim = next((job for job in running if job in pids), None)
                if victim is not None:  # SIGKILL the worker process rendering this slot
                    os.kill(pids[victim], signal.SIGKILL)
                    killed[victim] = pids[victim]
            if all(s["status"] in ("done", "failed", "cancelled") for s in statuses.values()):
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(0.2)

        assert killed, "no slot was ever seen running"
        assert most_running <= 2  # two workers: the rest of the queue waited
        [(victim, pid)] = killed.items()
        for job_id in ids:
            status = statuses[job_id]
            assert status["status"] == "done", status
            assert client.get(f"/v1/slots/{job_id}/video.mp4").content == expected[job_id]
            report = client.get(f"/v1/slots/{job_id}/report.json").json()
            assert status["worker"] and report["worker"]["name"] in status["worker"]  # who made it
            if job_id == victim:
                [lost] = report["lost_attempts"]
                assert f"pid {pid}" in lost["worker"] and report["worker"]["pid"] != pid
            else:
                assert report["lost_attempts"] == []
        metrics = client.get("/metrics").text
        assert 'vortex_slots_total{outcome="done"} 6' in metrics  # each slot reported done once
        videos = sorted(p.name for p in (tmp_path / "data").rglob("*.mp4"))
        assert len(videos) == 6, videos  # one published MP4 per slot, no partial or duplicate file
    finally:
        code = server.stop()
    assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM), server.log_path.read_text()

    # The service's workers ended with it: the cluster has no Vortex worker left.
    listed = subprocess.run([sys.executable, "-m", "vortex.cli", "workers", "--ray-address", ray_cluster.address,
                             "--json"], capture_output=True, text=True, env=env(), timeout=300)
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
