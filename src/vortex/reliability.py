"""Timeouts, an overall deadline and retries for the slot pipeline's stages.

Why threads: every stage is blocking native code (ONNX Runtime, OpenCV, x264) that releases the
GIL, so running stages in threads lets speech and actor overlap and keeps the event loop free to
enforce time limits. A thread cannot be killed, so two rules keep a timed-out stage harmless:
stage threads are daemons (a process that gives up on them can still exit at once), and a stage
that writes files takes a ``threading.Event`` it polls between chunks; on a timeout or Ctrl-C the
event is set and the caller waits (briefly) for the stage to remove its partial output.

Retries (``retry_sync``, for loading backends) are for ``TransientError`` only: invalid input,
missing models or a deadline never get a second attempt, because repeating them cannot help. A
running stage is never retried: what it made has already gone on to the next stage.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from vortex.errors import DeadlineExceededError, TransientError

T = TypeVar("T")


class Deadline:
    """An absolute point on the monotonic clock; ``seconds=None`` never expires."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds is not None and not seconds > 0:
            raise ValueError(f"deadline must be a positive number of seconds, got {seconds!r}")
        self.seconds = seconds
        self._clock = clock
        self._end = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a deadline."""
        if self._end is None:
            return None
        return max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        return self._end is not None and self._clock() >= self._end

    def check(self, during: str) -> None:
        """Raise ``DeadlineExceededError`` if the deadline has passed."""
        if self.expired:
            raise DeadlineExceededError(f"the slot deadline of {self.seconds:g} s passed during {during}")

    def limit(self, timeout: float | None) -> float | None:
        """The tighter of a stage timeout and what is left of the deadline."""
        left = self.remaining()
        if timeout is None:
            return left
        return timeout if left is None else min(timeout, left)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt k (k >= 1) waits ``initial * factor**(k-1)`` capped at ``max_delay``.

    ``jitter`` spreads concurrent retries by up to that fraction of the delay; it uses its own
    seeded generator, so it never touches the slot's randomness.
    """

    attempts: int = 3
    initial_delay: float = 0.25
    factor: float = 2.0
    max_delay: float = 4.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy needs at least one attempt")

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        base = min(self.max_delay, self.initial_delay * self.factor ** (retry - 1))
        if self.jitter and rng is not None:
            base *= 1.0 + self.jitter * rng.random()
        return base


@dataclass(frozen=True)
class StageTimeouts:
    """Seconds each stage may take (None: no limit); the overall deadline applies on top.

    Motion has no limit of its own: it is planned chunk by chunk on the speech stage's thread,
    as each speech chunk arrives, so ``speech`` bounds both; the animator's per-portrait
    ``prepare`` runs under ``actor``'s, and the sinks under ``animation``'s.
    """

    speech: float | None = 300.0
    actor: float | None = 120.0
    animation: float | None = 900.0


_live_threads: set["StageThread"] = set()
"""Stage threads queued or running; each removes itself when its work ends."""
_live_lock = threading.Lock()
_exit_hook_registered = False
EXIT_WAIT_S = 120.0
"""At interpreter exit, how long to wait for stage threads a slot gave up on (see below)."""
STOP_GRACE_S = 1.5
"""How long a stopped stage may take to clean up before its slot reports the stop anyway: every
stage ends (or is abandoned, writing nothing more that stays) within 2 s of a stop request."""


