"""Threads that stop on time: progress that raises once a slot is stopped, and queues between a
slot's stage threads whose blocking calls give up once it is stopped, so a deadline, a
cancellation or Ctrl-C ends every stage at its next chunk."""

from __future__ import annotations

import queue
import threading
import time
from contextlib import contextmanager

from vortex.errors import StageStoppedError
from vortex.progress import Progress


class StoppableProgress(Progress):
    """Forwards to ``inner`` and raises at a task's next ``advance`` once ``stop`` is set.

    Stages that report progress per chunk (speech synthesis: one sentence or phrase per chunk)
    thereby stop at a chunk boundary when their slot times out or is interrupted, instead of
    running on as abandoned threads.
    """

    def __init__(self, inner: Progress, stop: threading.Event) -> None:
        super().__init__(inner.mode, inner.stream)
        self._stop = stop

    def check(self, stage: str) -> None:
        if self._stop.is_set():
            raise StageStoppedError(f"{stage} stopped")

    @contextmanager
    def task(self, name: str, total: float, unit: str = "it"):
        with super().task(name, total, unit) as task:
            yield _StoppableTask(task, self._stop, name)


class _StoppableTask:
    def __init__(self, task, stop: threading.Event, name: str) -> None:
        self._task, self._stop, self._name = task, stop, name

    def advance(self, amount: float = 1) -> None:
        self._task.advance(amount)
        if self._stop.is_set():
            raise StageStoppedError(f"{self._name} stopped")

    def close(self) -> None:
        self._task.close()


class StopQueue:
    """A FIFO between two stage threads whose blocking calls give up once the slot is stopped.

    ``maxsize`` bounds what may wait (0: unbounded, for small items such as Controls rows and
    audio); ``put`` and ``get`` poll ``stop`` and raise ``StageStoppedError`` (a ``DeadlineExceededError``) when it is set,
    so a stage blocked on a stopped neighbour ends at once instead of hanging.
    """

    def __init__(self, stop: threading.Event, maxsize: int = 0, name: str = "slot") -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._stop = stop
        self._name = name
        self.wait_seconds = 0.0
        """Time ``get`` spent waiting for items (how long the consumer starved)."""

    def put(self, item) -> None:
        while True:
            if self._stop.is_set():
                raise StageStoppedError(f"{self._name} stopped")
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def get(self):
        t0 = time.perf_counter()
        try:
            while True:
                if self._stop.is_set():
                    raise StageStoppedError(f"{self._name} stopped")
                try:
                    return self._queue.get(timeout=0.05)
                except queue.Empty:
                    continue
        finally:
            self.wait_seconds += time.perf_counter() - t0
