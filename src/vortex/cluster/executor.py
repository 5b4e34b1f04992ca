"""``RayExecutor``: the service's slots rendered by Ray actors, each with a resident pipeline.

It keeps the executor contract of ``vortex.service.executor`` (start, submit, cancel, workers,
close); what it adds is where and how a slot renders:

- **Workers**: ``workers`` Ray actors (``SlotWorker``), spread over the cluster's nodes, each
  reserving ``num_cpus`` CPUs and ``num_gpus`` GPUs (1 for the production backends on a GPU node)
  and holding one ``VortexPipeline`` loaded once.
- **Transport**: a job's uploads are put into the object store once; the worker returns the MP4
  bytes and the report through it. Nothing travels as a path: no shared file system.
- **Fault tolerance**: when a worker process dies mid-slot (SIGKILL, OOM, a lost node), Ray
  restarts that actor (the pipeline loads again) and the slot is re-run on the next free worker
  (``max_task_retries=0``: Ray never runs an actor task twice on its own), up to
  ``max_attempts`` times. ``submit`` returns exactly once per job, so a slot is reported done
  once and the service writes it once; the outcome names the worker that made it and the
  attempts that were lost.
- **Back-pressure**: ``submit`` waits for a free worker (all busy, or one restarting); the
  service's queue holds the rest and its bound still answers 429.

Slots render the same bytes on every worker: the pipeline is deterministic, and the tests
compare a Ray worker's bytes with this machine's own rendering.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from vortex.cluster.ray_support import NAMESPACE, check_address, connect, require_ray
from vortex.errors import InvalidInputError, VortexError
from vortex.service.executor import ProgressCallback, RenderJob, RenderOutcome, RenderProgress, WorkerInfo

_EXECUTORS = itertools.count()
DEFAULT_MAX_ATTEMPTS = 3
POLL_SECONDS = 0.25
"""How often a busy worker's progress is read, and a waiting job looks for a free worker."""


class WorkerLostError(VortexError):
    """A slot's worker process died on every attempt (the last cause in the message)."""


@dataclass
class _Worker:
    """The driver's view of one actor: its handle, where it runs and what it does now."""

    name: str
    handle: Any
    state: str = "starting"  # starting | idle | busy | restarting | dead
    job_id: str | None = None
    slots_done: int = 0
    node: str = ""
    pid: int = 0
    backends: dict = field(default_factory=dict)

    def label(self) -> str:
        return f"{self.name} (node {self.node}, pid {self.pid})"


