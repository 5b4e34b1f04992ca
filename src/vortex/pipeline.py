"""The slot pipeline: a recipe in, a finished slot out.

``VortexPipeline`` loads its backends once (the Kokoro session, the animator) and keeps them
resident across slots. ``await pipeline.generate_slot(recipe, ...)``:

1. speech runs concurrently with the actor and the animator's per-portrait setup (threads;
   ONNX Runtime, Skia and OpenCV release the GIL);
2. the slot length is settled: ``auto`` is the speech plus ``TAIL_SEC``, rounded up to whole
   frames; a fixed length pads with silence (the face idles) or truncates at a word boundary
   with a warning, and refuses speech that overruns by more than ``MAX_OVERRUN`` of the slot;
3. motion turns the phone timeline into Controls;
4. the animator renders chunks on one thread while the sinks (MP4, PNG frames, the caller's
   float32 buffer) consume them on another, so rendering and encoding overlap and no full
   video is ever held in memory.

Every stage runs under its timeout and the slot's deadline; transient failures are retried
with backoff; a timeout, the deadline or Ctrl-C stops the sinks, which remove their partial
files. The result carries per-stage timings, peak memory, warnings, success and the error.

``animate(source_image, driving_audio, ...)`` is the compatibility call in the shape of the
original animator contract (image tensor and 24 kHz waveform in, frame tensor out).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from vortex.actors.portrait import Portrait
from vortex.backends import BackendChoice
from vortex.config import SAMPLE_RATE
from vortex.devices import DeviceInfo, RssSampler, VramMonitor, choose_device, is_cuda_oom
from vortex.errors import (
    CudaOutOfMemoryError,
    DeadlineExceededError,
    InvalidInputError,
    MissingResourceError,
    VortexError,
)
from vortex.media.atomic import write_text_atomic
from vortex.motion.controls import Controls
from vortex.progress import Progress
from vortex.recipe import (
    DURATION_RANGE,
    FPS_RANGE,
    AudioTrack,
    Recipe,
    SlotSpec,
    VisualTrack,
    validate_size,
)
from vortex.reliability import Deadline, RetryPolicy, StageTimeouts, run_stage
from vortex.speech.speech import PAUSE, Phone, Speech, Word

log = logging.getLogger("vortex.pipeline")

TAIL_SEC = 0.5
"""Silence after the last word of an ``auto`` slot, so the mouth settles before the cut."""
MAX_OVERRUN = 0.2
"""A fixed slot truncates speech that overruns it by up to this fraction; more is an input error."""
FAST_CHARS_PER_SEC = 24.0
"""Faster than any voice speaks at speed 1 (measured ~14-17); a script longer than this
allows is rejected before synthesis instead of after it."""
FADE_SEC = 0.02
"""Fade-out at a truncation cut, so it does not click."""
CHUNK_FRAMES = 24
ANIMATORS = ("auto", "warp", "liveportrait")
ACTORS = ("auto", "procedural", "flux")
SPEECH_ENGINES = ("auto", "kokoro-onnx", "kokoro-torch")


# --- result -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotResult:
    """What one slot produced, or why it failed.

    audio: float32 [frames * sample_rate / fps] mono, exactly the track in the MP4.
    frames_buffer: the float32 [T, 3, H, W] buffer in [0, 1] when one was given or asked for.
    timings: wall seconds per stage (``speech``, ``actor``, ``prepare``: the animator's
    per-portrait setup, overlapped with speech, ``motion``, ``animation``: rendering
    busy time, ``encode``: sink busy time, ``render_encode``: wall time of the overlapped pair,
    ``total``), plus ``load_*`` for backends loaded during this slot.
    """

    slot_id: str
    success: bool
    error: str | None = None
    error_type: str | None = None
    exit_code: int = 0
    output: str | None = None
    frames_dir: str | None = None
    report: str | None = None
    frames: int = 0
    fps: int = 0
    size: int = 0
    duration_sec: float = 0.0
    speech_duration_sec: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    peak_vram_mb: float | None = None
    warnings: tuple[str, ...] = ()
    backends: dict[str, str] = field(default_factory=dict)
    """Backend name per stage (speech, actor, animator)."""
    backend_reasons: dict[str, str] = field(default_factory=dict)
    """Why each stage's backend was chosen (requested, found, or the fallback and what was missing)."""
    device: str = ""
    seed: int = 0
    recipe: dict | None = None
    audio: np.ndarray | None = field(default=None, repr=False)
    sample_rate: int = SAMPLE_RATE
    frames_buffer: np.ndarray | None = field(default=None, repr=False)
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready summary (arrays and the exception object left out)."""
        return {
            "slot_id": self.slot_id,
            "success": self.success,
            "error": self.error,
            "error_type": self.error_type,
            "exit_code": self.exit_code,
            "output": self.output,
            "frames_dir": self.frames_dir,
            "frames": self.frames,
            "fps": self.fps,
            "size": self.size,
            "duration_sec": self.duration_sec,
            "speech_duration_sec": self.speech_duration_sec,
            "sample_rate": self.sample_rate,
            "timings": self.timings,
            "peak_rss_mb": self.peak_rss_mb,
            "peak_vram_mb": self.peak_vram_mb,
            "warnings": list(self.warnings),
            "backends": self.backends,
            "backend_reasons": self.backend_reasons,
            "device": self.device,
            "seed": self.seed,
            "recipe": self.recipe,
        }

    def raise_for_error(self) -> "SlotResult":
        """Re-raise the failure (typed, so the CLI maps it to its exit code); else return self."""
        if not self.success:
            if self.exception is not None:
                raise self.exception
            raise VortexError(self.error or "slot failed")
        return self


# --- slot length ------------------------------------------------------------------------------


def samples_for(frames: int, fps: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Audio samples that last exactly ``frames`` video frames (the MP4 sink uses the same rule)."""
    return frames * sample_rate // fps


