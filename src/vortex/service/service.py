"""``SlotService``: jobs, files, the queue and channels around an ``Executor`` (no HTTP here).

1. ``submit`` checks the uploads and the recipe (422/413), the queue bound (429), writes the
   uploads, then the job row (``queued``); an ``Idempotency-Key`` seen before returns its job.
2. The scheduler hands the oldest queued jobs to the executor, at most ``capacity`` at once.
3. A finished job's MP4 bytes, report, thumbnail and (for channel slots) HLS segments are
   written atomically; only then does its row say ``done``.
4. ``start`` first sweeps temporary files and returns jobs a crash left ``running`` to the queue;
   they re-run from scratch with the same bytes.

Progress and status changes go to subscribers (the SSE stream) as dicts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import AsyncIterator

from vortex.media.hls import PLAYLIST_NAME, channel_playlist
from vortex.service.channels import PublishedSlot, check_channel_name, programme_guide
from vortex.service.executor import Executor, RenderJob, RenderOutcome, RenderProgress
from vortex.service.files import SlotFiles
from vortex.service.hls import segment_mp4
from vortex.service.limits import LimitError, ServiceLimits, check_audio, check_photo
from vortex.service.metrics import Metrics
from vortex.service.recipes import validate_network_recipe
from vortex.service.store import FINAL, JobRecord, Store, new_job_id

log = logging.getLogger("vortex.service")


class QueueFull(Exception):
    """The queue is at its bound; ``retry_after`` estimates when a place frees up (seconds)."""

    def __init__(self, queued: int, limit: int, retry_after: int) -> None:
        super().__init__(f"the queue holds {queued} slots, its limit is {limit}; retry in about {retry_after} s")
        self.retry_after = retry_after


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


class SlotService:
    def __init__(self, data_dir: str | Path, executor: Executor, limits: ServiceLimits | None = None) -> None:
        self.files = SlotFiles(data_dir)
        self.store = Store(self.files.database)
        self.executor = executor
        self.limits = limits or ServiceLimits()
        self.metrics = Metrics()
        self.progress: dict[str, RenderProgress] = {}
        self.recovered: list[str] = []
        self._running: dict[str, asyncio.Task] = {}
        self._cancelling: set[str] = set()
        self._subscribers: dict[str, set[asyncio.Queue]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.load_error: str | None = None
        self._playlist_lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover, then load the executor's models in the background (``/readyz`` waits for it)."""
        self._loop = asyncio.get_running_loop()
        self.files.sweep()
        self.recovered = self.store.recover()
        for name in self.channel_names():  # a crash may have come between a slot's row and its channel's playlist
            self._write_channel_playlist(name)
        if self.recovered:
            log.warning(
                "re-running %d slot(s) interrupted by a restart: %s", len(self.recovered), ", ".join(self.recovered)
            )
        self._tasks = [asyncio.create_task(self._load()), asyncio.create_task(self._schedule())]

    async def _load(self) -> None:
        try:
            await self.executor.start()
        except Exception as exc:  # noqa: BLE001 - reported by /readyz, not a crash
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("the renderer could not start: %s", self.load_error)
        self._wake.set()

    async def stop(self) -> None:
        """Stop without losing work: running jobs stay ``running`` in the database and re-run at
        the next start; the executor cleans up its temporary files."""
        self._stopping = True
        for task in self._tasks + list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._running.values(), return_exceptions=True)
        await self.executor.close()
        self.store.close()

    @property
    def ready(self) -> bool:
        return self.executor.ready and not self._stopping

    # -- submission -------------------------------------------------------------------------

    def _check_uploads(self, uploads: dict[str, bytes]) -> dict[str, tuple[bytes, str]]:
        checks = {"photo": check_photo, "audio": check_audio}
        return {kind: (data, checks[kind](data, self.limits)) for kind, data in uploads.items()}

    def _check_queue(self, adding: int = 1) -> None:
        queued = self.store.count("queued")
        if queued + adding > self.limits.max_queue:
            raise QueueFull(queued, self.limits.max_queue, self.retry_after(queued))

    def retry_after(self, queued: int) -> int:
        """Seconds until about one queued job has started: the queue ahead of it over the
        workers, at the mean render time seen so far (10 s before any)."""
        mean = self.metrics.render_sum / self.metrics.render_count if self.metrics.render_count else 10.0
        return max(1, int(round(mean * max(1, queued - self.limits.max_queue + 1) / max(1, self.executor.capacity))))

    def validate(
        self, recipe: object, uploads: dict[str, bytes] | None = None
    ) -> tuple[dict, dict[str, tuple[bytes, str]]]:
        checked = self._check_uploads(uploads or {})
        self.files.work.mkdir(parents=True, exist_ok=True)
        return validate_network_recipe(recipe, checked, self.limits, self.files.work), checked

    def submit(
        self,
        recipe: object,
        uploads: dict[str, bytes] | None = None,
        idempotency_key: str | None = None,
        channel: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Validate and queue one slot; returns (job, created). Raises LimitError or QueueFull."""
        if idempotency_key is not None:
            existing = self.store.job_by_key(idempotency_key)
            if existing is not None:
                return existing, False
        canonical, checked = self.validate(recipe, uploads)
        self._check_queue()
        return self._queue(canonical, checked, idempotency_key, channel)

    def _queue(
        self, canonical: dict, checked: dict[str, tuple[bytes, str]], idempotency_key: str | None, channel: str | None
    ) -> tuple[JobRecord, bool]:
        job_id = new_job_id()
        for kind, (data, suffix) in checked.items():  # uploads first: a queued row always has its files
            self.files.write(self.files.upload(job_id, kind, suffix), data)
        job, created = self.store.add_job(
            canonical, {k: s for k, (_, s) in checked.items()}, idempotency_key, channel, job_id
        )
        if not created:
            self.files.remove(job_id)
        self._notify()
        return job, created

    def _notify(self) -> None:
        """Wake the scheduler; safe from the request threads ``submit`` runs on (asyncio's Event is not)."""
        if self._loop is None:
            return
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- jobs -------------------------------------------------------------------------------

    def job(self, job_id: str) -> JobRecord:
        try:
            self.files.folder(job_id)  # ids come from URLs: only well-formed ones reach the database
        except ValueError:
            raise NotFound(f"no slot {job_id!r}") from None
        job = self.store.job(job_id)
        if job is None:
            raise NotFound(f"no slot {job_id!r}")
        return job

    def status(self, job: JobRecord) -> dict:
        progress = self.progress.get(job.id)
        report = None
        if job.status in ("done", "failed") and self.files.report(job.id).is_file():
            report = json.loads(self.files.report(job.id).read_text())
        base = f"/v1/slots/{job.id}"
        frames_total = progress.frames_total if progress else 0
        if job.status == "done" and report is not None:
            frames_total = report.get("frames", 0)
        return {
            "id": job.id,
            "status": job.status,
            "status_url": base,
            "video_url": f"{base}/video.mp4" if job.status == "done" else None,
            "report_url": f"{base}/report.json" if job.status in ("done", "failed") else None,
            "thumbnail_url": f"{base}/thumbnail.jpg" if job.status == "done" else None,
            "events_url": f"{base}/events",
            "progress": {
                "stage": "done" if job.status == "done" else (progress.stage if progress else job.status),
                "frames_done": frames_total if job.status == "done" else (progress.frames_done if progress else 0),
                "frames_total": frames_total,
            },
            "created": job.created,
            "started": job.started,
            "finished": job.finished,
            "attempts": job.attempts,
            "channel": job.channel,
            "worker": job.worker,
            "duration_sec": job.duration_sec,
            "timings": job.timings,
            "warnings": job.warnings,
            "error": job.error,
            "error_type": job.error_type,
            "recipe": job.recipe,
            "report": report,
        }

    async def cancel(self, job_id: str) -> JobRecord:
        job = self.job(job_id)
        if job.final:
            raise Conflict(f"slot {job_id} is already {job.status}")
        if self.store.cancel_queued(job_id):
            self.files.remove(job_id)
            self.metrics.finished("cancelled", None)
            self._publish(job_id)
            return self.job(job_id)
        self._cancelling.add(job_id)
        task = self._running.get(job_id)
        if not await self.executor.cancel(job_id) and task is not None:
            task.cancel()  # the executor did not know the job yet: stop the task that hands it over
        if task is not None:
            await asyncio.wait({task})
        return self.job(job_id)

    async def events(self, job_id: str) -> AsyncIterator[dict]:
        """The job's status now, then at every change, ending with its final status."""
        self.job(job_id)
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self._subscribers.setdefault(job_id, set()).add(queue)
        try:
            current = self.status(self.job(job_id))
            yield current
            while current["status"] not in FINAL:
                current = await queue.get()
                yield current
        finally:
            self._subscribers[job_id].discard(queue)
            if not self._subscribers[job_id]:
                del self._subscribers[job_id]

    def _publish(self, job_id: str) -> None:
        queues = self._subscribers.get(job_id)
        if not queues:
            return
        status = self.status(self.job(job_id))
        for queue in queues:
            if queue.full():
                queue.get_nowait()  # a slow reader loses an old progress event, never the last one
            queue.put_nowait(status)

    def _on_progress(self, progress: RenderProgress) -> None:
        self.progress[progress.job_id] = progress
        self._publish(progress.job_id)

    # -- the queue --------------------------------------------------------------------------

    async def _schedule(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.executor.ready and len(self._running) < self.executor.capacity:
                job = self.store.next_queued(exclude=set(self._running))
                if job is None:
                    break
                self._running[job.id] = asyncio.create_task(self._run(job))

    async def _run(self, job: JobRecord) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            if not self.store.mark_running(job.id):
                return  # cancelled between the scheduler's pick and this task's start
            self._publish(job.id)
            render = RenderJob(
                job.id,
                job.recipe,
                {kind: self.files.upload(job.id, kind, suffix).read_bytes() for kind, suffix in job.uploads.items()},
                dict(job.uploads),
                self.limits.slot_deadline_sec,
            )
            try:
                outcome = await self.executor.submit(render, lambda p: loop.call_soon_threadsafe(self._on_progress, p))
            except asyncio.CancelledError:
                if self._stopping or job.id not in self._cancelling:
                    raise  # shutting down: the row stays running and re-runs at the next start
                self.store.finish(job.id, "cancelled")
                await asyncio.to_thread(self.files.remove, job.id)
                self.metrics.finished("cancelled", None)
                return
            except Exception as exc:  # noqa: BLE001 - an executor fault fails this job, not the server
                log.exception("executor failed on slot %s", job.id)
                outcome = RenderOutcome(
                    job.id, False, None, {}, f"internal error: {type(exc).__name__}: {exc}", type(exc).__name__, 1
                )
            await asyncio.to_thread(self._publish_outcome, job, outcome)
            self.metrics.finished("done" if outcome.success else "failed", time.perf_counter() - started)
        finally:
            self._running.pop(job.id, None)
            self._cancelling.discard(job.id)
            self.progress.pop(job.id, None)
            if not self._stopping:
                self._publish(job.id)
                self._wake.set()

    def _publish_outcome(self, job: JobRecord, outcome: RenderOutcome) -> None:
        """Files first, then the row: a ``done`` row always has its video (runs on a thread)."""
        report = dict(outcome.report or {"slot_id": job.id, "success": False, "error": outcome.error})
        report["output"] = f"/v1/slots/{job.id}/video.mp4" if outcome.success else None  # not the worker's private path
        if outcome.success and outcome.video is not None:
            self.files.write(self.files.video(job.id), outcome.video)
            self.files.write(self.files.thumbnail(job.id), thumbnail_jpeg(outcome.video))
            if job.channel is not None:
                segment_mp4(self.files.video(job.id), self.files.hls(job.id))
        self.files.write(self.files.report(job.id), (json.dumps(report, indent=2) + "\n").encode())
        self.files.remove_uploads(job.id, job.uploads)
        self.store.finish(
            job.id,
            "done" if outcome.success else "failed",
            error=outcome.error,
            error_type=outcome.error_type,
            exit_code=outcome.exit_code,
            warnings=list(report.get("warnings", [])),
            timings=report.get("timings", {}),
            duration_sec=report.get("duration_sec"),
            worker=outcome.worker,
        )
        if outcome.success and job.channel is not None:
            self.store.put_on_air(job.channel, time.time())
            self._write_channel_playlist(job.channel)

    # -- channels ---------------------------------------------------------------------------

    def create_channel(self, name: object, recipes: object) -> list[JobRecord]:
        name = check_channel_name(name)
        if not isinstance(recipes, list):
            raise LimitError(422, "recipes", "recipes: must be a list of recipes")
        if len(recipes) > self.limits.max_channel_recipes:
            raise LimitError(
                413, "recipes", f"recipes: {len(recipes)} recipes, over the limit of {self.limits.max_channel_recipes}"
            )
        canonical = [self._validate_indexed(recipe, i) for i, recipe in enumerate(recipes)]
        if self.store.channel(name) is not None:
            raise Conflict(f"channel {name!r} exists; append slots with POST /v1/channels/{name}/slots")
        self._check_queue(len(canonical))
        self.store.add_channel(name)
        return [self._queue(recipe, {}, None, name)[0] for recipe in canonical]

    def append_to_channel(self, name: str, recipe: object, uploads: dict[str, bytes] | None = None) -> JobRecord:
        if self.store.channel(name) is None:
            raise NotFound(f"no channel {name!r}")
        canonical, checked = self.validate(recipe, uploads)
        self._check_queue()
        return self._queue(canonical, checked, None, name)[0]

    def _validate_indexed(self, recipe: object, index: int) -> dict:
        try:
            return self.validate(recipe)[0]
        except LimitError as exc:
            raise LimitError(exc.status, f"recipes[{index}].{exc.field}", f"recipes[{index}].{exc}") from None

    def _published(self, name: str) -> tuple[list[JobRecord], list[PublishedSlot]]:
        """The channel's jobs in programme order, and the finished ones that lead it (the
        broadcast stops at the first slot that is not ready, skipping failed and cancelled ones)."""
        programme = self.store.jobs(channel=name)
        published = []
        for job in programme:
            if job.status in ("failed", "cancelled"):
                continue
            if job.status != "done":
                break
            published.append(PublishedSlot(job.id, job.duration_sec or 0.0))
        return programme, published

    def _write_channel_playlist(self, name: str) -> None:
        """Rewrite ``channels/<name>/index.m3u8`` from the published slots (runs on worker threads)."""
        with self._playlist_lock:
            published = self._published(name)[1]
            if published:
                playlists = [self.files.hls(slot.job_id) / PLAYLIST_NAME for slot in published]
                channel_playlist(playlists, self.files.channel_playlist(name), live=True)

    def channel_playlist(self, name: str) -> Path:
        if self.store.channel(name) is None:
            raise NotFound(f"no channel {name!r}")
        path = self.files.channel_playlist(name)
        if not path.is_file():
            raise NotFound(f"channel {name!r} has nothing on air yet; its first slot is still rendering")
        return path

    def slot_hls_file(self, job_id: str, name: str) -> Path:
        """A file of a finished slot's HLS folder (the segments channel playlists point at)."""
        job = self.job(job_id)
        path = self.files.hls(job.id) / name
        if job.status != "done" or not _HLS_FILE.match(name) or not path.is_file():
            raise NotFound(f"slot {job_id} has no HLS file {name!r}")
        return path

    def channel_guide(self, name: str) -> dict:
        channel = self.store.channel(name)
        if channel is None:
            raise NotFound(f"no channel {name!r}")
        programme, published = self._published(name)
        entries = [
            {
                "id": job.id,
                "status": job.status,
                "duration_sec": job.duration_sec,
                "script": (job.recipe.get("audio_track") or {}).get("script"),
                "thumbnail_url": f"/v1/slots/{job.id}/thumbnail.jpg" if job.status == "done" else None,
                "video_url": f"/v1/slots/{job.id}/video.mp4" if job.status == "done" else None,
            }
            for job in programme
        ]
        guide = programme_guide(entries, published, channel.on_air_since, time.time())
        return {"name": name, "playlist_url": f"/channels/{name}/index.m3u8", **guide, "programme": entries}

    def channel_names(self) -> list[str]:
        return [channel.name for channel in self.store.channels()]


_HLS_FILE = re.compile(r"^(segment_\d{5}\.ts|index\.m3u8)$")


def thumbnail_jpeg(video: bytes, width: int = 256) -> bytes:
    """A JPEG of the frame one second into the slot (or its last frame), for the programme guide."""
    import io

    import av
    import cv2

    picked = None
    with av.open(io.BytesIO(video)) as container:
        stream = container.streams.video[0]
        target = int(round(float(stream.average_rate or 24)))
        for i, frame in enumerate(container.decode(stream)):
            picked = frame.to_ndarray(format="bgr24")
            if i >= target:
                break
    if picked is None:
        raise ValueError("the video has no frames")
    height = max(2, int(round(picked.shape[0] * width / picked.shape[1])))
    ok, data = cv2.imencode(
        ".jpg", cv2.resize(picked, (width, height), interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    if not ok:
        raise ValueError("could not encode the thumbnail")
    return data.tobytes()
