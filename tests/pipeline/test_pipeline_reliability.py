"""Deadlines, timeouts, retries and memory watchers, exercised with real threads and clocks."""

from __future__ import annotations

import asyncio
import mmap
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vortex.devices import RssSampler, VramMonitor, choose_device, is_cuda_oom, nvidia_driver_present
from vortex.errors import CudaOutOfMemoryError, DeadlineExceededError, InvalidInputError, TransientError
from vortex.media.atomic import atomic_output
from vortex.reliability import Deadline, RetryPolicy, StageThread, call_in_thread, join_stage_threads, retry_sync, run_stage


class Flaky:
    """Fails with ``error`` for the first ``failures`` calls, then returns the call count."""

    def __init__(self, failures: int, error: type[Exception] = TransientError) -> None:
        self.failures, self.error, self.calls, self.times = failures, error, 0, []

    def __call__(self) -> int:
        self.calls += 1
        self.times.append(time.monotonic())
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return self.calls


def test_deadline_counts_down_and_expires():
    deadline = Deadline(0.15)
    assert 0.1 < deadline.remaining() <= 0.15
    deadline.check("speech")
    time.sleep(0.2)
    assert deadline.expired and deadline.remaining() == 0.0
    with pytest.raises(DeadlineExceededError, match="deadline of 0.15 s passed during animation") as info:
        deadline.check("animation")
    assert info.value.exit_code == 3
    assert Deadline(None).remaining() is None and not Deadline(None).expired
    assert Deadline(10).limit(2.0) == 2.0 and Deadline(None).limit(None) is None
    with pytest.raises(ValueError):
        Deadline(0)


def test_backoff_grows_exponentially_and_caps():
    policy = RetryPolicy(attempts=6, initial_delay=0.25, factor=2.0, max_delay=1.0)
    assert [policy.delay(k) for k in range(1, 6)] == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_transient_failures_are_retried_with_backoff():
    flaky = Flaky(2)
    result = retry_sync(flaky, RetryPolicy(attempts=3, initial_delay=0.05, factor=2.0))
    assert result == 3 and flaky.calls == 3
    gaps = np.diff(flaky.times)
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095  # the waits really happened, growing


def test_invalid_input_is_never_retried():
    flaky = Flaky(5, InvalidInputError)
    with pytest.raises(InvalidInputError, match="failure 1"):
        retry_sync(flaky, RetryPolicy(attempts=4, initial_delay=0.01))
    assert flaky.calls == 1


def test_transient_failures_give_up_after_the_last_attempt():
    flaky = Flaky(10)
    with pytest.raises(TransientError, match="failure 3"):
        retry_sync(flaky, RetryPolicy(attempts=3, initial_delay=0.01))
    assert flaky.calls == 3


def test_retry_never_sleeps_past_the_deadline():
    """It gives up with the load's own error when the next wait would pass the deadline: a
    retry that slept past it would only fail later (no wall-clock bound, which a loaded machine
    can break)."""
    flaky = Flaky(10)
    with pytest.raises(TransientError):
        retry_sync(flaky, RetryPolicy(attempts=10, initial_delay=0.2), deadline=Deadline(0.3))
    assert flaky.calls <= 2  # 0.2 s fits, the next 0.4 s wait would pass the deadline


def test_stage_timeout_returns_promptly_with_a_clear_message():
    """The error comes while the stage is still running: the caller never waits for it."""
    release = threading.Event()
    try:
        with pytest.raises(DeadlineExceededError, match="motion took longer than its 0.2 s timeout"):
            asyncio.run(run_stage("motion", release.wait, 120, timeout=0.2))
        assert any(isinstance(t, StageThread) and t.name == "vortex-motion" and not t.ended.is_set()
                   for t in threading.enumerate())
    finally:
        release.set()


def test_overall_deadline_names_the_stage_it_interrupted():
    with pytest.raises(DeadlineExceededError, match="deadline of 0.2 s passed during animation"):
        asyncio.run(run_stage("animation", time.sleep, 5.0, timeout=60, deadline=Deadline(0.2)))


def _chunked_writer(path: Path, stop: threading.Event, started: threading.Event) -> str:
    """A stage that writes a file chunk by chunk, polling ``stop`` like the animation stage."""
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as fh:
            for _ in range(500):
                fh.write(b"x" * 1000)
                started.set()
                if stop.is_set():
                    raise DeadlineExceededError("stopped")
                time.sleep(0.01)
    return "done"


def test_timeout_stops_a_writing_stage_and_leaves_no_file(tmp_path):
    stop, started = threading.Event(), threading.Event()
    target = tmp_path / "slot.mp4"
    with pytest.raises(DeadlineExceededError):
        asyncio.run(run_stage("animation", _chunked_writer, target, stop, started, timeout=0.3, stop=stop))
    assert started.is_set() and stop.is_set()
    assert list(tmp_path.iterdir()) == []


def test_cancellation_stops_a_writing_stage_and_leaves_no_file(tmp_path):
    stop, started = threading.Event(), threading.Event()
    target = tmp_path / "slot.mp4"

    async def main() -> None:
        task = asyncio.create_task(run_stage("animation", _chunked_writer, target, stop, started, stop=stop))
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert stop.is_set()
    assert list(tmp_path.iterdir()) == []