def auto_frames(speech_seconds: float, fps: int, tail: float = TAIL_SEC) -> int:
    """Speech plus a tail, rounded up to whole frames."""
    return max(1, math.ceil(round((speech_seconds + tail) * fps, 6)))


def check_script_length(script: str, duration: float, speed: float) -> None:
    """Refuse, before synthesis, a script that cannot fit a fixed slot even at a fast pace."""
    fastest = len(script.strip()) / (FAST_CHARS_PER_SEC * speed)
    limit = duration * (1 + MAX_OVERRUN)
    if fastest > limit:
        raise InvalidInputError(
            f"script too long for a {duration:g} s slot: {len(script.strip())} characters need at least {fastest:.0f} s of "
            f"speech, {fastest - duration:.0f} s more than the slot; shorten it or use --duration auto"
        )


def fit_speech(speech: Speech, frames: int, fps: int, *, at_word: bool = True) -> tuple[Speech, list[str]]:
    """Pad or cut ``speech`` to exactly ``frames`` video frames.

    Padding appends silence and one trailing PAUSE (the face idles). Cutting happens at the end
    of the last word that fits (``at_word``) or exactly at the slot's end, fades out over
    ``FADE_SEC`` and warns; an overrun beyond ``MAX_OVERRUN`` of the slot is an input error
    that says by how much.
    """
    sr = speech.sample_rate
    target = samples_for(frames, fps, sr)
    slot_sec = target / sr
    n = len(speech.waveform)
    if n <= target:
        return _pad_speech(speech, target), []
    spoken_end = max((w.end for w in speech.words), default=speech.duration) if at_word else speech.duration
    overrun = spoken_end - slot_sec
    if at_word and overrun > MAX_OVERRUN * slot_sec:
        cut_words = sum(1 for w in speech.words if w.end > slot_sec)
        raise InvalidInputError(
            f"script too long for a {slot_sec:g} s slot: its speech lasts {spoken_end:.1f} s, {overrun:.1f} s "
            f"too long ({cut_words} word{'s' if cut_words != 1 else ''} would be cut); shorten it or use --duration auto"
        )
    cut = target
    lost_words = at_word and overrun > 0
    if lost_words:
        fitting = [w for w in speech.words if w.end <= slot_sec]
        cut = int(round(fitting[-1].end * sr)) if fitting else 0
    waveform = speech.waveform[:cut].astype(np.float32, copy=True)
    fade = min(cut, int(FADE_SEC * sr))
    if fade and (lost_words or not at_word):
        waveform[cut - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    cut_sec = cut / sr
    phones = []
    for p in speech.phones:
        if p.start >= cut_sec:
            break
        phones.append(p if p.end <= cut_sec else replace(p, end=cut_sec))
    words = tuple(w for w in speech.words if w.end <= cut_sec + 1e-9)
    # Times of the kept phones stay exact: the same sample rate, the same integer cut.
    trimmed = replace(speech, waveform=waveform, phones=_end_with_pause(tuple(phones), cut_sec), words=words)
    if not at_word:
        warnings = [f"Audio truncated from {speech.duration:.1f}s to {slot_sec:.1f}s"]
    elif lost_words:
        dropped = len(speech.words) - len(words)
        warnings = [f"Speech truncated from {spoken_end:.1f}s to {cut_sec:.1f}s at a word boundary to fit the {slot_sec:g}s slot "
                    f"({dropped} word{'s' if dropped != 1 else ''} cut)"]
    else:
        warnings = []  # only trailing silence was trimmed
    return _pad_speech(trimmed, target), warnings


def _end_with_pause(phones: tuple[Phone, ...], end: float) -> tuple[Phone, ...]:
    if not phones:
        return (Phone(PAUSE, 0.0, end),)
    last = phones[-1]
    if last.end >= end - 1e-9:
        return phones[:-1] + (replace(last, end=end),)
    if last.symbol == PAUSE:
        return phones[:-1] + (replace(last, end=end),)
    return phones + (Phone(PAUSE, last.end, end),)


def _pad_speech(speech: Speech, target: int) -> Speech:
    n = len(speech.waveform)
    if n == target:
        return speech
    waveform = np.zeros(target, np.float32)
    waveform[:n] = speech.waveform
    end = target / speech.sample_rate
    return replace(speech, waveform=waveform, phones=_end_with_pause(tuple(speech.phones), end))


# --- the pipeline -----------------------------------------------------------------------------


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
        timeouts: StageTimeouts | None = None,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
        vram_soft_mb: float | None = None,
        vram_hard_mb: float | None = None,
        chunk_frames: int = CHUNK_FRAMES,
        progress: Progress | None = None,
        log_warnings: bool = True,
    ) -> None:
        from vortex.backends import select_actor_backend, select_animator_backend, select_speech_backend

        for value, valid, what in ((animator, ANIMATORS, "animator"), (actor, ACTORS, "actor"), (speech, SPEECH_ENGINES, "speech")):
            if value not in valid:
                raise InvalidInputError(f"unknown {what} {value!r}; choose one of: {', '.join(valid)}")
        self.models_dir = models_dir
        self.backend_choices: dict[str, BackendChoice] = {
            "speech": select_speech_backend(speech, models_dir),
            "actor": select_actor_backend(actor, models_dir),
            "animator": select_animator_backend(animator, models_dir),
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
        self._flux = None
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
                from vortex.backends import load_speech_backend

                self._speech = load_speech_backend(self.backend_choices["speech"], self.models_dir, self.requested_device)
                self._load_seconds["load_speech"] = round(time.perf_counter() - started, 4)
            return self._speech

    def animator_backend(self):
        with self._lock:
            if self._animator is None:
                started = time.perf_counter()
                self._animator = _load_animator(self.animator_name, self.device)
                self._load_seconds["load_animator"] = round(time.perf_counter() - started, 4)
            return self._animator

    def flux_actor(self):
        """The resident FLUX.1-schnell actor (loaded on the first prompt slot when chosen)."""
        with self._lock:
            if self._flux is None:
                started = time.perf_counter()
                from vortex.backends import load_flux_actor

                self._flux = load_flux_actor(self.models_dir, device=self.requested_device)
                self._load_seconds["load_actor"] = round(time.perf_counter() - started, 4)
            return self._flux

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
    ) -> SlotResult:
        """Make one slot. Never raises for a failed slot (see ``success``/``error``; call
        ``raise_for_error()`` to raise it); Ctrl-C (cancellation) propagates after cleanup.

        output: MP4 path; frames_dir: folder of PNG frames; buffer: float32 [T, 3, H, W] written
        in place (T must equal the slot's frames for a fixed slot, at least them for auto);
        return_frames: allocate such a buffer and return it in ``frames_buffer``;
        report: JSON summary path, written for failures too.
        """
        return await self._generate(recipe, _Inputs(), slot_id, output, buffer, frames_dir, report, progress, deadline, return_frames)

    def generate_slot_sync(self, recipe: Recipe | dict, **kwargs: Any) -> SlotResult:
        """Blocking ``generate_slot`` (inside a running event loop it runs on a helper thread)."""
        return _run_sync(self.generate_slot(recipe, **kwargs))

    async def _generate(self, recipe, inputs: _Inputs, slot_id, output, buffer, frames_dir, report, progress, deadline, return_frames) -> SlotResult:
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
            if output is None and frames_dir is None and buffer is None and not return_frames:
                raise InvalidInputError("nothing to produce: give an output MP4, a frames folder or a buffer")
            await self._run(recipe, inputs, state, Deadline(deadline if deadline is not None else self.deadline),
                            output, buffer, frames_dir, progress, return_frames)
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
                   progress: Progress, return_frames: bool) -> None:
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
            stop, deadline, progress, timeout=self.timeouts.animation, deadline=deadline, stop=stop,
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
        if self.actor_name == "flux":
            return self.flux_actor()(visual.prompt or "", seed=slot.seed, size=slot.size), "flux"
        from vortex.actors.procedural import draw_portrait

        return draw_portrait(visual.prompt or "", seed=slot.seed, size=slot.size), "procedural"

    def _render_stage(self, animator, portrait: Portrait, controls: Controls, audio: np.ndarray, output, frames_dir,
                      target: np.ndarray | None, stop: threading.Event, deadline: Deadline,
                      progress: Progress) -> tuple[float, float]:
        """Render on a producer thread, write sinks here; returns (render busy s, sink busy s)."""
        from vortex.media.frames import PngFramesSink
        from vortex.media.video import Mp4Writer

        sinks = []
        encode_seconds = 0.0
        try:
            if output is not None:
                sinks.append(Mp4Writer(output, fps=controls.fps, size=portrait.size, audio=audio))
            if frames_dir is not None:
                sinks.append(PngFramesSink(frames_dir))
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
                    if target is not None:
                        np.multiply(chunk.transpose(0, 3, 1, 2), np.float32(1.0 / 255.0), out=target[written : written + n],
                                    casting="unsafe")
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


