"""``VortexPipeline``: resident backends and the orchestration of one slot (see the package docstring)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vortex.actors.portrait import Portrait
from vortex.backends import BackendChoice, load as load_backend, names as backend_names, select as select_backend
from vortex.config import SAMPLE_RATE
from vortex.devices import DeviceInfo, RssSampler, VramMonitor, choose_device
from vortex.errors import DeadlineExceededError, InvalidInputError
from vortex.media.atomic import write_text_atomic
from vortex.media.hls import PLAYLIST_NAME
from vortex.motion.controls import Controls
from vortex.pipeline.duration import auto_frames, check_script_length, fit_speech
from vortex.pipeline.result import SlotResult
from vortex.pipeline.stages import (
    _all_or_nothing,
    _check_buffer,
    _expression_spec,
    _log_stage,
    _plan_motion,
    _prepare_animator,
    _typed,
)
from vortex.pipeline.streaming import _Prefetch, _StoppableProgress
from vortex.pipeline.user_audio import TIMELINE_SOURCES, _source_rate, _speech_from_waveform
from vortex.progress import Progress
from vortex.recipe import Recipe, SlotSpec, VisualTrack
from vortex.reliability import Deadline, RetryPolicy, StageTimeouts, run_stage
from vortex.speech.speech import Speech

log = logging.getLogger("vortex.pipeline")

CHUNK_FRAMES = 24
ANIMATORS = backend_names("animator")
ACTORS = backend_names("actor")
SPEECH_ENGINES = backend_names("speech")


@dataclass(frozen=True)
class _Inputs:
    """In-memory inputs that replace a recipe's files (the ``animate`` call)."""

    waveform: np.ndarray | None = None
    image: np.ndarray | None = None  # uint8 [H, W, 3]


