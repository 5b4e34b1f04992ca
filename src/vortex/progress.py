"""Progress for long work: a bar on a terminal, JSON lines with ``--log-json``, silence with ``--quiet``.

Stages take a ``Progress`` and call ``task(name, total)``; they never decide how it is shown.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from typing import IO, Iterator


class Progress:
    """Reports named tasks; ``mode`` is ``"bar"``, ``"json"`` or ``"quiet"``."""

    def __init__(self, mode: str = "bar", stream: IO[str] | None = None) -> None:
        if mode not in ("bar", "json", "quiet"):
            raise ValueError(f"unknown progress mode {mode!r}")
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr

    @classmethod
    def quiet(cls) -> "Progress":
        return cls("quiet")

    def log(self, event: str, **fields: object) -> None:
        """A one-off message: a JSON line in json mode, a plain line in bar mode."""
        if self.mode == "json":
            self.stream.write(json.dumps({"ts": round(time.time(), 3), "event": event, **fields}) + "\n")
            self.stream.flush()
        elif self.mode == "bar":
            details = " ".join(f"{k}={v}" for k, v in fields.items())
            self.stream.write(f"{event} {details}".rstrip() + "\n")

    @contextmanager
    def task(self, name: str, total: float, unit: str = "it") -> Iterator["_Task"]:
        task = _Task(self, name, total, unit)
        try:
            yield task
        finally:
            task.close()


class _Task:
    def __init__(self, progress: Progress, name: str, total: float, unit: str) -> None:
        self._progress = progress
        self._name = name
        self._total = total
        self._done = 0.0
        self._started = time.perf_counter()
        self._last_json = 0.0
        self._bar = None
        if progress.mode == "bar" and progress.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=name, unit=unit, file=progress.stream, leave=False)
        elif progress.mode == "json":
            progress.log("start", task=name, total=total)

    def advance(self, amount: float = 1) -> None:
        self._done += amount
        if self._bar is not None:
            self._bar.update(amount)
        elif self._progress.mode == "json":
            now = time.perf_counter()
            if now - self._last_json >= 1.0:
                self._last_json = now
                self._progress.log("progress", task=self._name, done=self._done, total=self._total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elapsed = round(time.perf_counter() - self._started, 3)
        if self._progress.mode == "json":
            self._progress.log("done", task=self._name, done=self._done, seconds=elapsed)
