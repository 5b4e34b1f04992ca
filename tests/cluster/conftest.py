"""A real two-node Ray cluster on loopback for the scale-out tests, and local reference renders.

The cluster (``ray.cluster_utils.Cluster``: a head node and a second node, each a set of real
Ray processes with one CPU) starts once per test session and is shut down at its end; the
teardown then checks that none of its processes is left, because a stray raylet would keep CI
from finishing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

# Ray resolves "127.0.0.1" to the machine's outward address unless told this is a one-machine
# cluster; the test cluster binds loopback only, so every driver and worker must agree.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

ray = pytest.importorskip("ray", reason="the scale-out tests need Ray: pip install 'vortex[ray]'")

PIPELINE_OPTIONS = {"animator": "warp", "actor": "procedural", "speech": "kokoro-onnx"}
"""Pinned embedded backends: workers and the local reference render with the same ones."""

WORKER_CPUS = 1
"""CPUs each test worker reserves. Ray sets a worker's OMP_NUM_THREADS to it; the local
reference renders with this machine's default thread count, so equal bytes also show that a
slot does not depend on the worker's threads."""


def make_recipe(script: str, seed: int, duration: float = 2.0, voice: str = "jf_alpha",
                prompt: str = "green alien, space") -> dict:
    """A slot small enough for a loaded 2-core machine: 256 px, 12 fps, a few seconds."""
    return {"audio_track": {"script": script, "voice_id": voice},
            "visual_track": {"prompt": prompt},
            "slot": {"duration_sec": duration, "fps": 12, "size": 256, "seed": seed}}


class LoopbackCluster:
    """A head node and a second node process on 127.0.0.1, one CPU each."""

    def __init__(self) -> None:
        from ray.cluster_utils import Cluster

        # A short private temp dir: Ray's sockets live there (path length limits) and nothing
        # touches /tmp/ray sessions other users' clusters may use.
        self.temp_dir = tempfile.mkdtemp(prefix="vxray-", dir="/tmp")
        common = {"num_cpus": WORKER_CPUS, "node_ip_address": "127.0.0.1", "temp_dir": self.temp_dir,
                  "object_store_memory": 200 * 1024 * 1024}
        self.cluster = Cluster(initialize_head=True, connect=False,
                               head_node_args={**common, "include_dashboard": False})
        self.second = self.cluster.add_node(**common)
        self.address = self.cluster.address

    def process_ids(self) -> set[int]:
        """Every live process of this cluster: the nodes' own (GCS, raylets, agents) and the
        worker processes, which name the cluster's private temp dir on their command line."""
        import psutil

        ids = set()
        for node in [self.cluster.head_node, *self.cluster.worker_nodes]:
            for infos in (node.all_processes.values() if node is not None else ()):
                ids.update(info.process.pid for info in infos)
        for process in psutil.process_iter(["pid", "cmdline"]):
            if any(self.temp_dir in part for part in (process.info["cmdline"] or ())):
                ids.add(process.info["pid"])
        return ids

    def shutdown(self) -> None:
        import psutil

        def running() -> list[int]:
            alive = []
            for pid in started | self.process_ids():
                try:
                    if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                        alive.append(pid)
                except psutil.NoSuchProcess:
                    pass
            return alive

        started = self.process_ids()
        if ray.is_initialized():
            ray.shutdown()
        self.cluster.shutdown()
        deadline = time.monotonic() + 30
        while running() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = running()
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        assert not left, f"Ray processes left running after shutdown: {left}"


@pytest.fixture(scope="session")
def ray_cluster():
    cluster = LoopbackCluster()
    try:
        yield cluster
    finally:
        cluster.shutdown()


@pytest.fixture(scope="session")
def recipe():
    """``recipe(script, seed, duration=2.0, voice=..., prompt=...)`` -> a small slot recipe dict."""
    return make_recipe


@pytest.fixture(scope="session")
def worker_cpus() -> int:
    return WORKER_CPUS


@pytest.fixture(scope="session")
def pipeline_options() -> dict:
    return dict(PIPELINE_OPTIONS)


_RENDER_SCRIPT = """
import json, sys
from vortex.pipeline import VortexPipeline
options, jobs = json.loads(sys.stdin.read())
pipeline = VortexPipeline(log_warnings=False, **options).load()
for recipe, out in jobs:
    pipeline.generate_slot_sync(recipe, output=out).raise_for_error()
"""


@pytest.fixture(scope="session")
def render_locally(tmp_path_factory):
    """``render_locally([recipe, ...]) -> [MP4 bytes, ...]``: rendered on this machine by a
    separate process with its own resident pipeline (no Ray), with a worker's thread budget."""
    import json
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("local")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**{k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"},
           "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cache: dict[str, bytes] = {}

    def render(recipes: list[dict]) -> list[bytes]:
        keys = [json.dumps(r, sort_keys=True) for r in recipes]
        todo = [(r, str(Path(folder) / f"{len(cache) + i}.mp4")) for i, (r, k) in enumerate(zip(recipes, keys))
                if k not in cache]
        if todo:
            subprocess.run([sys.executable, "-c", _RENDER_SCRIPT], input=json.dumps([PIPELINE_OPTIONS, todo]),
                           text=True, env=env, check=True, timeout=600, capture_output=True)
            for (recipe, out) in todo:
                cache[json.dumps(recipe, sort_keys=True)] = Path(out).read_bytes()
        return [cache[k] for k in keys]

    return render