class StageThread(threading.Thread):
    """A daemon thread for one stage; ``ended`` is set when its work is over, and can be waited
    for even before the thread has started (see ``start_stage_thread``)."""

    def __init__(self, target: Callable[..., Any], args: tuple, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._work = (target, args)
        self.ended = threading.Event()

    def run(self) -> None:
        target, args = self._work
        try:
            target(*args)
        finally:
            with _live_lock:
                _live_threads.discard(self)
            self.ended.set()


def join_stage_threads(timeout: float = 60.0) -> bool:
    """Wait (up to ``timeout`` s in all) for stage threads still running after their slot gave up.

    Registered with ``atexit`` when the first stage thread starts: native libraries (ONNX
    Runtime) abort the process ("terminate called without an active exception") if it exits
    while one of their threads is mid-computation. Stages given a ``stop`` event end at their
    next chunk, so the wait is normally short. Returns True if none is left. (The CLI does not
    wait: ``vortex.signals.exit_process`` ends the process without finalizing it.)
    """
    end = time.monotonic() + timeout
    while True:
        with _live_lock:
            threads = list(_live_threads)
        if not threads:
            return True
        left = end - time.monotonic()
        if left <= 0:
            return False
        threads[0].ended.wait(left)


def stage_threads_alive() -> bool:
    """Whether a stage thread is queued or still running."""
    with _live_lock:
        return bool(_live_threads)


_to_start: "queue.SimpleQueue[StageThread]" = queue.SimpleQueue()
_starter: threading.Thread | None = None
_starter_lock = threading.Lock()


def _start_queued() -> None:
    while True:
        _to_start.get().start()


def _forget_starter() -> None:
    """In a forked child the starter thread does not exist: the first stage starts a new one."""
    global _starter, _to_start
    _starter, _to_start = None, queue.SimpleQueue()


os.register_at_fork(after_in_child=_forget_starter)


def start_stage_thread(target: Callable[..., Any], *args: Any, name: str = "vortex-stage") -> StageThread:
    """Run ``target(*args)`` on a daemon ``StageThread`` that ``join_stage_threads`` and
    ``stage_threads_alive`` know about (so nothing exits blindly under it).

    The thread is started by a starter thread, not by the caller: ``Thread.start`` waits until
    the new thread runs, and with busy stage threads holding the GIL on a loaded machine that
    took 0.1-0.3 s per stage; the event loop starts three or four stages at once, and a Ctrl-C
    arriving then was handled only after all of them had started (up to 0.9 s of a 2 s stop)."""
    global _exit_hook_registered, _starter
    thread = StageThread(target, args, name)
    with _live_lock:
        _live_threads.add(thread)
        if not _exit_hook_registered:
            atexit.register(join_stage_threads, EXIT_WAIT_S)
            _exit_hook_registered = True
    with _starter_lock:
        if _starter is None:  # once per process: the only start anyone waits for
            _starter = threading.Thread(target=_start_queued, name="vortex-stage-starter", daemon=True)
            _starter.start()
        _to_start.put(thread)
    return thread


class _ThreadCall:
    """``fn(*args)`` on a daemon thread, its outcome delivered to an asyncio future."""

    def __init__(self, fn: Callable[..., T], args: tuple, kwargs: dict, name: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future = self.loop.create_future()
        self.thread = start_stage_thread(self._run, fn, args, kwargs, name=name)

    def _run(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - delivered to the awaiting task
            self._deliver(self.future.set_exception, exc)
        else:
            self._deliver(self.future.set_result, result)

    def _deliver(self, setter: Callable[[Any], None], value: Any) -> None:
        def apply() -> None:
            if not self.future.done():
                setter(value)

        try:
            self.loop.call_soon_threadsafe(apply)
        except RuntimeError:  # the loop is gone: nobody is waiting any more
            pass


async def call_in_thread(fn: Callable[..., T], *args: Any, name: str = "vortex-stage", **kwargs: Any) -> T:
    """Await ``fn(*args, **kwargs)`` run on a daemon thread (unlike ``asyncio.to_thread``, a
    stage abandoned after a timeout never keeps the process alive)."""
    return await _ThreadCall(fn, args, kwargs, name).future


async def run_stage(
    stage: str,
    fn: Callable[..., T],
    *args: Any,
    timeout: float | None = None,
    deadline: Deadline | None = None,
    stop: threading.Event | None = None,
    stop_grace: float = STOP_GRACE_S,
    **kwargs: Any,
) -> T:
    """Run one stage on a thread under its timeout and the deadline.

    On a timeout, the deadline or cancellation (Ctrl-C), ``stop`` is set and the stage thread
    gets up to ``stop_grace`` seconds to clean up before the error propagates. A stage is never
    retried: its chunks have already gone on to the next stage (loading a backend is, with
    ``retry_sync``).
    """
    deadline = deadline or Deadline(None)
    deadline.check(stage)
    call = _ThreadCall(fn, args, kwargs, f"vortex-{stage}")
    try:
        # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives as the
        # stage's result does, so after Ctrl-C the slot went on to its next stage (a stop
        # took 2 s and more under load); asyncio.timeout always lets the cancellation through.
        async with asyncio.timeout(deadline.limit(timeout)):
            return await call.future
    except DeadlineExceededError:  # raised by the stage itself (it checks the deadline between chunks)
        raise
    except TimeoutError:
        _stop_and_join(call, stop, stop_grace)
        if deadline.expired:
            raise DeadlineExceededError(f"the slot deadline of {deadline.seconds:g} s passed during {stage}") from None
        raise DeadlineExceededError(f"{stage} took longer than its {timeout:g} s timeout") from None
    except asyncio.CancelledError:
        _stop_and_join(call, stop, stop_grace)
        raise


def _stop_and_join(call: _ThreadCall, stop: threading.Event | None, grace: float) -> None:
    """Ask a stage to stop and wait for its cleanup (only stages given a ``stop`` event can).

    A stage still computing after that is abandoned as it is. (Lowering its CPU priority was
    tried and made stops slower: a thread inside a native call may hold the GIL, and the
    cleanup then waits for a thread the scheduler now runs last.)"""
    if stop is None:
        return
    stop.set()
    call.thread.ended.wait(grace)


def retry_sync(fn: Callable[[], T], retry: RetryPolicy, deadline: Deadline | None = None) -> T:
    """``fn()``, retried after a ``TransientError`` with ``retry``'s backoff, never sleeping past
    ``deadline``: loading a backend from a network mount that stalls, a GPU another process holds
    for a moment."""
    deadline = deadline or Deadline(None)
    rng = random.Random(0)
    for attempt in range(1, retry.attempts + 1):
        try:
            return fn()
        except TransientError:
            delay = retry.delay(attempt, rng)
            left = deadline.remaining()
            if attempt >= retry.attempts or (left is not None and delay >= left):
                raise
            time.sleep(delay)
    raise AssertionError("unreachable")
