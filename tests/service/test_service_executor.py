"""LocalExecutor: the same bytes as ``vortex generate``, progress in frames, cancellation that leaves nothing."""

from __future__ import annotations

import asyncio

import pytest

from vortex.service.executor import Executor, LocalExecutor, RenderJob


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    ex = LocalExecutor(workers=1, work_dir=work)
    asyncio.run(ex.start())
    yield ex
    asyncio.run(ex.close())


def test_renders_the_cli_bytes_and_reports_frames(executor, reference_mp4, small_recipe):
    assert isinstance(executor, Executor) and executor.ready
    seen = []
    outcome = asyncio.run(executor.submit(RenderJob("job1", small_recipe()), seen.append))
    assert outcome.success, outcome.error
    assert outcome.video == reference_mp4
    assert outcome.report["frames"] == 24 and outcome.worker == "local-0"
    frames = [p for p in seen if p.stage == "animation"]
    assert frames and frames[-1].frames_done == frames[-1].frames_total == 24
    assert [w.slots_done for w in executor.workers()] == [1] and executor.workers()[0].job_id is None


def test_failed_slot_is_an_outcome(executor, small_recipe):
    recipe = small_recipe(
        script="This script is far too long to be spoken in the one second the slot lasts. " * 3, duration=1.0
    )
    outcome = asyncio.run(executor.submit(RenderJob("job2", recipe), lambda p: None))
    assert not outcome.success and outcome.video is None
    assert outcome.exit_code == 2 and "too long" in outcome.error


def test_cancel_mid_render_leaves_nothing(executor, small_recipe):
    async def scenario():
        started = asyncio.Event()
        loop = asyncio.get_running_loop()

        def progress(p):
            if p.stage == "animation":
                loop.call_soon_threadsafe(started.set)

        task = asyncio.create_task(executor.submit(RenderJob("job3", small_recipe(duration=6.0)), progress))
        await asyncio.wait_for(started.wait(), 300)
        assert await executor.cancel("job3")
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert list(executor._work_dir.iterdir()) == []
    assert executor.workers()[0].job_id is None