# --- stage helpers ----------------------------------------------------------------------------


def _log_stage(progress: Progress, stage: str, seconds: float, **fields: Any) -> None:
    if progress.mode == "json":
        progress.log("stage", stage=stage, seconds=seconds, **fields)
    elif progress.mode == "bar":
        extra = "".join(f", {v} {k}" for k, v in fields.items())
        progress.log(f"{stage} done in {seconds:.1f} s{extra}")


async def _all_or_nothing(*awaitables) -> list:
    """Await all concurrently; on the first failure cancel the rest and raise that failure
    itself (``TaskGroup`` would wrap it in an ExceptionGroup, hiding its exit code)."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    if pending:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:  # in order, so the first stage's error wins a tie
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()
    return [task.result() for task in tasks]


def _load_animator(name: str, device: DeviceInfo):
    if name == "warp":
        from vortex.animators.warp import WarpAnimator

        return WarpAnimator()
    from vortex.animators.liveportrait import LivePortraitAnimator

    return LivePortraitAnimator(device=device.kind)


def _prepare_animator(animator, portrait: Portrait) -> None:
    """Build the animator's per-portrait state now (it caches the last portrait it saw)."""
    for name in ("prepare", "rig", "source"):
        method = getattr(animator, name, None)
        if callable(method):
            method(portrait)
            return