class VortexPipeline:
    """Resident backends plus the orchestration of one slot at a time (or several at once).

    animator: ``auto`` (LivePortrait when its official weights and a CUDA GPU are present, else
    ``warp``), ``warp`` (embedded) or ``liveportrait``.
    actor: for prompts; ``auto`` (FLUX.1-schnell when its weights and a CUDA GPU are present,
    else ``procedural``), ``procedural`` or ``flux``. A photo is always used as it is.
    speech: ``auto`` (``kokoro-torch`` when the official Kokoro-82M files are present, else
    ``kokoro-onnx``), ``kokoro-onnx`` or ``kokoro-torch``.
    models_dir: where the official files live (default $VORTEX_MODELS_DIR or the user cache).
    flux_actor: an already loaded ``FluxActor`` to use for prompts (a server sharing one between
    pipelines); with ``actor="auto"`` or ``"flux"`` it is used without looking for files.
    Naming a backend that cannot run raises MissingResourceError here, before any heavy work;
    ``backend_choices`` says what was chosen per stage and why (``vortex.backends``).
    device: ``auto``, ``cpu`` or ``cuda`` (``auto`` with the warp animator is the CPU).
    deadline: default overall seconds per slot (None: none); ``generate_slot`` may override.
    log_warnings: send each slot's warnings to the ``vortex.pipeline`` logger (the CLI prints
    them itself instead).
    Backends load on first use, or all at once with ``load()``; both are thread-safe.
    """

    def __init__(
        self,
        animator: str = "auto",
        device: str = "auto",
        actor: str = "auto",
        speech: str = "auto",
        models_dir: str | os.PathLike[str] | None = None,
        flux_actor=None,
        timeouts: StageTimeouts | None = None,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
        vram_soft_mb: float | None = None,
        vram_hard_mb: float | None = None,
        chunk_frames: int = CHUNK_FRAMES,
        progress: Progress | None = None,
        log_warnings: bool = True,
    ) -> None:
        for value, valid, what in ((animator, ANIMATORS, "animator"), (actor, ACTORS, "actor"), (speech, SPEECH_ENGINES, "speech")):
            if value not in valid:
                raise InvalidInputError(f"unknown {what} {value!r}; choose one of: {', '.join(valid)}")
        self.models_dir = models_dir
        self.backend_choices: dict[str, BackendChoice] = {
            "speech": select_backend("speech", speech, models_dir),
            "actor": (BackendChoice("actor", "flux", "a loaded FluxActor was given")
                      if flux_actor is not None and actor in ("auto", "flux") else select_backend("actor", actor, models_dir)),
            "animator": select_backend("animator", animator, models_dir),
        }
        self.animator_name = self.backend_choices["animator"].name
        self.actor_name = self.backend_choices["actor"].name
        self.speech_name = self.backend_choices["speech"].name
        self.requested_device = device
        # The warp animator is CPU code: "auto" then never imports torch or touches a GPU.
        self.device: DeviceInfo = choose_device("cpu" if self.animator_name == "warp" and device == "auto" else device)
        self.timeouts = timeouts or StageTimeouts()
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self.vram = VramMonitor(self.device, vram_soft_mb, vram_hard_mb)
        self.chunk_frames = int(chunk_frames)
        self.progress = progress or Progress.quiet()
        self.log_warnings = log_warnings
        self._lock = threading.Lock()
        self._speech = None
        self._animator = None
        self._actor = flux_actor
        self._load_seconds: dict[str, float] = {}

    # -- backends ---------------------------------------------------------------------------

    def load(self, speech: bool = True, animator: bool = True) -> "VortexPipeline":
        """Load the backends now (a server calls this once at start-up)."""
        if speech:
            self.speech_backend()
        if animator:
            self.animator_backend()
        return self

    def speech_backend(self):
        with self._lock:
            if self._speech is None:
                started = time.perf_counter()
                self._speech = load_backend(self.backend_choices["speech"], self.models_dir, self.requested_device)
                self._load_seconds["load_speech"] = round(time.perf_counter() - started, 4)
            return self._speech

    def animator_backend(self):
        with self._lock:
            if self._animator is None:
                started = time.perf_counter()
                self._animator = load_backend(self.backend_choices["animator"], self.models_dir, self.device.kind)
                self._load_seconds["load_animator"] = round(time.perf_counter() - started, 4)
            return self._animator

    def actor_backend(self):
        """The resident prompt actor (loaded on the first prompt slot)."""
        with self._lock:
            if self._actor is None:
                started = time.perf_counter()
                self._actor = load_backend(self.backend_choices["actor"], self.models_dir, self.requested_device)
                if self.actor_name != "procedural":
                    self._load_seconds["load_actor"] = round(time.perf_counter() - started, 4)
            return self._actor

    flux_actor = actor_backend  # the name callers used when Flux was the only loaded actor

    def backends_for(self, recipe: Recipe, external_audio: bool = False, photo: bool = False) -> dict[str, BackendChoice]:
        """The backend each stage uses for ``recipe``, and why (a recording or a photo replaces
        the speech or actor backend)."""
        from vortex.backends import BackendChoice as Choice

        choices = dict(self.backend_choices)
        track = recipe.audio_track
        if external_audio or track.uses_audio_file:
            if track.script and not external_audio:
                how = TIMELINE_SOURCES["transcript"]
            else:
                from vortex.speech.external import whisper_available

                how = TIMELINE_SOURCES["whisper"] if whisper_available() else TIMELINE_SOURCES["phones"]
            choices["speech"] = Choice("speech", "external-audio", f"your recording; {how}")
        if photo or recipe.visual_track.photo_file is not None:
            choices["actor"] = Choice("actor", "photo", "your photo, used as it is")
        return choices

    def _take_load_seconds(self) -> dict[str, float]:
        with self._lock:
            taken, self._load_seconds = self._load_seconds, {}
        return taken

    # -- one slot ---------------------------------------------------------------------------

    async def generate_slot(
        self,
        recipe: Recipe | dict,
        slot_id: str | None = None,
        output: str | os.PathLike[str] | None = None,
        buffer: np.ndarray | None = None,
        frames_dir: str | os.PathLike[str] | None = None,
        report: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
        deadline: float | None = None,
        return_frames: bool = False,
        hls_dir: str | os.PathLike[str] | None = None,
    ) -> SlotResult:
        """Make one slot. Never raises for a failed slot (see ``success``/``error``; call
        ``raise_for_error()`` to raise it); Ctrl-C (cancellation) propagates after cleanup.

        output: MP4 path; frames_dir: folder of PNG frames; hls_dir: a new or empty folder for an
        HLS playlist whose segments appear while the slot renders; buffer: float32 [T, 3, H, W] written
        in place (T must equal the slot's frames for a fixed slot, at least them for auto);
        return_frames: allocate such a buffer and return it in ``frames_buffer``;
        report: JSON summary path, written for failures too.
        """
        return await self._generate(recipe, _Inputs(), slot_id, output, buffer, frames_dir, report, progress, deadline, return_frames,
                                    hls_dir)

    def generate_slot_sync(self, recipe: Recipe | dict, **kwargs: Any) -> SlotResult:
        """Blocking ``generate_slot`` (inside a running event loop it runs on a helper thread)."""
        return _run_sync(self.generate_slot(recipe, **kwargs))

    async def _generate(self, recipe, inputs: _Inputs, slot_id, output, buffer, frames_dir, report, progress, deadline, return_frames,
                        hls_dir=None) -> SlotResult:
        started = time.perf_counter()
        progress = progress or self.progress
        sampler = RssSampler().start()
        self.vram.arm()
        state: dict[str, Any] = {"timings": {}, "warnings": [], "backends": {}, "backend_reasons": {}}
        recipe_dict = None
        slot_name = slot_id or "slot"
        try:
            recipe = recipe if isinstance(recipe, Recipe) else Recipe.from_dict(recipe)
            recipe_dict = recipe.to_dict() if inputs.waveform is None else None
            slot_name = slot_id or recipe.slot_id or "slot"
            if output is None and frames_dir is None and hls_dir is None and buffer is None and not return_frames:
                raise InvalidInputError("nothing to produce: give an output MP4, a frames folder, an HLS folder or a buffer")
            await self._run(recipe, inputs, state, Deadline(deadline if deadline is not None else self.deadline),
                            output, buffer, frames_dir, progress, return_frames, hls_dir)
            success, exc = True, None
        except asyncio.CancelledError:
            sampler.stop()
            raise
        except BaseException as error:  # noqa: BLE001 - every failure becomes a result
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                sampler.stop()
                raise
            success, exc = False, _typed(error)
        state["timings"].update(self._take_load_seconds())
        state["timings"]["total"] = round(time.perf_counter() - started, 4)
        slot: SlotSpec | None = state.get("slot")
        result = SlotResult(
            slot_id=slot_name,
            success=success,
            error=None if exc is None else str(exc),
            error_type=None if exc is None else type(exc).__name__,
            exit_code=0 if exc is None else getattr(exc, "exit_code", 1),
            output=str(output) if success and output is not None else None,
            frames_dir=str(frames_dir) if success and frames_dir is not None else None,
            hls_playlist=str(Path(hls_dir) / PLAYLIST_NAME) if success and hls_dir is not None else None,
            report=str(report) if report is not None else None,
            frames=state.get("frames", 0),
            fps=slot.fps if slot else 0,
            size=slot.size if slot else 0,
            duration_sec=round(state.get("frames", 0) / slot.fps, 6) if slot else 0.0,
            speech_duration_sec=state.get("speech_duration"),
            timings=state["timings"],
            peak_rss_mb=sampler.stop(),
            peak_vram_mb=self.vram.peak_mb(),
            warnings=tuple(state["warnings"] + self.vram.warnings),
            backends=state["backends"],
            backend_reasons=state["backend_reasons"],
            device=self.vram.describe(),
            seed=slot.seed if slot else 0,
            recipe=recipe_dict,
            audio=state.get("audio"),
            frames_buffer=state.get("buffer"),
            exception=exc,
        )
        if self.log_warnings:
            for warning in result.warnings:
                log.warning(warning)
        if report is not None:
            write_text_atomic(report, json.dumps(result.to_dict(), indent=2) + "\n")
        return result

    async def _run(self, recipe: Recipe, inputs: _Inputs, state: dict, deadline: Deadline, output, buffer, frames_dir,
                   progress: Progress, return_frames: bool, hls_dir) -> None:
        slot = recipe.slot
        state["slot"] = slot
        timings, warnings = state["timings"], state["warnings"]
        if slot.fixed_frames is not None:  # a wrong buffer fails before any work
            _check_buffer(buffer, slot.fixed_frames, slot.size, False)

        def retried(stage: str):
            return lambda attempt, error, delay: warnings.append(f"{stage} failed ({error}); retry {attempt} in {delay:.2f}s")

        async def timed(stage: str, fn, *args, stop: threading.Event | None = None):
            t0 = time.perf_counter()
            # stop_grace 0: a stopped speech stage ends at its next chunk on its own; nothing
            # waits for it (it writes no files), so a deadline is reported when it passes.
            value = await run_stage(stage, fn, *args, timeout=self.timeouts.of(stage), deadline=deadline, retry=self.retry,
                                    on_retry=retried(stage), stop=stop, stop_grace=0.0)
            timings[stage] = round(time.perf_counter() - t0, 4)
            _log_stage(progress, stage, timings[stage])
            return value

        # 1. speech, concurrently with the actor and then the animator's loading (first slot)
        #    and per-portrait setup (the warp rig; LivePortrait's source features), which thus
        #    stay off the critical path. The first failure cancels the other branch.
        speech_stop = threading.Event()

        async def actor_and_animator():
            loading = asyncio.ensure_future(asyncio.to_thread(self.animator_backend))
            try:
                cast = await timed("actor", self._actor_stage, recipe.visual_track, slot, inputs.image)
                loaded = await loading
            except BaseException:
                loading.cancel()
                raise
            await timed("prepare", _prepare_animator, loaded, cast[0])
            return cast, loaded

        (speech, speech_warnings, speech_backend), ((portrait, actor_backend), animator) = await _all_or_nothing(
            timed("speech", self._speech_stage, recipe, inputs, _StoppableProgress(progress, speech_stop), stop=speech_stop),
            actor_and_animator(),
        )
        warnings.extend(speech_warnings)
        choices = self.backends_for(recipe, external_audio=inputs.waveform is not None, photo=inputs.image is not None)
        state["backends"].update(speech=speech_backend, actor=actor_backend, animator=self.animator_name)
        state["backend_reasons"].update({stage: choices[stage].reason for stage in ("speech", "actor", "animator")})
        source = speech.metadata.get("timeline_source") if speech_backend == "external-audio" else None
        if source in TIMELINE_SOURCES:  # what happened, not what was expected (Whisper may have fallen back)
            state["backend_reasons"]["speech"] = f"your recording; {TIMELINE_SOURCES[source]}"
        state["speech_duration"] = round(speech.duration, 6)

        # 2. the slot's length.
        if slot.duration_sec is None:
            frames = auto_frames(speech.duration, slot.fps)
        else:
            frames = slot.fixed_frames
        speech, fit_warnings = fit_speech(speech, frames, slot.fps, at_word=recipe.audio_track.script is not None
                                          and not recipe.audio_track.uses_audio_file and inputs.waveform is None)
        warnings.extend(fit_warnings)
        state["frames"] = frames
        state["audio"] = speech.waveform
        target = _check_buffer(buffer, frames, slot.size, slot.duration_sec is None)
        if target is None and return_frames:
            target = np.empty((frames, 3, slot.size, slot.size), np.float32)
        state["buffer"] = target

        # 3. motion.
        expression = _expression_spec(recipe.visual_track)
        controls = await timed("motion", _plan_motion, speech, frames, slot.fps, expression, slot.seed)

        # 4. animation streamed into the sinks.
        stop = threading.Event()
        t0 = time.perf_counter()
        busy = await run_stage(
            "animation", self._render_stage, animator, portrait, controls, speech.waveform, output, frames_dir, target,
            stop, deadline, progress, hls_dir, timeout=self.timeouts.animation, deadline=deadline, stop=stop,
        )
        timings["render_encode"] = round(time.perf_counter() - t0, 4)
        timings["animation"], timings["encode"] = busy
        _log_stage(progress, "animation", timings["render_encode"], frames=frames)

    # -- stages (run on worker threads) ------------------------------------------------------

    def _speech_stage(self, recipe: Recipe, inputs: _Inputs, progress: Progress) -> tuple[Speech, list[str], str]:
        track = recipe.audio_track
        if inputs.waveform is not None:
            return _speech_from_waveform(inputs.waveform, None, []) + ("external-audio",)
        if track.uses_audio_file:
            from vortex.media.audio import load_audio

            waveform, warnings = load_audio(track.audio_file)
            rate = _source_rate(track.audio_file)
            if rate is not None and rate != SAMPLE_RATE:
                warnings = [f"{Path(track.audio_file).name}: resampled from {rate} Hz to {SAMPLE_RATE} Hz", *warnings]
            return _speech_from_waveform(waveform, track.script, list(warnings)) + ("external-audio",)
        if recipe.slot.duration_sec is not None:
            check_script_length(track.script, recipe.slot.duration_sec, track.speed)
        tts = self.speech_backend()
        if isinstance(progress, _StoppableProgress):
            progress.check("speech")  # the slot gave up while the model was loading
        speech = tts.synthesize(track.script, track.voice_id, track.speed, track.emotion, progress=progress)
        return speech, [], tts.name

    def _actor_stage(self, visual: VisualTrack, slot: SlotSpec, image: np.ndarray | None) -> tuple[Portrait, str]:
        if image is not None:
            from vortex.actors.photo import photo_actor

            return photo_actor(image, size=slot.size), "photo"
        if visual.photo_file is not None:
            from vortex.actors.photo import photo_actor

            return photo_actor(visual.photo_file, size=slot.size), "photo"
        return self.actor_backend()(visual.prompt or "", seed=slot.seed, size=slot.size), self.actor_name

    def _render_stage(self, animator, portrait: Portrait, controls: Controls, audio: np.ndarray, output, frames_dir,
                      target: np.ndarray | None, stop: threading.Event, deadline: Deadline,
                      progress: Progress, hls_dir) -> tuple[float, float]:
        """Render on a producer thread, write sinks here; returns (render busy s, sink busy s)."""
        from vortex.media.frames import PngFramesSink
        from vortex.media.hls import HlsSink
        from vortex.media.sink import BufferSink
        from vortex.stages import FrameSink
        from vortex.media.video import Mp4Writer

        sinks: list[FrameSink] = []
        encode_seconds = 0.0
        try:
            if output is not None:
                sinks.append(Mp4Writer(output, fps=controls.fps, size=portrait.size))
            if hls_dir is not None:
                sinks.append(HlsSink(hls_dir, fps=controls.fps, size=portrait.size))
            if frames_dir is not None:
                sinks.append(PngFramesSink(frames_dir))
            if target is not None:
                sinks.append(BufferSink(target))
            for sink in sinks:
                sink.write_audio(audio)
            chunks = _Prefetch(lambda: animator.frames(portrait, controls, chunk=self.chunk_frames), stop)
            written = 0
            with progress.task("animation", total=controls.frames, unit="frame") as task:
                for chunk in chunks:
                    if stop.is_set():
                        raise DeadlineExceededError("animation stopped")
                    deadline.check("animation")
                    self.vram.check()
                    t0 = time.perf_counter()
                    n = chunk.shape[0]
                    for sink in sinks:
                        sink.write(chunk)
                    written += n
                    encode_seconds += time.perf_counter() - t0
                    task.advance(n)
            if written != controls.frames:
                raise RuntimeError(f"the animator produced {written} frames for {controls.frames} controls")
            t0 = time.perf_counter()
            for sink in sinks:
                sink.close()
            encode_seconds += time.perf_counter() - t0
            return round(chunks.busy_seconds, 4), round(encode_seconds, 4)
        except BaseException:
            stop.set()
            for sink in sinks:
                sink.abort()
            raise


def _run_sync(coroutine):
    """``asyncio.run`` that also works when the caller already runs an event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="vortex-sync") as pool:
        return pool.submit(asyncio.run, coroutine).result()
