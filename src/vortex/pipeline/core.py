"""``VortexPipeline``: the resident backends; each slot it makes is a ``SlotRun`` (see ``run``)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any, Callable

import numpy as np

from vortex.backends import BackendChoice, import_code
from vortex.backends import get as backend_get
from vortex.backends import load as load_backend
from vortex.backends import names as backend_names
from vortex.backends import select as select_backend
from vortex.backends import speakers
from vortex.cpus import opencv_single_threaded
from vortex.devices import DeviceInfo, VramMonitor, choose_device, is_transient
from vortex.errors import InvalidInputError, TransientError
from vortex.pipeline.request import SlotProgress, SlotRequest
from vortex.pipeline.result import SlotResult
from vortex.pipeline.run import SlotRun
from vortex.pipeline.user_audio import TIMELINE_SOURCES
from vortex.progress import Progress
from vortex.recipe import Recipe
from vortex.reliability import RetryPolicy, StageTimeouts, retry_sync
from vortex.stages import Actor, Animator, SpeechEngine

CHUNK_FRAMES = 24
ANIMATORS = backend_names("animator")
ACTORS = backend_names("actor")
SPEECH_ENGINES = backend_names("speech")


class VortexPipeline:
    """Resident backends plus the orchestration of one slot at a time (or several at once).

    animator: ``auto`` (LivePortrait when its official weights and a CUDA GPU are present, else
    ``warp``), ``warp`` (embedded) or ``liveportrait``.
    actor: for prompts; ``auto`` (FLUX.1-schnell when its weights and a CUDA GPU are present,
    else ``procedural``), ``procedural`` or ``flux``. A photo is always used as it is.
    speech: ``auto`` (``kokoro-torch`` when the official Kokoro-82M files are present, else
    ``kokoro-onnx``), ``kokoro-onnx`` or ``kokoro-torch``: the engine of the voices it speaks;
    a slot whose voice it does not speak (``heart``, the default, is hibari's) uses that
    voice's own engine (``speech_choice``).
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
    Creating one turns OpenCV's thread pool off for the process (``opencv_single_threaded``):
    the slot's own threads do the parallel work, the pool only spin-waited beside them.
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
        import_code(*self.backend_choices.values())
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
        self._speech: dict[str, SpeechEngine] = {}
        self._animator = None
        self._actor = flux_actor
        self._load_seconds: dict[str, float] = {}
        opencv_single_threaded()  # the slot's stages are its parallelism (see vortex.cpus)

    # -- backends ---------------------------------------------------------------------------

    def load(self, speech: bool = True, animator: bool = True) -> "VortexPipeline":
        """Load the backends now (a server calls this once at start-up).

        Speech: the backend the pipeline chose and the default voice's engine, when they differ
        (a pipeline built for Kokoro's voices still speaks ``heart`` on hibari); loading only the
        default voice's left a Kokoro pipeline to load Kokoro during its first slot."""
        if speech:
            self._resident_speech(self.backend_choices["speech"])
            self.speech_backend()
        if animator:
            self.animator_backend()
        return self

    @property
    def resident_speech(self) -> tuple[str, ...]:
        """Names of the speech backends loaded so far, in load order."""
        with self._lock:
            return tuple(self._speech)

    def speech_choice(self, voice: str) -> BackendChoice:
        """The speech backend for ``voice``: the pipeline's choice when it speaks that voice, else
        the voice's own engine as "auto" chooses it (hibari for ``heart``)."""
        chosen = self.backend_choices["speech"]
        if chosen.name in {b.name for b in speakers(voice)}:
            return chosen
        return select_backend("speech", None, self.models_dir, voice=voice)

    def speech_backend(self, voice: str | None = None) -> SpeechEngine:
        """The resident engine that speaks ``voice`` (default: the default voice), loaded on first
        use; one per backend, so slots of hibari's and Kokoro's voices each keep theirs."""
        from vortex.recipe import default_voice

        return self._resident_speech(self.speech_choice(voice or default_voice()))

    def _resident_speech(self, choice: BackendChoice) -> SpeechEngine:
        with self._lock:
            if choice.name not in self._speech:
                self._speech[choice.name] = self._load("speech", self.requested_device, choice)
            return self._speech[choice.name]

    def animator_backend(self) -> Animator:
        """The resident animator (loaded on first use)."""
        with self._lock:
            if self._animator is None:
                self._animator = self._load("animator", self.device.kind)
            return self._animator

    def actor_backend(self) -> Actor:
        """The resident prompt actor (loaded on the first prompt slot)."""
        with self._lock:
            if self._actor is None:
                self._actor = self._load("actor", self.requested_device)
            return self._actor

    def _load(self, stage: str, device: str, choice: BackendChoice | None = None):
        """Load ``stage``'s chosen backend (or ``choice``), retrying transient failures
        (``RetryPolicy``): official weights read from a network mount that stalls, a GPU another
        process holds for a moment."""
        started = time.perf_counter()
        choice = choice or self.backend_choices[stage]

        def attempt():
            try:
                return load_backend(choice, self.models_dir, device)
            except Exception as exc:
                if is_transient(exc):
                    raise TransientError(f"loading the {stage} backend: {exc}") from exc
                raise

        backend = retry_sync(attempt, self.retry)
        if not (stage == "actor" and backend_get(stage, choice.name).embedded):  # drawing needs no load
            self._load_seconds[f"load_{stage}"] = round(time.perf_counter() - started, 4)
        return backend

    flux_actor = actor_backend  # the name callers used when Flux was the only loaded actor

    def backends_for(self, recipe: Recipe, external_audio: bool = False, photo: bool = False) -> dict[str, BackendChoice]:
        """The backend each stage uses for ``recipe``, and why (a recording or a photo replaces
        the speech or actor backend)."""
        from vortex.backends import BackendChoice as Choice

        choices = dict(self.backend_choices)
        track = recipe.audio_track
        if track.voice_id is not None:
            choices["speech"] = self.speech_choice(track.voice_id)
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

    def take_load_seconds(self) -> dict[str, float]:
        """Seconds spent loading backends since the last call (a slot reports them as ``load_*``)."""
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
        on_progress: Callable[[SlotProgress], None] | None = None,
        cancel: threading.Event | None = None,
        overwrite: bool = False,
    ) -> SlotResult:
        """Make one slot. Never raises for a failed slot (see ``success``/``error``; call
        ``raise_for_error()`` to raise it); Ctrl-C (cancellation) propagates after cleanup.

        output: MP4 path; frames_dir: folder of PNG frames; hls_dir: a new or empty folder for
        an HLS playlist whose segments appear while the slot renders; buffer: float32 [T, 3, H, W]
        written in place (T must equal the slot's frames for a fixed slot, at least them for
        auto); return_frames: allocate such a buffer and return it in ``frames_buffer``;
        report: JSON summary path, written for failures too; on_progress: called with a
        ``SlotProgress`` as speech chunks and frames move; cancel: set it to stop the slot at its
        next chunk (it fails with ``SlotCancelledError``, exit code 130, leaving nothing).
        The MP4, the frames folder and the report are published together once all are complete,
        or none of them (``vortex.media.transaction.OutputTransaction``); a frames folder that
        already holds files is refused unless ``overwrite=True``.
        """
        return await self.generate(SlotRequest(
            recipe=recipe, slot_id=slot_id or "slot",
            output=output, frames_dir=frames_dir, hls_dir=hls_dir, buffer=buffer, return_frames=return_frames,
            report=report, deadline=deadline, progress=progress, on_progress=on_progress, cancel=cancel,
            overwrite=overwrite,
        ))

    async def generate(self, request: SlotRequest) -> SlotResult:
        """Make the slot ``request`` describes (``generate_slot`` builds one from its arguments)."""
        return await SlotRun(self, request)()

    def generate_slot_sync(self, recipe: Recipe | dict, **kwargs: Any) -> SlotResult:
        """Blocking ``generate_slot`` (inside a running event loop it runs on a helper thread)."""
        return run_sync(self.generate_slot(recipe, **kwargs))


def run_sync(coroutine):
    """``asyncio.run`` that also works when the caller already runs an event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="vortex-sync") as pool:
        return pool.submit(asyncio.run, coroutine).result()