def _plan_motion(speech: Speech, frames: int, fps: int, expression, seed: int) -> Controls:
    from vortex.motion.planner import plan_motion

    return plan_motion(speech, frames, fps, expression, seed)


def _expression_spec(visual: VisualTrack):
    if visual.expression_sequence is None:
        return visual.expression_preset
    if visual.expression_starts is None:
        return list(visual.expression_sequence)
    return list(zip(visual.expression_sequence, visual.expression_starts))


TIMELINE_SOURCES = {
    "transcript": "timeline from aligning the given transcript",
    "whisper": "timeline from a Whisper transcript, aligned",
    "phones": "timeline from phone recognition (approximate lip closures)",
}
"""``Speech.metadata["timeline_source"]`` of user audio -> the reason the report gives."""


def _speech_from_waveform(waveform: np.ndarray, transcript: str | None, warnings: list[str]) -> tuple[Speech, list[str]]:
    """User audio (24 kHz mono) -> Speech via ``speech_from_audio``: forced alignment with a
    transcript; without one a Whisper transcript, aligned (phone recognition when Whisper is
    not installed). Its warnings (fallbacks) join the loader's."""
    from vortex.media.audio import validate_waveform
    from vortex.speech.external import speech_from_audio

    wave = validate_waveform(waveform, SAMPLE_RATE, name="driving audio")
    speech = speech_from_audio(wave, transcript, SAMPLE_RATE)
    return speech, [*warnings, *speech.metadata.get("warnings", ())]


