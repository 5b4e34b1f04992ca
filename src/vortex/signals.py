"""One clean stop for Ctrl-C, SIGTERM and SIGHUP, and a process exit that cannot hang.

Why one handler for three signals: a service manager stops a job with SIGTERM, a closed
terminal sends SIGHUP, a user presses Ctrl-C; each must remove partial outputs the same way.
Left to their defaults, SIGTERM and SIGHUP kill the process on the spot (a partial MP4 and
library temp files stay behind) and Ctrl-C raises wherever the main thread happens to be.

``StopOnSignals`` (a context manager, main thread only) turns the first of these signals into:

* inside ``run(coroutine)``: cancellation of that coroutine's task, delivered through the event
  loop's own signal wake-up (``loop.add_signal_handler``), so the loop wakes even when the kernel
  hands the signal to a worker thread; the coroutine's cleanup (stop events, staged outputs
  removed) runs, then ``Interrupted`` is raised;
* anywhere else: ``Interrupted`` raised in the main thread (a ``KeyboardInterrupt``, so every
  ``except BaseException`` cleanup path already handles it).

Later signals are ignored while that cleanup runs (it is bounded); a second Ctrl-C must not
cut it short and leave files behind. ``Interrupted.exit_code`` is ``128 + signal number``: 130
for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP, as shells report them.

``exit_process(code)`` ends the process without waiting for worker threads that cannot be
stopped (a native Whisper or ONNX call mid-computation): it runs the ``atexit`` handlers that
remove temporary files (not the stage-thread wait), flushes the standard streams and calls
``os._exit``. Finalizing the interpreter under such a thread can hang in a native library's
teardown or abort ("terminate called without an active exception").
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import signal
import sys
import threading
from typing import Any, Callable, Coroutine, TypeVar

T = TypeVar("T")

STOP_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)
"""The signals that mean "stop cleanly"."""


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; ``exit_code`` is what a shell reports for it (128 + number)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + int(signum)

    @property
    def name(self) -> str:
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name


_active: "StopOnSignals | None" = None
_stop_signal: int | None = None
_gc_was_enabled = True


def _note_stop(signum: int) -> None:
    """Remember that the process is stopping, and stop collecting garbage: a full collection of
    a loaded pipeline's heap took 0.4-0.8 s on a loaded machine, in the middle of a 2 s stop, and
    the process ends without needing the memory back."""
    global _stop_signal, _gc_was_enabled
    if _stop_signal is None:
        _stop_signal = signum
        _gc_was_enabled = gc.isenabled()
    gc.disable()


def end_stop() -> None:
    """Forget a handled stop: garbage collection as it was before it, ``stop_received()`` None.

    For a caller that goes on living after a command was stopped (``vortex.cli.main`` called in
    a long-running process); the command line itself exits instead (``exit_process``)."""
    global _stop_signal
    if _stop_signal is not None and _gc_was_enabled:
        gc.enable()
    _stop_signal = None


def stop_received() -> int | None:
    """The stop signal this process received (it is ending), or None."""
    return _stop_signal


class StopOnSignals:
    """While active, the first stop signal cancels ``run``'s coroutine or raises ``Interrupted``."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._cancel: Callable[[], None] | None = None

    def __enter__(self) -> "StopOnSignals":
        global _active
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
            _active = self
        return self

    def __exit__(self, *exc: object) -> None:
        global _active
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        if _active is self:
            _active = None

    def _handle(self, signum: int, frame: object = None) -> None:
        if self.received is not None:
            return  # already stopping: let the cleanup finish
        self.received = signum
        _note_stop(signum)
        if self._cancel is not None:
            self._cancel()
        else:
            raise Interrupted(signum)

    def check(self) -> None:
        """Raise ``Interrupted`` if a stop signal arrived (for code between two steps)."""
        if self.received is not None:
            raise Interrupted(self.received)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` in a new event loop; a stop signal cancels it, then raises ``Interrupted``.

        Unlike ``asyncio.run``, closing does not wait for the default executor's threads: a
        stage that cannot stop must not hold the process after its slot has been cleaned up.
        """
        self.check()
        loop = asyncio.new_event_loop()
        task = loop.create_task(coroutine)

        def on_signal(signum: int) -> None:
            if self.received is None:
                self.received = signum
                _note_stop(signum)
                task.cancel()

        installed = []
        if self._previous:  # only the main thread may own signal handlers
            for signum in STOP_SIGNALS:
                loop.add_signal_handler(signum, on_signal, signum)
                installed.append(signum)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if self.received is not None:
                raise Interrupted(self.received) from None
            raise
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
                signal.signal(signum, self._handle)  # remove_signal_handler restores the default
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()


def run_stoppable(coroutine: Coroutine[Any, Any, T]) -> T:
    """``StopOnSignals.run`` under the active handler (the CLI's), else plain ``asyncio.run``."""
    if _active is not None:
        return _active.run(coroutine)
    return asyncio.run(coroutine)


def exit_process(code: int) -> None:
    """End the process now with ``code``: temp-file cleanups run, stuck worker threads do not hold it."""
    from vortex.reliability import join_stage_threads

    atexit.unregister(join_stage_threads)  # the caller has already given its stages their grace
    try:
        atexit._run_exitfuncs()  # library temp dirs (weakref finalizers), logging flush
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
