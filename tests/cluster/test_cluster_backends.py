"""A Ray worker whose backends cannot load: the executor's start fails with the worker's reason.

(Its own module, run before the others: its worker needs a free CPU on the test cluster.)
"""

from __future__ import annotations

import asyncio

import pytest

from vortex.cluster.executor import RayExecutor
from vortex.errors import VortexError


def test_a_worker_that_cannot_load_its_backends_fails_the_start_with_the_reason(ray_cluster, tmp_path):
    """LivePortrait named without its files: the worker reports why, start() raises it and ends
    the worker (no restart loop), and nothing is left running."""
    broken = RayExecutor(ray_cluster.address, workers=1, num_cpus=1,
                         pipeline_options={"animator": "liveportrait", "models_dir": str(tmp_path / "no-models")})
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(VortexError, match=r"a Ray worker failed to start: .*(?i:liveportrait)"):
            loop.run_until_complete(asyncio.wait_for(broken.start(), 300))
    finally:
        loop.close()
    assert not broken.ready and all(w["state"] == "dead" for w in broken.describe_workers())
