"""RayExecutor on a real two-node Ray cluster: local bytes from every worker, uploads through the
object store, a SIGKILLed worker's slot re-run elsewhere exactly once, workers listed."""

from __future__ import annotations

import asyncio
import io
import os
import signal

import pytest

from vortex.cluster.executor import RayExecutor
from vortex.cluster.worker import work_root
from vortex.service.executor import Executor, RenderJob


@pytest.fixture(scope="module")
def loop():
    """One event loop for the module: the executor's Ray futures live on it."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def executor(ray_cluster, loop, pipeline_options, worker_cpus):
    ray = pytest.importorskip("ray")
    ex = RayExecutor(ray_cluster.address, workers=2, num_cpus=worker_cpus, pipeline_options=pipeline_options)
    loop.run_until_complete(asyncio.wait_for(ex.start(), 600))
    yield ex
    names = [w["name"] for w in ex.describe_workers()]
    loop.run_until_complete(ex.close())
    assert not ray.is_initialized()
    assert not [p for p in work_root().glob("*") if p.name.rsplit(".", 1)[0] in names]  # no folder left behind


def photo_png() -> bytes:
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


def test_workers_start_one_per_node_with_resident_pipelines(executor):
    assert isinstance(executor, Executor) and executor.ready and executor.capacity == 2
    workers = executor.describe_workers()
    assert len({w["node"] for w in workers}) == 1  # both on 127.0.0.1 ...
    import ray

    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2
    # ... but on the two different nodes (SPREAD over one CPU each), in two other processes.
    pids = {w["pid"] for w in workers}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(w["state"] == "idle" and w["backends"] == {"speech": "kokoro-onnx", "actor": "procedural",
                                                          "animator": "warp"} for w in workers)


def test_three_slots_and_a_photo_upload_give_local_bytes(executor, loop, render_locally, recipe, tmp_path):
    photo = photo_png()
    (tmp_path / "face.png").write_bytes(photo)
    recipes = [recipe("Good evening, this is channel one.", seed=3),
               recipe("Big science today, Morty.", seed=4, voice="rick_c137", prompt="old scientist, lab coat"),
               recipe("A photo can talk too.", seed=5)]
    jobs = [RenderJob(f"job{i}", r) for i, r in enumerate(recipes[:2])]
    # The photo travels as bytes (the object store); the worker's recipe names its own copy.
    photo_recipe = dict(recipes[2], visual_track={})
    jobs.append(RenderJob("job2", photo_recipe, uploads={"photo": photo}, upload_suffixes={"photo": ".png"}))
    local_photo = dict(recipes[2], visual_track={"photo_file": str(tmp_path / "face.png")})
    expected = render_locally([recipes[0], recipes[1], local_photo])

    progress = []

    async def all_jobs():
        return await asyncio.gather(*(executor.submit(job, progress.append) for job in jobs))

    outcomes = loop.run_until_complete(asyncio.wait_for(all_jobs(), 600))
    for outcome, want in zip(outcomes, expected):
        assert outcome.success, outcome.error
        assert outcome.video == want
        assert outcome.report["frames"] == 24 and outcome.report["lost_attempts"] == []
        assert outcome.report["worker"]["pid"] in {w["pid"] for w in executor.describe_workers()}
    assert outcomes[2].report["backends"]["actor"] == "photo"
    assert outcomes[2].report["recipe"] == photo_recipe  # no worker-side path leaks into the report
    # Three jobs on two workers: both worked, and the third waited for a free one.
    assert len({o.worker for o in outcomes}) == 2
    assert sum(w["slots_done"] for w in executor.describe_workers()) == 3
    for job in jobs:  # progress in frames, ending with every frame done
        frames = [(p.frames_done, p.frames_total) for p in progress
                  if p.job_id == job.job_id and p.stage == "animation"]
        assert frames[-1] == (24, 24) and frames == sorted(frames)


def test_failed_slot_comes_back_as_an_outcome(executor, loop, recipe):
    bad = recipe("This script is far too long to be spoken in the one second the slot lasts. " * 3, seed=1,
                         duration=1.0)
    outcome = loop.run_until_complete(executor.submit(RenderJob("bad", bad), lambda p: None))
    assert not outcome.success and outcome.video is None
    assert outcome.exit_code == 2 and "too long" in outcome.error


def test_sigkilled_worker_mid_slot_reruns_elsewhere_once_with_the_same_bytes(executor, loop, render_locally, recipe):
    long_slot = recipe("We interrupt this programme for a short message from our sponsor.", seed=9, duration=5.0)
    [expected] = render_locally([long_slot])
    killed: list[dict] = []
    before = {w["name"]: w for w in executor.describe_workers()}

    def on_progress(p):
        # Mid-slot: the worker reports it is working on the slot (speech, actor, ..., animation
        # at 0.25 s polls). SIGKILL its process: nothing of it can clean up or answer.
        if not killed:
            victim = next(w for w in executor.describe_workers() if w["job_id"] == "kill-me")
            os.kill(victim["pid"], signal.SIGKILL)
            killed.append(dict(victim, stage=p.stage))

    outcomes = []

    async def scenario():
        outcomes.append(await executor.submit(RenderJob("kill-me", long_slot), on_progress))

    loop.run_until_complete(asyncio.wait_for(scenario(), 600))
    assert killed, "the slot was never seen running"
    [outcome] = outcomes  # submit returns once: the slot is reported done once
    assert outcome.success, outcome.error
    assert outcome.video == expected
    victim = killed[0]
    [lost] = outcome.report["lost_attempts"]
    assert f"pid {victim['pid']}" in lost["worker"]
    assert outcome.report["worker"]["pid"] != victim["pid"]

    # Ray restarts the killed worker (a new process, pipeline loaded again); it cleans the dead
    # process's slot folder and rejoins the pool.
    async def restarted():
        while True:
            worker = next(w for w in executor.describe_workers() if w["name"] == victim["name"])
            if worker["state"] == "idle":
                return worker
            await asyncio.sleep(0.5)

    worker = loop.run_until_complete(asyncio.wait_for(restarted(), 300))
    assert worker["pid"] != victim["pid"]
    assert not (work_root() / f"{victim['name']}.{victim['pid']}").exists()
    done_after = {w["name"]: w["slots_done"] for w in executor.describe_workers()}
    assert sum(done_after.values()) == sum(w["slots_done"] for w in before.values()) + 1


def test_vortex_workers_lists_them_from_another_process(executor, ray_cluster):
    import json
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "vortex.cli", "workers", "--ray-address", ray_cluster.address,
                           "--json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    mine = {w["name"]: w for w in executor.describe_workers()}
    assert set(rows) == set(mine)
    for name, row in rows.items():
        assert row["pid"] == mine[name]["pid"] and row["state"] == "idle"
        assert row["backends"] == {"speech": "kokoro-onnx", "actor": "procedural", "animator": "warp"}
        # Counted by each worker process itself (a restarted one starts again from 0).
        assert 0 <= row["slots_done"] <= mine[name]["slots_done"]
    assert sum(row["slots_done"] for row in rows.values()) >= 1



def test_cancel_mid_slot_stops_it_on_the_worker_and_frees_the_worker(executor, loop, recipe):
    """``cancel`` reaches the worker's process: its ``submit`` raises CancelledError, the worker
    is free again and its slot folder is gone."""
    long_slot = recipe("This slot is cancelled before it ends, by the director.", seed=11, duration=6.0)

    async def scenario():
        seen = asyncio.Event()
        task = asyncio.ensure_future(executor.submit(RenderJob("cancel-me", long_slot), lambda p: seen.set()))
        await asyncio.wait_for(seen.wait(), 300)  # progress from the worker: the slot is running there
        assert await executor.cancel("cancel-me")
        with pytest.raises(asyncio.CancelledError):
            await task

    worker_folders = {w["name"]: w["pid"] for w in executor.describe_workers()}
    loop.run_until_complete(asyncio.wait_for(scenario(), 600))
    assert all(w["state"] == "idle" and w["job_id"] is None for w in executor.describe_workers())
    assert not any(any((work_root() / f"{name}.{pid}").glob("slot.*")) for name, pid in worker_folders.items())
