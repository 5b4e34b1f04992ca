"""Where a slot renders: the executor interface the service dispatches to, and the local one.

The service (``vortex.service``) owns jobs, files, limits and auth; an executor owns only the
rendering. It receives a ``RenderJob`` (an id, a validated recipe dict that names no file, and
the uploaded photo/audio as bytes), reports ``RenderProgress`` while it works and returns a
``RenderOutcome`` carrying the MP4 *bytes* and the report. Nothing travels as a path, so an
executor may render on another machine without a shared file system (the Ray executor ships
bytes back the same way). A slot's bytes never depend on which executor rendered it.

Contract every executor keeps (the service and its tests rely on it; keep this shape stable):

- ``await start()`` loads the models once; ``ready`` turns true when that is done.
- ``await submit(job, on_progress)`` renders one job and returns its ``RenderOutcome``. It
  returns (never raises) for a failed slot; ``on_progress`` is called from any thread with a
  ``RenderProgress`` whenever something moved. At most ``capacity`` jobs run at once; the
  service never submits more than that, it queues the rest itself.
- ``await cancel(job_id)`` stops a running job at its next chunk; its ``submit`` then raises
  ``asyncio.CancelledError`` and nothing of the job is left on disk. Cancelling the task that
  awaits ``submit`` has the same effect.
- ``workers()`` lists the workers (name, current job, slots done) for ``/readyz`` and the page.
- ``await close()`` cancels what runs and releases the models.

``LocalExecutor`` renders in this process: one resident ``VortexPipeline`` (models loaded once,
shared by the workers because a pipeline runs several slots at once with the same bytes as
alone) and ``workers`` render slots at a time, each job in a private temporary folder under
``work_dir`` that is removed when the job ends, however it ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, runtime_checkable

from vortex.progress import Progress

UPLOAD_KINDS = ("photo", "audio")
"""Upload names a ``RenderJob`` may carry: ``photo`` replaces ``visual_track.photo_file`` and
``audio`` replaces ``audio_track.audio_file`` (the recipe itself never names a file)."""


@dataclass(frozen=True)
class RenderJob:
    """One slot to render.

    recipe: a recipe dict already validated by the service (``Recipe.to_dict()`` shape) with no
    ``photo_file``/``audio_file``; uploads: ``{"photo": bytes, "audio": bytes}`` (either or
    none) with the file name suffix each had (``upload_suffixes``), so decoders see the format;
    deadline: seconds for the whole slot, or None.
    """

    job_id: str
    recipe: dict
    uploads: dict[str, bytes] = field(default_factory=dict)
    upload_suffixes: dict[str, str] = field(default_factory=dict)
    deadline: float | None = None


@dataclass(frozen=True)
class RenderProgress:
    """Where a job is: ``stage`` (what moved last, as the pipeline's ``SlotProgress`` says:
    ``speech``, ``actor``, ``animation``, ``done``), and the frames that reached the sinks so far
    out of the slot's total (the total is 0 while an ``auto`` slot is still speaking)."""

    job_id: str
    stage: str
    frames_done: int = 0
    frames_total: int = 0


@dataclass(frozen=True)
class RenderOutcome:
    """What a job produced. ``video``: the MP4 bytes (None when it failed); ``report``: the
    slot report (``SlotResult.to_dict()``); ``error``/``error_type``/``exit_code`` as the CLI
    would report them; ``worker``: who rendered it."""

    job_id: str
    success: bool
    video: bytes | None
    report: dict
    error: str | None = None
    error_type: str | None = None
    exit_code: int = 0
    worker: str = ""


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    job_id: str | None
    slots_done: int
    where: str = "local"


ProgressCallback = Callable[[RenderProgress], None]


@runtime_checkable
class Executor(Protocol):
    """Renders ``RenderJob``s somewhere; see the module docstring for the contract."""

    capacity: int

    @property
    def ready(self) -> bool: ...

    async def start(self) -> None: ...

    async def submit(self, job: RenderJob, on_progress: ProgressCallback) -> RenderOutcome: ...

    async def cancel(self, job_id: str) -> bool: ...

    def workers(self) -> list[WorkerInfo]: ...

    async def close(self) -> None: ...


def materialize_recipe(job: RenderJob, folder: Path) -> dict:
    """The job's recipe with its uploads written into ``folder`` and named by path.

    Every executor renders through this, so an uploaded photo or recording reaches the pipeline
    exactly as ``vortex generate --photo/--audio`` would read it.
    """
    recipe = json.loads(json.dumps(job.recipe))  # a private deep copy
    for kind, data in job.uploads.items():
        if kind not in UPLOAD_KINDS:
            raise ValueError(f"unknown upload {kind!r}; expected one of {UPLOAD_KINDS}")
        path = folder / f"{kind}{job.upload_suffixes.get(kind, '')}"
        path.write_bytes(data)
        if kind == "photo":
            visual = recipe.setdefault("visual_track", {})
            visual.pop("prompt", None)
            visual.pop("negative_prompt", None)
            visual["photo_file"] = str(path)
        else:
            audio = recipe.setdefault("audio_track", {})
            for key in ("voice_id", "speed", "emotion"):
                audio.pop(key, None)
            audio["audio_file"] = str(path)
    return recipe