def _source_rate(path: str) -> int | None:
    """The sample rate stored in an audio file (for the conversion warning), if it can be read."""
    try:
        import soundfile

        return int(soundfile.info(path).samplerate)
    except Exception:  # noqa: BLE001 - not a soundfile format: ask FFmpeg
        pass
    try:
        import av

        with av.open(path) as container:
            stream = next(s for s in container.streams if s.type == "audio")
            return int(stream.codec_context.sample_rate or stream.rate)
    except Exception:  # noqa: BLE001 - load_audio reports unreadable files itself
        return None


def _check_buffer(buffer: np.ndarray | None, frames: int, size: int, auto: bool) -> np.ndarray | None:
    if buffer is None:
        return None
    expected = f"float32 [{frames}, 3, {size}, {size}]"
    if not isinstance(buffer, np.ndarray) or buffer.dtype != np.float32 or buffer.ndim != 4 or buffer.shape[1:] != (3, size, size):
        got = f"{getattr(buffer, 'dtype', type(buffer).__name__)} {tuple(getattr(buffer, 'shape', ()))}"
        raise InvalidInputError(f"buffer must be {expected}, got {got}")
    if buffer.shape[0] < frames or (not auto and buffer.shape[0] != frames):
        raise InvalidInputError(f"buffer must be {expected} for this slot, got {buffer.shape[0]} frames")
    if not buffer.flags.c_contiguous or not buffer.flags.writeable:
        raise InvalidInputError("buffer must be a writable, C-contiguous array")
    return buffer[:frames]


