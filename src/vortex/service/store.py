"""Jobs and channels in SQLite (WAL) under the service's data folder, so a crash loses nothing.

One row per slot job (its recipe, status, timings, warnings, the idempotency key, its channel
and place there) and one per channel. Outputs are files beside the database (``files.py``);
a row says ``done`` only after its files were published, so a ``done`` row always has them.

On start, ``recover()`` turns jobs a crash left ``running`` back into ``queued`` (their
attempt count goes up): they re-run from scratch and, rendering being deterministic, give the
same bytes they would have.

Every call opens its own short transaction on one connection guarded by a lock; the service
calls it from the event loop and from worker threads alike.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    recipe TEXT NOT NULL,
    uploads TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT UNIQUE,
    channel TEXT,
    channel_index INTEGER,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    error_type TEXT,
    exit_code INTEGER,
    warnings TEXT NOT NULL DEFAULT '[]',
    timings TEXT NOT NULL DEFAULT '{}',
    duration_sec REAL,
    worker TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);
CREATE INDEX IF NOT EXISTS jobs_channel ON jobs(channel, channel_index);
CREATE TABLE IF NOT EXISTS channels (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL,
    on_air_since REAL
);
"""


@dataclass(frozen=True)
class JobRecord:
    """A job as stored. ``uploads`` maps an upload kind to its file suffix (``{"photo": ".png"}``)."""

    id: str
    seq: int
    status: str
    recipe: dict
    uploads: dict[str, str]
    idempotency_key: str | None
    channel: str | None
    channel_index: int | None
    created: float
    started: float | None
    finished: float | None
    attempts: int
    error: str | None
    error_type: str | None
    exit_code: int | None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    duration_sec: float | None = None
    worker: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class ChannelRecord:
    name: str
    created: float
    on_air_since: float | None


