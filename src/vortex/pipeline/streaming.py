"""Threads that stop on time: progress that raises once a slot is stopped, and a prefetching
chunk producer, so rendering and encoding overlap and a deadline or Ctrl-C ends both."""

from __future__ import annotations

import queue
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from vortex.errors import DeadlineExceededError
from vortex.progress import Progress


class _StoppableProgress(Progress):
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
            raise DeadlineExceededError(f"{stage} stopped")

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
            raise DeadlineExceededError(f"{self._name} stopped")

    def close(self) -> None:
        self._task.close()


class _Prefetch:
    """Runs a chunk iterator on its own daemon thread, ``depth`` chunks ahead of the consumer.

    Errors raised by the iterator are re-raised in the consumer; setting ``stop`` ends the
    producer at its next chunk.
    """

    _DONE = object()

    def __init__(self, make_iterator, stop: threading.Event, depth: int = 2) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = stop
        self.busy_seconds = 0.0
        self._thread = threading.Thread(target=self._produce, args=(make_iterator,), name="vortex-render", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, make_iterator) -> None:
        try:
            iterator = iter(make_iterator())
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    chunk = next(iterator)
                except StopIteration:
                    break
                self.busy_seconds += time.perf_counter() - t0
                if not self._put(chunk):
                    return
            self._put(self._DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put(exc)

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
