"""``SlotRun``: one slot, as named steps that return values, all of them busy at once.

    1. check_inputs          the request and recipe, before any work
    2. open_speech           the speech as a stream of chunks (a recording: one chunk)
    3. cast_actor            the portrait, concurrently with speech
    4. prepare_animator      the animator's per-portrait setup (the warp rig)
    5. speak_and_plan        per speech chunk: fit it to the slot, release its audio and the
                             Controls rows no later chunk can change (``MotionStream``)
    6. render_frames         frames as soon as their rows are final
    7. write_sinks           audio and frames into the MP4 / HLS / PNG / buffer sinks as they
                             come; published only when the slot is complete
    8. make_result           the ``SlotResult``

Steps 5, 6 and 7 run on their own threads joined by queues (``StopQueue``), with 2-4 overlapping
them at the start, so the first frame is encoded while the rest of the script is still being
spoken and both cores stay busy. Order is fixed where bytes depend on it: rows are released in
frame order, frames are rendered in fixed blocks (the first frame alone, then blocks of
``chunk_frames``) and every piece of audio reaches the sinks before the frames that need it,
so the MP4 is byte-identical to rendering the whole timeline at once, whatever the timing.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
import logging
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from vortex.actors.portrait import Portrait
from vortex.config import SAMPLE_RATE
from vortex.devices import RssSampler
from vortex.errors import InvalidInputError, SlotCancelledError, StageStoppedError, VortexError
from vortex.media.atomic import write_text_atomic
from vortex.media.transaction import OutputTransaction
from vortex.motion.controls import Controls
from vortex.motion.planner import MotionStream
from vortex.pipeline.duration import TAIL_SEC, SlotTimeline, check_script_length
from vortex.pipeline.request import SlotProgress, SlotRequest
from vortex.pipeline.result import SlotResult, SlotWarning
from vortex.pipeline.stages import all_or_nothing, check_buffer, expression_spec, log_stage, typed_error
from vortex.pipeline.streaming import StopQueue, StoppableProgress
from vortex.pipeline.user_audio import TIMELINE_SOURCES, source_rate, speech_from_waveform
from vortex.recipe import DURATION_RANGE, Recipe, SlotSpec
from vortex.reliability import STOP_GRACE_S, Deadline, call_in_thread, run_stage
from vortex.speech.chunked import SpeechStream
from vortex.stages import Animator, FrameSink

if TYPE_CHECKING:
    from vortex.pipeline.core import VortexPipeline

log = logging.getLogger("vortex.pipeline")

SINK_QUEUE_CHUNKS = 3
"""Rendered chunks that may wait for the sinks (bounded: frames are big, rows and audio small)."""
CANCEL_POLL_S = 0.05
SINKS_SETTLE_S = 30.0
"""How long a failed or cancelled slot waits, before returning its result, for its sinks to
finish removing what they wrote. A stopped stage gets ``STOP_GRACE_S`` and is then abandoned
(a signal must end the process within 2 s), but a caller of the API reads the folder as soon
as the result is back: under heavy load (two busy processes beside CI) a cancelled slot once
returned while its abandoned sink thread had not yet removed its partial MP4."""


class SlotRun:
    """One slot of a ``VortexPipeline``: ``await SlotRun(pipeline, request)()`` -> ``SlotResult``.

    Holds the slot's state as typed attributes (no dict travels between steps); each step is a
    method that returns what the next one needs. Never raises for a failed slot (the result
    says why); cancellation of the awaiting task propagates after cleanup.
    """

    def __init__(self, pipeline: "VortexPipeline", request: SlotRequest) -> None:
        self.pipeline = pipeline
        self.request = request
        self.progress = request.progress or pipeline.progress
        self.deadline = Deadline(request.deadline if request.deadline is not None else pipeline.deadline)
        self.stop = threading.Event()
        self.outputs = OutputTransaction(overwrite=request.overwrite)
        """The MP4, the frames folder and the report, staged; published together or not at all."""
        self.started = time.perf_counter()
        self.slot_id = request.slot_id
        self.slot: SlotSpec | None = None
        self.timings: dict[str, float] = {}
        self.warnings: list[SlotWarning] = []
        self.backends: dict[str, str] = {}
        self.backend_reasons: dict[str, str] = {}
        self.frames = 0
        self.frames_done = 0
        self.chunks_done = 0
        self.chunks_total = 0
        self.speech_duration: float | None = None
        self.audio: np.ndarray | None = None
        self.frames_buffer: np.ndarray | None = None
        self._first_frame_at: float | None = None
        self._speech_load_s = 0.0
        self._progress_lock = threading.Lock()
        self._sinks_settled = threading.Event()
        """Clear from the moment the sinks stage is launched until its thread has published or
        removed what it wrote."""
        self._sinks_settled.set()

    # -- the whole slot ----------------------------------------------------------------------

    async def __call__(self) -> SlotResult:
        sampler = RssSampler().start()
        self.pipeline.vram.arm()
        error: BaseException | None = None
        recipe: Recipe | None = None
        try:
            recipe = self.check_inputs()
            await self._until_cancelled(self.make_slot(recipe))
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a result
            self.outputs.abort()
            if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, SystemExit)):
                sampler.cancel()
                raise
            error = typed_error(exc)
            await self._sinks_removed()
            self.outputs.abort()  # again: anything a late sink staged meanwhile
        result = self.make_result(recipe, error, sampler.stop())
        return self.report(result)

    async def _sinks_removed(self) -> None:
        """Wait (at most ``SINKS_SETTLE_S``) until the sink thread has removed its partial files."""
        limit = time.perf_counter() + SINKS_SETTLE_S
        while not self._sinks_settled.is_set() and time.perf_counter() < limit:
            await asyncio.sleep(CANCEL_POLL_S)

    async def _until_cancelled(self, work) -> None:
        """Run ``work``; the request's ``cancel`` event stops it at its next chunk."""
        task = asyncio.ensure_future(work)
        cancel = self.request.cancel
        try:
            while not task.done():
                if cancel is not None and cancel.is_set():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    raise SlotCancelledError("the slot was cancelled")
                await asyncio.wait({task}, timeout=CANCEL_POLL_S)
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        task.result()

    async def make_slot(self, recipe: Recipe) -> None:
        """Steps 2-7 at once: speech and motion feed the renderer, the renderer feeds the sinks."""
        to_render = StopQueue(self.stop, name="motion")
        to_sinks = StopQueue(self.stop, maxsize=SINK_QUEUE_CHUNKS, name="animation")

        async def cast_then_render() -> None:
            portrait, animator = await self.cast_and_prepare(recipe)
            await self._stage("animation", self.render_frames, portrait, animator, to_render, to_sinks,
                              timeout=self.pipeline.timeouts.animation, grace=0.0)

        # The sinks are opened, written and published (or aborted) on their own thread, so a stop
        # at any moment, even while they open, leaves nothing behind.
        self._sinks_settled.clear()  # set by write_sinks when it ends (its thread always runs)
        await all_or_nothing(
            self._stage("speech", self.speak_and_plan, recipe, to_render, timeout=self.pipeline.timeouts.speech, grace=0.0),
            cast_then_render(),
            # The MP4 and frames are staged in self.outputs, which the run removes itself; only a
            # live HLS folder needs its sink thread to clean up, so only then does a stop wait.
            self._stage("animation", self.write_sinks, to_sinks, timeout=self.pipeline.timeouts.animation,
                        grace=STOP_GRACE_S if self.request.hls_dir is not None else 0.0),
        )
        log_stage(self.progress, "animation", self.timings.get("render_encode", 0.0), frames=self.frames)

    async def _stage(self, stage: str, fn, *args, timeout: float | None, grace: float = STOP_GRACE_S):
        """``fn(*args)`` on its own thread under the stage timeout, the deadline and ``stop``; a
        stopped stage gets ``grace`` seconds to clean up (every stop ends within 2 s). Stages that
        leave no files of their own get none: a drawing or a block of frames cannot stop midway,
        and a thread waiting for the GIL behind a native call (mediapipe's set-up, ONNX Runtime's
        session) would only delay the stop."""
        if self.progress.mode == "json":  # what a supervisor (or a signal test) waits for
            self.progress.log("stage_start", stage=stage)
        return await run_stage(stage, fn, *args, timeout=timeout, deadline=self.deadline, stop=self.stop, stop_grace=grace)

    # -- 1. inputs ---------------------------------------------------------------------------

    def check_inputs(self) -> Recipe:
        """The recipe, validated, and a request that can be made; fails before any work."""
        request = self.request
        recipe = request.recipe if isinstance(request.recipe, Recipe) else Recipe.from_dict(request.recipe)
        self.slot_id = request.slot_id if request.slot_id != "slot" else (recipe.slot_id or "slot")
        request.check()
        self.slot = recipe.slot
        if self.slot.fixed_frames is not None:  # a wrong buffer fails before any work
            check_buffer(request.buffer, self.slot.fixed_frames, self.slot.size, False)
        elif request.buffer is not None:  # an auto slot: its length is checked as frames arrive
            check_buffer(request.buffer, 1, self.slot.size, True)
        track = recipe.audio_track
        if not track.uses_audio_file and request.inputs.waveform is None and self.slot.duration_sec is not None:
            check_script_length(track.script, self.slot.duration_sec, track.speed)
        choices = self.pipeline.backends_for(recipe, external_audio=request.inputs.waveform is not None,
                                             photo=request.inputs.image is not None)
        self.backends = {stage: choice.name for stage, choice in choices.items()}
        self.backend_reasons = {stage: choice.reason for stage, choice in choices.items()}
        return recipe

    # -- 2. speech ---------------------------------------------------------------------------

    def open_speech(self, recipe: Recipe) -> SpeechStream:
        """The speech as a stream of chunks: synthesized sentence by sentence, or a recording
        (one chunk, its timeline from alignment or recognition)."""
        track = recipe.audio_track
        inputs = self.request.inputs
        if inputs.waveform is not None or track.uses_audio_file:
            speech, warnings = self._recorded_speech(recipe)
            self.warnings.extend(SlotWarning("speech", w) for w in warnings)
            source = speech.metadata.get("timeline_source")
            if source in TIMELINE_SOURCES:  # what happened, not what was expected (Whisper may have fallen back)
                self.backend_reasons["speech"] = f"your recording; {TIMELINE_SOURCES[source]}"
            return SpeechStream.whole(speech)
        loading = time.perf_counter()
        engine = self.pipeline.speech_backend(track.voice_id)
        self._speech_load_s = time.perf_counter() - loading  # reported as load_speech, not as speech
        progress = StoppableProgress(self.progress, self.stop)
        progress.check("speech")  # the slot gave up while the model was loading
        self.backends["speech"] = engine.name
        if hasattr(engine, "stream"):
            return engine.stream(track.script, track.voice_id, track.speed, track.emotion, progress=progress)
        return SpeechStream.whole(engine.synthesize(track.script, track.voice_id, track.speed, track.emotion, progress=progress))

    def _recorded_speech(self, recipe: Recipe):
        track = recipe.audio_track
        if self.request.inputs.waveform is not None:
            return speech_from_waveform(self.request.inputs.waveform, None, [], self.stop)
        from vortex.media.audio import load_audio

        waveform, warnings = load_audio(track.audio_file)
        rate = source_rate(track.audio_file)
        if rate is not None and rate != SAMPLE_RATE:
            from pathlib import Path

            warnings = [f"{Path(track.audio_file).name}: resampled from {rate} Hz to {SAMPLE_RATE} Hz", *warnings]
        return speech_from_waveform(waveform, track.script, list(warnings), self.stop)

    # -- 3, 4. actor and animator ------------------------------------------------------------

    def cast_actor(self, recipe: Recipe) -> Portrait:
        """The portrait: the user's photo as it is, else the prompt actor's drawing."""
        slot, image, visual = recipe.slot, self.request.inputs.image, recipe.visual_track
        if image is not None or visual.photo_file is not None:
            from vortex.actors.photo import photo_actor

            portrait = photo_actor(image if image is not None else visual.photo_file, size=slot.size)
        else:
            portrait = self.pipeline.actor_backend()(visual.prompt or "", seed=slot.seed, size=slot.size)
        self.warnings.extend(SlotWarning("actor", w) for w in portrait.warnings)
        return portrait

    def prepare_animator(self, portrait: Portrait) -> Animator:
        """The resident animator with its per-portrait state built (off the first frame's path)."""
        animator = self.pipeline.animator_backend()
        animator.prepare(portrait)
        return animator

    async def cast_and_prepare(self, recipe: Recipe) -> tuple[Portrait, Animator]:
        # A tracked daemon thread, not asyncio.to_thread: a stopped slot never waits for a load.
        loading = asyncio.ensure_future(call_in_thread(self.pipeline.animator_backend, name="vortex-load"))
        try:
            t0 = time.perf_counter()
            portrait = await self._stage("actor", self.cast_actor, recipe, timeout=self.pipeline.timeouts.actor, grace=0.0)
            self._timed("actor", t0)
            await loading
        except BaseException:
            loading.cancel()
            await asyncio.gather(loading, return_exceptions=True)  # its failure, if any, is retrieved
            raise
        t0 = time.perf_counter()
        animator = await self._stage("prepare", self.prepare_animator, portrait, timeout=self.pipeline.timeouts.actor, grace=0.0)
        self._timed("prepare", t0)
        return portrait, animator

    # -- 5. speech -> timeline -> Controls rows ------------------------------------------------

    def speak_and_plan(self, recipe: Recipe, to_render: StopQueue) -> None:
        """Speech chunk by chunk; after each, the audio and Controls rows that became final.

        Puts ("audio", samples), ("rows", float32 [n, K]), ("total", frames) and finally
        ("end", total) on ``to_render``, in an order where audio always precedes the rows
        whose frames need it.
        """
        slot = recipe.slot
        track = recipe.audio_track
        at_word = track.script is not None and not track.uses_audio_file and self.request.inputs.waveform is None
        timeline = SlotTimeline(slot, at_word)
        motion = MotionStream(slot.fps, expression_spec(recipe.visual_track), slot.seed, frames=slot.fixed_frames)
        if slot.fixed_frames is not None:
            to_render.put(("total", slot.fixed_frames))
        speech_s = motion_s = 0.0
        audio_sent = 0
        early = None
        t0 = time.perf_counter()
        stream = self.open_speech(recipe)
        chunks = iter(stream)
        try:
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                self.chunks_done, self.chunks_total = chunk.index + 1, chunk.count
                if slot.duration_sec is None:
                    self._check_auto_length(stream.samples / stream.sample_rate)
                speech_s += time.perf_counter() - t0
                t1 = time.perf_counter()
                if early is None:
                    so_far = timeline.update(stream.speech(), stream.known_until)
                    if so_far.audio_final > audio_sent:
                        to_render.put(("audio", so_far.audio[audio_sent : so_far.audio_final].copy()))
                        audio_sent = so_far.audio_final
                    if so_far.fitted is not None:  # the speech fills the fixed slot: every row is known
                        early = so_far.fitted
                        rows = motion.finish(early.phones, slot.fixed_frames)
                    else:
                        rows = motion.advance(so_far.phones, so_far.known_until)
                    if rows.shape[0]:
                        to_render.put(("rows", rows))
                motion_s += time.perf_counter() - t1
                self._notify("speech")
                t0 = time.perf_counter()
        finally:
            chunks.close()  # an early stop releases the speech engine at once
        speech_s += time.perf_counter() - t0
        speech = stream.speech()
        self.speech_duration = round(speech.duration, 6)
        t1 = time.perf_counter()
        fitted, fit_warnings = timeline.finish(speech)
        self.warnings.extend(SlotWarning("speech", w) for w in fit_warnings)
        if early is not None and not np.array_equal(early.waveform, fitted.waveform):
            raise RuntimeError("the slot's speech changed after it was released")  # fit_speech broke its prefix rule
        self.frames, self.audio = timeline.frames, fitted.waveform
        rows = motion.finish(fitted.phones, self.frames) if early is None else None
        motion_s += time.perf_counter() - t1
        self.timings["speech"] = round(speech_s - self._speech_load_s, 4)
        self.timings["motion"] = round(motion_s, 4)
        log_stage(self.progress, "speech", self.timings["speech"])
        log_stage(self.progress, "motion", self.timings["motion"])
        to_render.put(("total", self.frames))
        if len(fitted.waveform) > audio_sent:
            to_render.put(("audio", fitted.waveform[audio_sent:].copy()))
        if rows is not None and rows.shape[0]:
            to_render.put(("rows", rows))
        to_render.put(("end", self.frames))

    @staticmethod
    def _check_auto_length(seconds: float) -> None:
        """An ``auto`` slot still lasts at most ``DURATION_RANGE[1]``: stop the speech as soon as
        it passes that (the recipe check refuses most such scripts before synthesis)."""
        if seconds + TAIL_SEC > DURATION_RANGE[1]:
            raise InvalidInputError(f"the speech lasts over {seconds:.0f} s; a slot lasts at most {DURATION_RANGE[1]:g} s "
                                    "(shorten the script or the recording)")

    # -- 6. rows -> frames ---------------------------------------------------------------------

    def render_frames(self, portrait: Portrait, animator: Animator, to_render: StopQueue, to_sinks: StopQueue) -> None:
        """Render final rows in fixed blocks (the first frame alone, then ``chunk_frames``), pass
        audio through in order, and tell the sinks the frame count."""
        chunk = self.pipeline.chunk_frames
        fps = self.slot.fps
        pending: list[np.ndarray] = []
        available = rendered = 0
        total: int | None = None
        busy = 0.0
        while True:
            kind, value = to_render.get()
            if kind in ("audio", "total"):  # in order: audio reaches the sinks before the frames that need it
                to_sinks.put((kind, value))
                continue
            if kind == "rows":
                pending.append(value)
                available += value.shape[0]
            else:  # "end"
                total = value
            while available:
                block_end = 1 if rendered == 0 else (rendered // chunk + 1) * chunk
                size = min(block_end - rendered, available)
                if size < block_end - rendered and total is None:
                    break  # wait for the rest of the block (its size must not depend on timing)
                self.deadline.check("animation")
                rows = np.concatenate(pending) if len(pending) > 1 else pending[0]
                block, rest = rows[:size], rows[size:]
                pending = [rest] if rest.shape[0] else []
                available -= size
                t0 = time.perf_counter()
                for frames in animator.frames(portrait, Controls(np.ascontiguousarray(block), fps), chunk=size):
                    busy += time.perf_counter() - t0
                    to_sinks.put(("frames", frames))
                    t0 = time.perf_counter()
                busy += time.perf_counter() - t0
                rendered += size
            if total is not None:
                if rendered != total:
                    raise RuntimeError(f"the animator rendered {rendered} frames for {total} controls")
                to_sinks.put(("end", total))
                self.timings["animation"] = round(busy, 4)
                return

    # -- 7. sinks ----------------------------------------------------------------------------

    def open_sinks(self) -> list[FrameSink]:
        """The sinks the request asks for, writing to temporary files until ``close``."""
        request, slot = self.request, self.slot
        sinks: list[FrameSink] = []
        try:
            if request.output is not None:
                from vortex.media.video import Mp4Writer

                sinks.append(Mp4Writer(request.output, fps=slot.fps, size=slot.size, transaction=self.outputs))
            if request.hls_dir is not None:
                from vortex.media.hls import HlsSink

                sinks.append(HlsSink(request.hls_dir, fps=slot.fps, size=slot.size))
            if request.frames_dir is not None:
                from vortex.media.frames import PngFramesSink

                sinks.append(PngFramesSink(request.frames_dir, overwrite=request.overwrite, transaction=self.outputs))
            buffer = request.buffer
            if buffer is None and request.return_frames and slot.fixed_frames is not None:
                buffer = np.empty((slot.fixed_frames, 3, slot.size, slot.size), np.float32)
            if buffer is not None:
                from vortex.media.sink import BufferSink

                self.frames_buffer = buffer
                sinks.append(BufferSink(buffer))
        except BaseException:
            for sink in sinks:
                sink.abort()
            raise
        return sinks

    def write_sinks(self, to_sinks: StopQueue) -> None:
        """Open the sinks; audio and frames into every one as they come; all published at the end, or none."""
        threading.current_thread().name = "vortex-sinks"  # told apart from the renderer in per-thread profiles
        try:
            if self.stop.is_set():  # started after the slot stopped: open nothing
                raise StageStoppedError("the sinks stopped")
            self._write_sinks(to_sinks)
        finally:
            self._sinks_settled.set()

    def _write_sinks(self, to_sinks: StopQueue) -> None:
        from vortex.media.encoder import write_to_sinks

        sinks = self.open_sinks()
        kept: list[np.ndarray] = []  # an auto slot's frames for return_frames, until its length is known
        keep = self.request.return_frames and self.frames_buffer is None
        busy = 0.0
        written = 0
        total = self.slot.fixed_frames
        try:
            with self.progress.task("animation", total=total, unit="frame") as task:  # None: an auto slot, still speaking
                while True:
                    kind, value = to_sinks.get()
                    t0 = time.perf_counter()
                    if kind == "audio":
                        for sink in sinks:
                            sink.write_audio(value)
                    elif kind == "total":
                        total = value
                    elif kind == "frames":
                        self.pipeline.vram.check()
                        for i in range(value.shape[0]):  # frame by frame, so a stop is seen within one frame's encode
                            if self.stop.is_set():
                                raise SlotCancelledError("the slot was stopped")
                            write_to_sinks(sinks, value[i : i + 1])
                        if keep:
                            kept.append(value.copy())
                        written += value.shape[0]
                        busy += time.perf_counter() - t0
                        self._frames_written(written, total)
                        task.advance(value.shape[0])
                        continue
                    else:  # "end"
                        if written != value:
                            raise RuntimeError(f"the sinks received {written} frames of {value}")
                        for sink in sinks:
                            sink.close()
                        busy += time.perf_counter() - t0
                        break
                    busy += time.perf_counter() - t0
        except BaseException:
            self.stop.set()
            for sink in sinks:
                sink.abort()
            raise
        if self.frames_buffer is not None:
            self.frames_buffer = self.frames_buffer[:written]
        elif kept:
            self.frames_buffer = np.concatenate(kept).transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1.0 / 255.0)
        self.timings["encode"] = round(busy, 4)
        self.timings["render_encode"] = round(time.perf_counter() - (self._first_frame_at or time.perf_counter()), 4)
        self._notify("done")

    # -- progress ----------------------------------------------------------------------------

    def _frames_written(self, written: int, total: int | None) -> None:
        if self._first_frame_at is None:
            self._first_frame_at = time.perf_counter()
            self.timings["first_frame"] = round(self._first_frame_at - self.started, 4)
            if self.progress.mode == "json":
                self.progress.log("first_frame", seconds=self.timings["first_frame"])
        self.frames_done = written
        if total:
            self.frames = max(self.frames, total)
        self._notify("animation")

    def _notify(self, stage: str) -> None:
        callback = self.request.on_progress
        if callback is None:
            return
        with self._progress_lock:
            callback(SlotProgress(self.slot_id, stage, self.frames_done, self.frames or (self.slot.fixed_frames or 0),
                                  self.chunks_done, self.chunks_total, round(time.perf_counter() - self.started, 3)))

    def _timed(self, stage: str, started: float) -> None:
        self.timings[stage] = round(time.perf_counter() - started, 4)
        log_stage(self.progress, stage, self.timings[stage])
        if stage == "actor":
            self._notify("actor")

    # -- 8. result ---------------------------------------------------------------------------

    def make_result(self, recipe: Recipe | None, error: BaseException | None, peak_rss_mb: float) -> SlotResult:
        request, slot = self.request, self.slot
        self.timings.update(self.pipeline.take_load_seconds())
        self.timings["total"] = round(time.perf_counter() - self.started, 4)
        success = error is None
        details = tuple(self.warnings) + tuple(SlotWarning("device", w) for w in self.pipeline.vram.warnings)
        frames = self.frames if success else self.frames_done
        hls_playlist = None
        if success and request.hls_dir is not None:
            from pathlib import Path

            from vortex.media.hls import PLAYLIST_NAME

            hls_playlist = str(Path(request.hls_dir) / PLAYLIST_NAME)
        return SlotResult(
            slot_id=self.slot_id,
            success=success,
            error=None if error is None else str(error),
            error_type=None if error is None else type(error).__name__,
            exit_code=0 if error is None else getattr(error, "exit_code", 1),
            output=str(request.output) if success and request.output is not None else None,
            frames_dir=str(request.frames_dir) if success and request.frames_dir is not None else None,
            hls_playlist=hls_playlist,
            report=str(request.report) if request.report is not None else None,
            frames=frames,
            fps=slot.fps if slot else 0,
            size=slot.size if slot else 0,
            duration_sec=round(frames / slot.fps, 6) if slot else 0.0,
            speech_duration_sec=self.speech_duration,
            timings=self.timings,
            peak_rss_mb=peak_rss_mb,
            peak_vram_mb=self.pipeline.vram.peak_mb(),
            warnings=tuple(w.message for w in details),
            warning_details=details,
            backends=self.backends,
            backend_reasons=self.backend_reasons,
            device=self.pipeline.vram.describe(),
            seed=slot.seed if slot else 0,
            recipe=recipe.to_dict() if recipe is not None and not request.from_memory else None,
            audio=self.audio if success else None,
            frames_buffer=self.frames_buffer if success else None,
            exception=error,
        )

    def report(self, result: SlotResult) -> SlotResult:
        """Publish a successful slot's MP4, frames and report together; write a failed slot's report
        alone; warnings to the log (unless the caller prints them).

        A report that cannot be written never hides the slot's own outcome: a success then
        publishes nothing and fails saying why; a failure keeps its error and gains a warning.
        """
        path = self.request.report
        if result.success:
            try:
                if path is not None:
                    self.outputs.stage_file(path).write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
                self.outputs.commit()
            except Exception as exc:  # noqa: BLE001 - becomes the slot's error
                self.outputs.abort()
                error = VortexError(f"could not publish the outputs: {exc}")
                result = replace(result, success=False, error=str(error), error_type="VortexError", exit_code=1, output=None,
                                 frames_dir=None, exception=error)
        if not result.success and path is not None:
            try:
                write_text_atomic(path, json.dumps(result.to_dict(), indent=2) + "\n")
            except OSError as exc:
                note = SlotWarning("report", f"the report {path} could not be written: {exc}")
                result = replace(result, warnings=(*result.warnings, note.message), warning_details=(*result.warning_details, note))
        if self.pipeline.log_warnings:
            for warning in result.warnings:
                log.warning(warning)
        return result