class Store:
    """The service's database: ``<data>/vortex.db`` in WAL mode."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a job said done survives a power cut, not only kill -9
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    # -- jobs -------------------------------------------------------------------------------

    def add_job(
        self,
        recipe: dict,
        uploads: dict[str, str],
        idempotency_key: str | None = None,
        channel: str | None = None,
        job_id: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Insert a queued job; with a known ``idempotency_key`` return that job instead.

        Returns (job, created). A channel job gets the next index of its channel. ``job_id``
        lets the caller write the job's uploads before the row that refers to them exists.
        """
        with self._lock:
            if idempotency_key is not None:
                existing = self.job_by_key(idempotency_key)
                if existing is not None:
                    return existing, False
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
                index = None
                if channel is not None:
                    index = self._db.execute(
                        "SELECT COALESCE(MAX(channel_index), -1) + 1 FROM jobs WHERE channel=?", (channel,)
                    ).fetchone()[0]
                job_id = job_id or new_job_id()
                self._db.execute(
                    "INSERT INTO jobs (id, seq, status, recipe, uploads, idempotency_key, channel, channel_index, "
                    "created) "
                    "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                    (
                        job_id,
                        seq,
                        json.dumps(recipe),
                        json.dumps(uploads),
                        idempotency_key,
                        channel,
                        index,
                        time.time(),
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return self.job(job_id), True

    def job_by_key(self, idempotency_key: str) -> JobRecord | None:
        row = self._tx("SELECT * FROM jobs WHERE idempotency_key=?", (idempotency_key,)).fetchone()
        return None if row is None else _job(row)

    def job(self, job_id: str) -> JobRecord | None:
        row = self._tx("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def jobs(self, status: str | None = None, limit: int = 100, channel: str | None = None) -> list[JobRecord]:
        """Jobs newest first (``status``/``channel`` filter), or a channel's in programme order."""
        if channel is not None:
            rows = self._tx("SELECT * FROM jobs WHERE channel=? ORDER BY channel_index", (channel,)).fetchall()
        elif status is not None:
            rows = self._tx("SELECT * FROM jobs WHERE status=? ORDER BY seq DESC LIMIT ?", (status, limit)).fetchall()
        else:
            rows = self._tx("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [_job(row) for row in rows]

    def next_queued(self, exclude: set[str]) -> JobRecord | None:
        """The oldest queued job not in ``exclude`` (FIFO by submission)."""
        for row in self._tx("SELECT * FROM jobs WHERE status='queued' ORDER BY seq").fetchall():
            if row["id"] not in exclude:
                return _job(row)
        return None

    def count(self, status: str) -> int:
        return self._tx("SELECT COUNT(*) FROM jobs WHERE status=?", (status,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        rows = self._tx("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        found = {row[0]: row[1] for row in rows}
        return {status: found.get(status, 0) for status in STATUSES}

    def mark_running(self, job_id: str, worker: str | None = None) -> bool:
        """Start a queued job; False when it is no longer queued (cancelled in the meantime)."""
        cursor = self._tx(
            "UPDATE jobs SET status='running', started=?, attempts=attempts+1, worker=? WHERE id=? AND status='queued'",
            (time.time(), worker, job_id),
        )
        return cursor.rowcount == 1

    def finish(
        self,
        job_id: str,
        status: str,
        error: str | None = None,
        error_type: str | None = None,
        exit_code: int | None = None,
        warnings: list[str] | None = None,
        timings: dict | None = None,
        duration_sec: float | None = None,
        worker: str | None = None,
    ) -> None:
        if status not in FINAL:
            raise ValueError(f"not a final status: {status}")
        self._tx(
            "UPDATE jobs SET status=?, finished=?, error=?, error_type=?, exit_code=?, warnings=?, timings=?, "
            "duration_sec=?, "
            "worker=COALESCE(?, worker) WHERE id=?",
            (
                status,
                time.time(),
                error,
                error_type,
                exit_code,
                json.dumps(warnings or []),
                json.dumps(timings or {}),
                duration_sec,
                worker,
                job_id,
            ),
        )

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job that has not started; False if it already runs or ended."""
        cursor = self._tx(
            "UPDATE jobs SET status='cancelled', finished=? WHERE id=? AND status='queued'", (time.time(), job_id)
        )
        return cursor.rowcount == 1

    def recover(self) -> list[str]:
        """Jobs a crash left running go back to the queue; returns their ids."""
        with self._lock:
            ids = [row[0] for row in self._db.execute("SELECT id FROM jobs WHERE status='running'").fetchall()]
            self._db.execute("UPDATE jobs SET status='queued', started=NULL, worker=NULL WHERE status='running'")
        return ids

    # -- channels ---------------------------------------------------------------------------

    def add_channel(self, name: str) -> bool:
        """Create a channel; False if it exists already."""
        cursor = self._tx("INSERT OR IGNORE INTO channels (name, created) VALUES (?, ?)", (name, time.time()))
        return cursor.rowcount == 1

    def channel(self, name: str) -> ChannelRecord | None:
        row = self._tx("SELECT * FROM channels WHERE name=?", (name,)).fetchone()
        return None if row is None else ChannelRecord(row["name"], row["created"], row["on_air_since"])

    def channels(self) -> list[ChannelRecord]:
        return [
            ChannelRecord(r["name"], r["created"], r["on_air_since"])
            for r in self._tx("SELECT * FROM channels ORDER BY created")
        ]

    def put_on_air(self, name: str, since: float) -> None:
        """The broadcast starts when the channel's first slot is ready (kept across restarts)."""
        self._tx("UPDATE channels SET on_air_since=? WHERE name=? AND on_air_since IS NULL", (since, name))

    def iter_all(self) -> Iterator[JobRecord]:
        for row in self._tx("SELECT * FROM jobs ORDER BY seq").fetchall():
            yield _job(row)


def new_job_id() -> str:
    return uuid.uuid4().hex[:16]


def _job(row: sqlite3.Row) -> JobRecord:
    data: dict[str, Any] = dict(row)
    for key, empty in (("recipe", "{}"), ("uploads", "{}"), ("warnings", "[]"), ("timings", "{}")):
        data[key] = json.loads(data[key] or empty)
    return JobRecord(**data)