def test_a_cancellation_is_not_lost_when_the_stage_ends_at_the_same_moment():
    """Ctrl-C arriving as a stage's result does must still cancel the slot. (Python 3.11's
    ``asyncio.wait_for`` returned the result instead, so a stopped slot went on to its next
    stage and its stop took 2 s and more under load.)"""

    async def main() -> str:
        loop = asyncio.get_running_loop()

        def cancel_after_the_result_is_queued() -> None:
            for thread in threading.enumerate():  # the stage thread ends after queueing its result
                if isinstance(thread, StageThread) and thread.name == "vortex-actor-cancel-race":
                    thread.ended.wait()
                    thread.join()
            task.cancel()

        def stage() -> str:
            loop.call_soon_threadsafe(cancel_after_the_result_is_queued)
            return "finished"

        task = asyncio.current_task()
        return await run_stage("actor-cancel-race", stage, timeout=60)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())


def test_stages_run_concurrently_on_threads():
    """Two stages meet at a barrier, which only stages running at the same time can pass
    (a wall-clock bound said the same, and failed on a loaded machine)."""
    meet = threading.Barrier(2, timeout=60)

    async def main() -> list:
        return await asyncio.gather(call_in_thread(meet.wait), call_in_thread(meet.wait))

    assert sorted(asyncio.run(main())) == [0, 1]


def test_a_process_reports_a_timeout_at_once_and_exits_when_the_abandoned_stage_ends():
    """The error comes when the timeout passes; at exit the process waits for the stage thread
    (native code must not be running when the interpreter tears down), then exits cleanly."""
    code = (
        "import asyncio, sys, time\n"
        "from vortex.reliability import run_stage\n"
        "def stage():\n"
        "    time.sleep(2.0)\n"
        "    print('stage ended', flush=True)\n"
        "try:\n"
        "    asyncio.run(run_stage('speech', stage, timeout=0.2))\n"
        "except TimeoutError as exc:\n"
        "    print('timed out:', exc, flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and "speech took longer than its 0.2 s timeout" in lines[0]
    assert lines[1] == "stage ended"  # reported first, and the process waited for the stage to end


def test_abandoned_stage_threads_can_be_waited_for():
    release = threading.Event()
    with pytest.raises(DeadlineExceededError):
        asyncio.run(run_stage("speech", release.wait, 120, timeout=0.1))
    assert not join_stage_threads(timeout=0.05)  # still waiting
    release.set()
    assert join_stage_threads(timeout=30)  # (earlier tests' abandoned 5 s sleeps included)
    assert not any(isinstance(t, StageThread) and not t.ended.is_set() for t in threading.enumerate())


def test_cpu_device_and_vram_monitor_no_op():
    if nvidia_driver_present():
        pytest.skip("this test describes the CPU path")
    device = choose_device("auto")
    assert device.kind == "cpu"
    monitor = VramMonitor(device)
    assert not monitor.active and "no VRAM limits" in monitor.describe()
    monitor.arm()
    monitor.check()
    assert monitor.peak_mb() is None and monitor.warnings == []
    with pytest.raises(InvalidInputError, match="no CUDA GPU"):
        choose_device("cuda")
    with pytest.raises(InvalidInputError, match="unknown device"):
        choose_device("tpu")


def test_cuda_oom_is_recognised():
    assert is_cuda_oom(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_cuda_oom(RuntimeError("[ONNXRuntimeError] CUDA failure: Failed to allocate memory for requested buffer"))
    assert is_cuda_oom(CudaOutOfMemoryError("x"))
    assert not is_cuda_oom(ValueError("bad shape"))
    assert not is_cuda_oom(MemoryError())


def test_rss_sampler_sees_a_large_allocation():
    with RssSampler(interval=0.005) as sampler:
        baseline = sampler.peak_mb
        # A fresh anonymous mapping, touched: pages the allocator already holds resident (a long
        # test process has freed plenty) would not raise the RSS at all.
        block = mmap.mmap(-1, 300 * 1024 * 1024)
        np.frombuffer(block, np.uint8)[:] = 1
        # The sampler thread runs every 5 ms when it gets a core; on a loaded machine it may not
        # for a while, so hold the block until it has been sampled (bounded), then free it.
        waited_until = time.monotonic() + 30.0
        while sampler.peak_mb - baseline <= 250 and time.monotonic() < waited_until:
            time.sleep(0.01)
        block.close()
    assert sampler.peak_mb - baseline > 250


@pytest.mark.cuda
def test_vram_monitor_enforces_limits_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    device = choose_device("cuda")
    monitor = VramMonitor(device, soft_limit_mb=64, hard_limit_mb=256)
    block = torch.empty(100 * 1024 * 1024, dtype=torch.uint8, device="cuda")
    monitor.check()  # above soft: a warning, cached memory released
    assert monitor.warnings and "soft limit" in monitor.warnings[0]
    big = torch.empty(200 * 1024 * 1024, dtype=torch.uint8, device="cuda")
    with pytest.raises(CudaOutOfMemoryError, match="hard VRAM limit"):
        monitor.check()
    del block, big
    torch.cuda.empty_cache()
    monitor.arm()  # the allocator itself now refuses to pass the hard limit
    try:
        with pytest.raises(Exception) as info:
            torch.empty(300 * 1024 * 1024, dtype=torch.uint8, device="cuda")
        assert is_cuda_oom(info.value)
    finally:
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(1.0, 0)


def test_transient_failures_are_told_apart_from_lasting_ones():
    """What a backend load retries (``VortexPipeline`` wraps these in TransientError): a busy or
    stalled file, a GPU another process holds; never a missing file or bad input."""
    import errno

    from vortex.devices import is_transient

    assert is_transient(OSError(errno.EBUSY, "Device or resource busy"))
    assert is_transient(OSError(errno.ETIMEDOUT, "Connection timed out"))
    assert is_transient(RuntimeError("CUDA error: all CUDA-capable devices are busy or unavailable"))
    assert not is_transient(FileNotFoundError(errno.ENOENT, "No such file"))
    assert not is_transient(InvalidInputError("bad"))
    assert not is_transient(RuntimeError("CUDA out of memory"))
