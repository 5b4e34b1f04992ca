"""``SlotWorker``: one resident ``VortexPipeline`` in a Ray worker process.

``RayExecutor`` turns this class into a Ray actor (``ray.remote(SlotWorker)``), one per worker
process, with the CPUs and GPUs it may use. The pipeline loads once, in ``__init__``, and renders
every slot the actor is given, exactly as ``LocalExecutor`` does in the service's process: the
uploads are written into a private folder, the MP4 is rendered there, and its *bytes* go back
through Ray's object store, so the machines share no file system. The folder is removed when the
slot ends however it ends; a SIGKILLed worker cannot do that, so each new worker first removes
the folders of worker processes that no longer exist on its machine.

Methods run on two Ray concurrency groups: ``render`` on the default group (one slot at a time),
``info``, ``cancel`` and ``retire`` on ``control``, so they answer while a slot renders.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from vortex.service.executor import ProgressObserver, RenderJob, RenderProgress, materialize_recipe

CONTROL_GROUP = "control"
"""The concurrency group of ``info`` and ``cancel`` (the default group renders)."""


def work_root() -> Path:
    """Where every worker on this machine keeps its per-slot folders (``<name>.<pid>/``)."""
    return Path(tempfile.gettempdir()) / "vortex-ray-work"


def remove_dead_workers_folders(root: Path) -> list[str]:
    """Remove folders left by worker processes that died (SIGKILL, OOM); returns their names."""
    import psutil

    removed = []
    for folder in root.glob("*.*"):
        pid = folder.name.rsplit(".", 1)[-1]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


class SlotWorker:
    """A resident pipeline that renders one slot at a time and reports where it is.

    name: the worker's name in the cluster (a restarted worker keeps it, with a new pid);
    pipeline_options: passed to ``VortexPipeline`` (``animator``, ``actor``, ``speech``,
    ``models_dir``, ``device``). A backend that cannot load leaves ``info()["error"]`` set and
    the executor ends the worker instead of sending it slots.
    """

    def __init__(self, name: str, pipeline_options: dict[str, Any] | None = None) -> None:
        import ray

        from vortex.pipeline import VortexPipeline

        self.name = name
        self.pid = os.getpid()
        self.node = ray.util.get_node_ip_address()
        self.node_id = ray.get_runtime_context().get_node_id()
        self.host = socket.gethostname()
        self.started = time.time()
        root = work_root()
        root.mkdir(parents=True, exist_ok=True)
        self.cleaned = remove_dead_workers_folders(root)
        self._work = root / f"{name}.{self.pid}"
        self._work.mkdir(exist_ok=True)
        # A backend that cannot load is reported by ``info`` rather than raised: a constructor
        # that raises would be restarted by Ray again and again (the actor restarts forever).
        self.load_error: str | None = None
        try:
            self._pipeline = VortexPipeline(log_warnings=False, **dict(pipeline_options or {})).load()
        except Exception as exc:  # noqa: BLE001 - reported to the executor, which gives up on this worker
            self._pipeline = None
            self.load_error = f"{type(exc).__name__}: {exc}"
        self._lock = threading.Lock()
        self._job: str | None = None
        self._progress: RenderProgress | None = None
        self._slots_done = 0
        self._cancel: dict[str, Any] = {}

    def identity(self) -> dict:
        """Who this is: name, node address, host and process id."""
        return {"name": self.name, "node": self.node, "node_id": self.node_id, "host": self.host, "pid": self.pid}

    def info(self) -> dict:
        """The worker now: identity, backends, device, current job and its progress, slots done."""
        with self._lock:
            progress = self._progress
            return {
                **self.identity(),
                "error": self.load_error,
                "backends": ({stage: choice.name for stage, choice in self._pipeline.backend_choices.items()}
                             if self._pipeline is not None else {}),
                "device": self._pipeline.device.describe() if self._pipeline is not None else None,
                "job_id": self._job,
                "stage": progress.stage if progress else None,
                "frames_done": progress.frames_done if progress else 0,
                "frames_total": progress.frames_total if progress else 0,
                "slots_done": self._slots_done,
                "started": self.started,
                "cleaned": list(self.cleaned),
            }

    def retire(self) -> None:
        """Remove this worker's folder (the executor then ends the process)."""
        shutil.rmtree(self._work, ignore_errors=True)

    def cancel(self, job_id: str) -> bool:
        """Stop ``job_id`` at its next chunk (its ``render`` then answers ``cancelled``)."""
        with self._lock:
            stop = self._cancel.get(job_id)
        if stop is None:
            return False
        stop()
        return True

    def render(self, job_id: str, recipe: dict, uploads: dict[str, bytes], upload_suffixes: dict[str, str],
               deadline: float | None) -> dict:
        """Render one slot; returns ``{"video": MP4 bytes or None, "report", "success", ...}``.

        ``uploads`` arrives from the object store (the driver put it there once; a re-run on
        another worker reads the same object). Never raises for a failed slot.
        """
        if self._pipeline is None:
            raise RuntimeError(f"worker {self.name} has no pipeline: {self.load_error}")
        job = RenderJob(job_id, recipe, dict(uploads), dict(upload_suffixes), deadline)
        folder = Path(tempfile.mkdtemp(prefix="slot.", dir=self._work))
        loop = asyncio.new_event_loop()
        with self._lock:
            self._job, self._progress = job_id, RenderProgress(job_id, "speech")
        try:
            output = folder / "slot.mp4"
            task = loop.create_task(self._pipeline.generate_slot(
                materialize_recipe(job, folder), slot_id=job_id, output=output, deadline=deadline,
                progress=ProgressObserver(job_id, self._on_progress)))
            with self._lock:
                self._cancel[job_id] = lambda: loop.call_soon_threadsafe(task.cancel)
            try:
                result = loop.run_until_complete(task)
            except asyncio.CancelledError:
                return {"job_id": job_id, "cancelled": True, "worker": self.identity()}
            report = result.to_dict()
            report["recipe"] = job.recipe  # the network's recipe, not this worker's upload paths
            video = output.read_bytes() if result.success else None
            with self._lock:
                self._slots_done += result.success
            return {"job_id": job_id, "cancelled": False, "success": result.success, "video": video, "report": report,
                    "error": result.error, "error_type": result.error_type, "exit_code": result.exit_code,
                    "worker": self.identity()}
        finally:
            with self._lock:
                self._cancel.pop(job_id, None)
                self._job, self._progress = None, None
            loop.close()
            shutil.rmtree(folder, ignore_errors=True)

    def _on_progress(self, progress: RenderProgress) -> None:
        with self._lock:
            self._progress = progress