def _typed(error: BaseException) -> BaseException:
    """Failures as Vortex's typed errors: CUDA OOM named as such, the rest kept."""
    if isinstance(error, VortexError):
        return error
    if is_cuda_oom(error):
        wrapped = CudaOutOfMemoryError(f"CUDA out of memory: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        wrapped.__cause__ = error
        return wrapped
    if isinstance(error, MemoryError):
        return VortexError("out of memory (RAM); use a smaller --size or a shorter slot")
    return error


# --- the compatibility call -------------------------------------------------------------------


def _run_sync(coroutine):
    """``asyncio.run`` that also works when the caller already runs an event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="vortex-sync") as pool:
        return pool.submit(asyncio.run, coroutine).result()


_default_pipeline: VortexPipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> VortexPipeline:
    """A process-wide resident pipeline (warp animator) for ``animate``."""
    global _default_pipeline
    with _default_lock:
        if _default_pipeline is None:
            _default_pipeline = VortexPipeline()
        return _default_pipeline


def _to_numpy(value: Any, name: str) -> tuple[np.ndarray, bool]:
    is_torch = type(value).__module__.startswith("torch")
    if is_torch:
        value = value.detach().to("cpu").float().numpy()
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a numeric array, got {type(value).__name__}") from None
    return array, is_torch


def animate(
    source_image: Any,
    driving_audio: Any,
    expression_preset: str = "neutral",
    fps: int = 24,
    duration: float = 45,
    output: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    *,
    pipeline: VortexPipeline | None = None,
):
    """The original animator contract: a face image and 24 kHz speech in, frames out.

    source_image: float [3, H, W] in [0, 1] (numpy or torch), a photo with a face.
    driving_audio: float mono waveform at 24 kHz (numpy or torch, [N] or [1, N]).
    Returns float32 [duration * fps, 3, S, S] in [0, 1] (S = H when square and 256..1024, else
    512), as a torch tensor when the image was one. Audio longer than ``duration`` is truncated
    with the warning "Audio truncated from 60.0s to 45.0s"; shorter audio is padded with
    silence while the face idles. ``output`` also writes the MP4.
    """
    image, as_torch = _to_numpy(source_image, "source_image")
    if image.ndim != 3 or image.shape[0] != 3:
        raise InvalidInputError(f"source_image must be float [3, H, W] in [0, 1], got shape {tuple(image.shape)}")
    if not np.isfinite(image).all() or image.min() < -1e-3 or image.max() > 1 + 1e-3:
        raise InvalidInputError("source_image values must be finite and within [0, 1]")
    audio, _ = _to_numpy(driving_audio, "driving_audio")
    if audio.ndim == 2 and audio.shape[0] == 1:
        audio = audio[0]
    if audio.ndim != 1:
        raise InvalidInputError(f"driving_audio must be a mono waveform [N] at 24 kHz, got shape {tuple(audio.shape)}")
    if audio.size == 0:
        raise InvalidInputError("driving_audio is empty")
    if not np.isfinite(audio).all():
        raise InvalidInputError("driving_audio contains NaN or infinite samples")
    height, width = image.shape[1:]
    size = height if height == width and 256 <= height <= 1024 and height % 2 == 0 else 512
    fps_value = fps
    if isinstance(fps, float) and fps.is_integer():
        fps_value = int(fps)
    if isinstance(fps_value, bool) or not isinstance(fps_value, int) or not FPS_RANGE[0] <= fps_value <= FPS_RANGE[1]:
        raise InvalidInputError(f"fps must be an integer from {FPS_RANGE[0]} to {FPS_RANGE[1]}, got {fps!r}")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not DURATION_RANGE[0] <= duration <= DURATION_RANGE[1]:
        raise InvalidInputError(f"duration must be from {DURATION_RANGE[0]:g} to {DURATION_RANGE[1]:g} seconds, got {duration!r}")
    validate_size(size, "size")
    recipe = Recipe(
        audio_track=AudioTrack(),
        visual_track=VisualTrack(expression_preset=expression_preset),
        slot=SlotSpec(float(duration), fps_value, size, int(seed or 0)),
    )
    from vortex.motion.expressions import preset

    preset(expression_preset)  # unknown preset -> InvalidInputError listing the valid ones
    pixels = np.clip(np.rint(image.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
    pipe = pipeline or default_pipeline()
    result = _run_sync(pipe._generate(recipe, _Inputs(waveform=audio, image=pixels), "animate", output, None, None, None,
                                        None, None, True))
    result.raise_for_error()
    frames = result.frames_buffer
    if as_torch:
        import torch

        return torch.from_numpy(frames)
    return frames