def progress_adapter(job_id: str, callback: ProgressCallback) -> Callable[[Any], None]:
    """An ``on_progress`` for ``VortexPipeline.generate_slot`` that reports ``RenderProgress``.

    Executors pass it with a ``cancel`` event: ``generate_slot(..., on_progress=progress_adapter(
    job.job_id, on_progress), cancel=event)``; setting the event stops the slot at its next chunk.
    """

    def report(progress) -> None:  # a vortex.pipeline SlotProgress
        # a total the pipeline does not know yet (an auto slot still speaking) is reported as 0
        callback(RenderProgress(job_id, progress.stage, progress.frames_done or 0, progress.frames_total or 0))

    return report


class ProgressObserver(Progress):
    """A ``Progress`` that turns the pipeline's JSON progress lines into ``RenderProgress`` calls.

    Superseded by ``progress_adapter`` (the pipeline's own ``on_progress``), which also reports
    speech; kept while the Ray worker still passes it as ``progress=``.
    """

    def __init__(self, job_id: str, callback: ProgressCallback) -> None:
        super().__init__("json", stream=_LineSink(self._on_line))
        self._job_id = job_id
        self._callback = callback
        self._frames = (0, 0)
        self._stage = "speech"

    def _on_line(self, line: str) -> None:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return
        kind = event.get("event")
        if kind == "stage":
            self._stage = {
                "speech": "actor",
                "actor": "prepare",
                "prepare": "motion",
                "motion": "animation",
                "animation": "encode",
            }.get(str(event.get("stage")), self._stage)
        elif kind in ("start", "progress", "done") and event.get("task") == "animation":
            self._stage = "animation"
            total = int(event.get("total", self._frames[1]) or 0)
            self._frames = (int(event.get("done", 0) or 0), total)
        else:
            return
        self._callback(RenderProgress(self._job_id, self._stage, *self._frames))


class _LineSink:
    """A text stream that hands each complete line to a function."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self._on_line = on_line
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip():
                self._on_line(line)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class LocalExecutor:
    """Renders in this process with one resident ``VortexPipeline`` and ``workers`` at once.

    pipeline_options: passed to ``VortexPipeline`` (``animator``, ``actor``, ``speech``,
    ``models_dir``); work_dir: where each job gets its private temporary folder (emptied of
    leftovers at ``start``, e.g. after a crash).
    """

    def __init__(
        self,
        workers: int = 1,
        work_dir: str | os.PathLike[str] | None = None,
        pipeline_options: dict[str, Any] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.capacity = int(workers)
        self._work_dir = (
            Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir()) / f"vortex-work-{os.getpid()}"
        )
        self._options = dict(pipeline_options or {})
        self._pipeline = None
        self._ready = threading.Event()
        self._names = [f"local-{i}" for i in range(self.capacity)]
        self._busy: dict[str, str | None] = dict.fromkeys(self._names)
        self._done: dict[str, int] = dict.fromkeys(self._names, 0)
        self._tasks: dict[str, asyncio.Task] = {}
        self._cancels: dict[str, threading.Event] = {}

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def pipeline(self):
        """The resident pipeline (after ``start``): its ``backend_choices`` say what renders."""
        return self._pipeline

    async def start(self) -> None:
        from vortex.pipeline import VortexPipeline

        shutil.rmtree(self._work_dir, ignore_errors=True)
        self._work_dir.mkdir(parents=True, exist_ok=True)
        pipeline = VortexPipeline(log_warnings=False, **self._options)
        await asyncio.to_thread(pipeline.load)
        self._pipeline = pipeline
        self._ready.set()

    async def submit(self, job: RenderJob, on_progress: ProgressCallback) -> RenderOutcome:
        if self._pipeline is None:
            raise RuntimeError("LocalExecutor.submit before start()")
        worker = next((name for name, current in self._busy.items() if current is None), None)
        if worker is None:
            raise RuntimeError(f"all {self.capacity} local workers are busy; the service queues jobs beyond capacity")
        self._busy[worker] = job.job_id
        task = asyncio.current_task()
        if task is not None:
            self._tasks[job.job_id] = task
        cancel = self._cancels[job.job_id] = threading.Event()
        folder = Path(tempfile.mkdtemp(prefix=f"{job.job_id}.", dir=self._work_dir))
        try:
            recipe = materialize_recipe(job, folder)
            output = folder / "slot.mp4"
            result = await self._pipeline.generate_slot(
                recipe,
                slot_id=job.job_id,
                output=output,
                on_progress=progress_adapter(job.job_id, on_progress),
                cancel=cancel,
                deadline=job.deadline,
            )
            if cancel.is_set() and not result.success:
                raise asyncio.CancelledError(f"slot {job.job_id} cancelled")
            report = result.to_dict()
            report["recipe"] = job.recipe  # the network's recipe, not the private upload paths
            video = output.read_bytes() if result.success else None
            self._done[worker] += 1
            return RenderOutcome(
                job.job_id, result.success, video, report, result.error, result.error_type, result.exit_code, worker
            )
        finally:
            self._tasks.pop(job.job_id, None)
            self._cancels.pop(job.job_id, None)
            self._busy[worker] = None
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def cancel(self, job_id: str) -> bool:
        """Stop the job at its next chunk (the pipeline removes what it wrote)."""
        event = self._cancels.get(job_id)
        if event is None:
            return False
        event.set()
        return True

    def workers(self) -> list[WorkerInfo]:
        return [WorkerInfo(name, self._busy[name], self._done[name]) for name in self._names]

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            try:
                await task
            except BaseException:  # noqa: BLE001 - closing: every job ends, however
                pass
        self._ready.clear()
        self._pipeline = None
        shutil.rmtree(self._work_dir, ignore_errors=True)