class RayExecutor:
    """Renders ``RenderJob``s on Ray actors; see the module docstring.

    address: ``auto`` or the head node's ``HOST:PORT``; workers: actors to start (the capacity);
    num_cpus/num_gpus: what each reserves; pipeline_options: passed to each worker's
    ``VortexPipeline``; max_attempts: runs of one slot before it fails with WorkerLostError.
    Ray must be installed (``vortex[ray]``): constructing one without it fails at once.
    """

    def __init__(self, address: str = "auto", workers: int = 2, num_cpus: float = 1.0, num_gpus: float = 0.0,
                 pipeline_options: dict[str, Any] | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        require_ray()
        self.address = check_address(address)
        if workers < 1:
            raise InvalidInputError(f"--ray-workers must be at least 1, got {workers}")
        if not num_cpus > 0 or num_gpus < 0:
            raise InvalidInputError(f"each Ray worker needs num_cpus > 0 and num_gpus >= 0, "
                                    f"got {num_cpus:g}/{num_gpus:g}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.capacity = int(workers)
        self.num_cpus, self.num_gpus = float(num_cpus), float(num_gpus)
        self.max_attempts = int(max_attempts)
        self._options = dict(pipeline_options or {})
        # Names unique per executor in the cluster's namespace, readable in `vortex workers`.
        self._prefix = f"{socket.gethostname()}.{os.getpid()}.e{next(_EXECUTORS)}"
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._connected_here = False
        self._running: dict[str, tuple[_Worker, Any]] = {}
        self._watchers: set[asyncio.Task] = set()

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def connect(self) -> None:
        """Join the cluster (``start`` does it too); call it on the main thread, where Ray may
        install its signal handlers, to fail at once when there is no cluster."""
        if not self._connected_here:
            self._connected_here = connect(self.address)

    async def start(self) -> None:
        """Join the cluster, start the workers and wait until every pipeline has loaded."""
        ray = require_ray()
        from vortex.cluster.worker import CONTROL_GROUP, SlotWorker

        self.connect()
        actor_class = ray.remote(concurrency_groups={CONTROL_GROUP: 2})(SlotWorker)
        for i in range(self.capacity):
            name = f"{self._prefix}.w{i}"
            handle = actor_class.options(
                name=name, namespace=NAMESPACE, num_cpus=self.num_cpus, num_gpus=self.num_gpus,
                max_restarts=-1, max_task_retries=0, scheduling_strategy="SPREAD",
            ).remote(name, self._options)
            self._workers.append(_Worker(name, handle))
        try:
            infos = await asyncio.gather(*(self._info(w) for w in self._workers))
        except ray.exceptions.RayActorError as exc:
            await self.close()
            raise VortexError(f"a Ray worker failed to start: {_cause(exc)}") from None
        failed = [info for info in infos if info.get("error")]
        if failed:
            await self.close()
            raise VortexError(f"a Ray worker failed to start: {failed[0]['name']} on node {failed[0]['node']}: "
                              f"{failed[0]['error']}")
        with self._lock:
            for worker, info in zip(self._workers, infos):
                self._describe(worker, info)
                worker.state = "idle"
        self._ready.set()

    async def close(self) -> None:
        """Stop running slots, end the workers' processes and leave the cluster."""
        ray = require_ray()
        for worker, _ in list(self._running.values()):
            worker.state = "dead"
        for task in list(self._watchers):
            task.cancel()
        from vortex.cluster.worker import CONTROL_GROUP

        retiring = [w.handle.retire.options(concurrency_group=CONTROL_GROUP).remote() for w in self._workers
                    if w.state in ("idle", "busy")]
        if retiring:  # each removes its folder; a worker that does not answer in time is ended anyway
            await asyncio.wait([asyncio.wrap_future(ref.future()) for ref in retiring], timeout=10)
        for worker in self._workers:
            try:
                ray.kill(worker.handle, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
            worker.state = "dead"
        self._ready.clear()
        if self._connected_here and ray.is_initialized():
            ray.shutdown()
            self._connected_here = False

    # -- one job ------------------------------------------------------------------------------

    async def submit(self, job: RenderJob, on_progress: ProgressCallback) -> RenderOutcome:
        """Render ``job`` on a free worker; a worker lost mid-slot means a re-run on the next one."""
        ray = require_ray()
        if not self.ready:
            raise RuntimeError("RayExecutor.submit before start()")
        uploads = ray.put(dict(job.uploads))  # once: every attempt reads the same object
        lost: list[dict] = []
        while True:
            worker = await self._claim(job.job_id)
            try:
                reply = await self._render_on(worker, job, uploads, on_progress)
            except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError) as exc:
                lost.append({"worker": worker.label(), "error": _cause(exc)})
                self._lost(worker)
                if len(lost) >= self.max_attempts:
                    return self._failed(job, lost)
                continue
            except BaseException:
                self._release(worker, done=False)
                raise
            self._release(worker, done=bool(reply.get("success")))
            if reply.get("cancelled"):
                raise asyncio.CancelledError(f"job {job.job_id} cancelled")
            report = dict(reply["report"])
            report["worker"] = reply["worker"]
            report["lost_attempts"] = lost
            return RenderOutcome(job.job_id, bool(reply["success"]), reply["video"], report, reply["error"],
                                 reply["error_type"], int(reply["exit_code"]), _label(reply["worker"]))

    async def cancel(self, job_id: str) -> bool:
        running = self._running.get(job_id)
        if running is None:
            return False
        from vortex.cluster.worker import CONTROL_GROUP

        worker, _ = running
        try:
            return bool(await worker.handle.cancel.options(concurrency_group=CONTROL_GROUP).remote(job_id))
        except require_ray().exceptions.RayActorError:
            return False

    def workers(self) -> list[WorkerInfo]:
        with self._lock:
            return [WorkerInfo(w.name, w.job_id, w.slots_done, f"ray node {w.node} pid {w.pid} ({w.state})")
                    for w in self._workers]

    def describe_workers(self) -> list[dict]:
        """Every worker as a dict: name, node, pid, state, current job, slots done, backends."""
        with self._lock:
            return [{"name": w.name, "node": w.node, "pid": w.pid, "state": w.state, "job_id": w.job_id,
                     "slots_done": w.slots_done, "backends": dict(w.backends)} for w in self._workers]

    # -- internals ----------------------------------------------------------------------------

    async def _claim(self, job_id: str) -> _Worker:
        """The first idle worker, marked busy with ``job_id``; waits while none is idle."""
        while True:
            with self._lock:
                alive = [w for w in self._workers if w.state != "dead"]
                if not alive:
                    raise WorkerLostError("no Ray workers are left (every one died and could not restart)")
                for worker in alive:
                    if worker.state == "idle":
                        worker.state, worker.job_id = "busy", job_id
                        return worker
            await asyncio.sleep(POLL_SECONDS)

    def _release(self, worker: _Worker, done: bool) -> None:
        with self._lock:
            if worker.state == "busy":
                worker.state = "idle"
            worker.job_id = None
            worker.slots_done += done

    def _lost(self, worker: _Worker) -> None:
        """The worker's process died: wait in the background for Ray to restart it."""
        with self._lock:
            worker.state, worker.job_id = "restarting", None
        task = asyncio.ensure_future(self._await_restart(worker))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _await_restart(self, worker: _Worker) -> None:
        ray = require_ray()
        while True:
            try:
                info = await self._info(worker)
                break
            except ray.exceptions.ActorUnavailableError:  # still restarting (loading its pipeline)
                await asyncio.sleep(POLL_SECONDS)
            except ray.exceptions.RayActorError:  # gone for good (its restart failed)
                with self._lock:
                    worker.state = "dead"
                return
        with self._lock:
            self._describe(worker, info)
            if info.get("error"):  # restarted, but its backends no longer load here
                worker.state = "dead"
            elif worker.state == "restarting":
                worker.state = "idle"

    async def _render_on(self, worker: _Worker, job: RenderJob, uploads, on_progress: ProgressCallback) -> dict:
        from vortex.cluster.worker import CONTROL_GROUP

        ref = worker.handle.render.remote(job.job_id, job.recipe, uploads, dict(job.upload_suffixes), job.deadline)
        reply = asyncio.wrap_future(ref.future())
        self._running[job.job_id] = (worker, ref)
        last = None
        try:
            while True:
                done, _ = await asyncio.wait({reply}, timeout=POLL_SECONDS)
                if done:
                    answer = reply.result()
                    frames = int((answer.get("report") or {}).get("frames") or 0)
                    if answer.get("success") and last != ("animation", frames, frames):
                        on_progress(RenderProgress(job.job_id, "animation", frames, frames))  # polling missed the end
                    return answer
                try:
                    info = await asyncio.wait_for(self._info(worker), timeout=5 * POLL_SECONDS)
                except Exception:  # noqa: BLE001 - a dying or restarting worker: the reply says what happened
                    continue
                now = (info["stage"], info["frames_done"], info["frames_total"])
                if info["job_id"] == job.job_id and info["stage"] is not None and now != last:
                    last = now
                    on_progress(RenderProgress(job.job_id, *now))
        except asyncio.CancelledError:
            # The caller gave up: stop the slot on the worker and wait for it to free itself.
            try:
                await worker.handle.cancel.options(concurrency_group=CONTROL_GROUP).remote(job.job_id)
                await asyncio.shield(reply)
            except BaseException:  # noqa: BLE001 - cancelling: the worker may be gone already
                pass
            raise
        finally:
            self._running.pop(job.job_id, None)

    async def _info(self, worker: _Worker) -> dict:
        from vortex.cluster.worker import CONTROL_GROUP

        return await worker.handle.info.options(concurrency_group=CONTROL_GROUP).remote()

    @staticmethod
    def _describe(worker: _Worker, info: dict) -> None:
        worker.node, worker.pid, worker.backends = info["node"], int(info["pid"]), dict(info["backends"])

    def _failed(self, job: RenderJob, lost: list[dict]) -> RenderOutcome:
        error = (f"the slot's Ray worker died {len(lost)} time(s); last: {lost[-1]['worker']}: {lost[-1]['error']}")
        report = {"slot_id": job.job_id, "success": False, "error": error, "error_type": WorkerLostError.__name__,
                  "exit_code": WorkerLostError.exit_code, "recipe": job.recipe, "lost_attempts": lost,
                  "finished": time.time()}
        return RenderOutcome(job.job_id, False, None, report, error, WorkerLostError.__name__,
                             WorkerLostError.exit_code)


def _label(identity: dict) -> str:
    return f"{identity['name']} (node {identity['node']}, pid {identity['pid']})"


def _cause(exc: BaseException) -> str:
    """One line saying why a Ray call failed (Ray's messages span many lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line and ":" in line:
            return line[:300]
    return (lines[0] if lines else type(exc).__name__)[:300]
