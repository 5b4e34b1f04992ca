"""A Ray worker sizes its render threads by the CPUs it reserved, not by its node's cores: Ray
pins nothing, so without asking Ray a worker that reserved one CPU rendered two frames at once."""

from __future__ import annotations

import os

import pytest

from vortex.cluster.ray_support import connect


def test_a_ray_worker_with_one_cpu_renders_one_frame_at_a_time(ray_cluster):
    ray = pytest.importorskip("ray")
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("on one core every process renders one frame at a time; nothing would tell Ray's share apart")

    def probe() -> tuple[int, int]:
        from vortex.animators.warp import WarpAnimator

        return len(os.sched_getaffinity(0)), WarpAnimator().workers

    assert connect(ray_cluster.address)
    try:
        for cpus in (1, 0.5):
            affinity, workers = ray.get(ray.remote(num_cpus=cpus)(probe).remote(), timeout=300)
            assert affinity >= 2  # the worker process could run on every core ...
            assert workers == 1, cpus  # ... but reserved one CPU (or a share of one)
    finally:
        ray.shutdown()
