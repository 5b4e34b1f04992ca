"""Production speech backend: the official Kokoro-82M PyTorch weights and English voices.

``KokoroTorchSpeech(models_dir).synthesize(text, voice, speed, emotion)`` returns the same
``Speech`` as the embedded ONNX backend: the same misaki-style G2P (``vortex.speech.g2p``),
the same chunking, pauses and emotions, and a phone timeline built from Kokoro's own
predicted durations (``KModel.forward_with_tokens`` returns them; one unit = 600 samples).

Files (``vortex models download kokoro``): ``config.json``, ``kokoro-v1_0.pth`` and
``voices/<voice>.pt`` (float32 [510, 1, 256] each) under ``models_dir()/kokoro``.

Voices: any official English voice id (``af_heart``, ``am_adam``, ... see
``vortex.speech.voices.KOKORO_ENGLISH_VOICES``), or a Vortex voice id: the embedded packs map
to English voices (``ENGLISH_FOR_PACK``) and character voices keep their blend weights and
speed over those English packs, so ``rick_c137`` stays a rough, fast male voice.

The ``kokoro`` package's ``__init__`` imports its text pipeline (misaki -> spaCy, which wants to
download a language model at run time); the network itself needs only torch, transformers and
loguru. So ``kokoro.model`` is imported without running the package ``__init__``
(``_kmodel_class``; if ``kokoro`` was already imported in full, that import is reused). Install: ``pip install 'vortex[kokoro]'`` and
``pip install --no-deps kokoro==0.9.4``.

Determinism: Kokoro's vocoder draws random noise (its harmonic source's phase); each chunk runs
under a forked torch RNG seeded from ``seed``, so the same request gives the same samples on
the same device.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError, MissingResourceError, ModelIntegrityError
from vortex.progress import Progress
from vortex.speech.chunked import SpeechStream, fit_to_audio, synthesize_chunks
from vortex.speech.g2p import G2P, Chunk, first_chunk_least
from vortex.speech.kokoro_model import SAMPLES_PER_UNIT
from vortex.speech.speech import Speech
from vortex.speech.voices import (
    DEFAULT_EMOTION,
    ENGLISH_FOR_PACK,
    KOKORO_ENGLISH_VOICES,
    VOICES,
    check_text,
    get_emotion,
    get_kokoro_voice,
    model_speed,
)

BACKEND = "kokoro"
MODEL_FILE = "kokoro-v1_0.pth"
CONFIG_FILE = "config.json"
DEFAULT_ENGLISH_VOICE = "af_heart"
_INSTALL = "pip install 'vortex[kokoro]' && pip install --no-deps kokoro==0.9.4"


@dataclass(frozen=True)
class EnglishVoice:
    """A voice as official English packs: ``blend`` of (English voice id, weight), and a speed."""

    id: str
    blend: tuple[tuple[str, float], ...]
    speed: float = 1.0

    @property
    def recipe(self) -> str:
        if len(self.blend) == 1:
            return self.blend[0][0]
        return " + ".join(f"{w:.2f} {name}" for name, w in self.blend)


def english_voice(voice_id: str) -> EnglishVoice:
    """Resolve an English voice id or a Vortex voice id to official English packs."""
    if voice_id in KOKORO_ENGLISH_VOICES:
        return EnglishVoice(voice_id, ((voice_id, 1.0),))
    if voice_id in VOICES:
        voice = get_kokoro_voice(voice_id)
        return EnglishVoice(voice_id, tuple((ENGLISH_FOR_PACK[p], w) for p, w in voice.blend), voice.speed)
    raise InvalidInputError(
        f"unknown voice {voice_id!r}; valid voices: {', '.join(KOKORO_ENGLISH_VOICES)}, {', '.join(VOICES)}"
    )


def _kmodel_class():
    """``kokoro.model.KModel`` without importing kokoro's text pipeline (misaki, spaCy)."""
    if "kokoro.model" in sys.modules:
        return sys.modules["kokoro.model"].KModel
    spec = importlib.util.find_spec("kokoro")
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError(f"the kokoro package is not installed; install it with: {_INSTALL}")
    if "kokoro" not in sys.modules:
        # A bare package module: lets ``import kokoro.model`` run without ``kokoro/__init__.py``
        # (whose KPipeline import would load misaki and spaCy even when they are installed).
        package = types.ModuleType("kokoro")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        package.__file__ = spec.origin
        sys.modules["kokoro"] = package
    try:
        module = importlib.import_module("kokoro.model")
    except ImportError as exc:
        raise MissingResourceError(f"kokoro's model needs {exc.name or exc}; install with: {_INSTALL}") from exc
    try:
        from loguru import logger

        logger.disable("kokoro")  # what kokoro/__init__ would do: no debug lines on stderr
    except ImportError:
        pass
    return module.KModel


def load_kmodel(config_path: Path, weights_path: Path, device: str = "cpu"):
    """Build KModel from the config and load the official weights strictly.

    KModel's own loader falls back to ``strict=False`` when keys carry the DDP ``module.``
    prefix, which would silently accept a wrong file; we reload each part strictly (prefix
    stripped) so a mismatched checkpoint is an error that names the offending keys.
    """
    import torch

    kmodel_cls = _kmodel_class()
    try:
        model = kmodel_cls(repo_id="hexgrad/Kokoro-82M", config=str(config_path), model=str(weights_path))
        checkpoint = torch.load(str(weights_path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, KeyError, AssertionError) as exc:
        raise ModelIntegrityError(f"{weights_path} or {config_path} is not a Kokoro-82M checkpoint: {exc}") from exc
    expected = {"bert", "bert_encoder", "predictor", "text_encoder", "decoder"}
    if set(checkpoint) != expected:
        raise ModelIntegrityError(f"{weights_path} has parts {sorted(checkpoint)}, expected {sorted(expected)}")
    for part, state in checkpoint.items():
        state = {k.removeprefix("module."): v for k, v in state.items()}
        try:
            getattr(model, part).load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelIntegrityError(f"{weights_path} part {part!r} does not match Kokoro-82M: {str(exc)[:300]}") from exc
    return model.to(device).eval()


def load_voice_pack(path: Path) -> np.ndarray:
    import torch

    try:
        pack = torch.load(str(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise ModelIntegrityError(f"{path} is not a Kokoro voice pack: {exc}") from exc
    array = np.asarray(pack.float().numpy() if hasattr(pack, "numpy") else pack, dtype=np.float32)
    if array.ndim != 3 or array.shape[1:] != (1, 256):
        raise ModelIntegrityError(f"{path} has shape {array.shape}, expected [510, 1, 256]")
    return array


class KokoroTorchSpeech:
    """Resident KModel + voice packs; thread-safe (one synthesis at a time per instance).

    first_phrase: the script's first chunk is its first phrase, as in ``KokoroOnnxSpeech`` (the
    same model, as slow on a CPU; one chunking rule for every Kokoro backend).
    """

    name = "kokoro-torch"
    sample_rate = SAMPLE_RATE

    def __init__(self, models_dir: str | Path | None = None, device: str = "auto", seed: int = 0,
                 first_phrase: bool = True) -> None:
        from vortex.devices import choose_device

        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise MissingResourceError(f"the kokoro backend needs torch; install with: {_INSTALL}") from exc
        from vortex.models import require  # the official files are found as the flux actor finds its own

        self.root = require(BACKEND, models_dir)
        self.device = choose_device(device).kind
        self.seed = int(seed)
        self.first_phrase = bool(first_phrase)
        self.model = load_kmodel(self.root / CONFIG_FILE, self.root / MODEL_FILE, self.device)
        self.vocab: dict[str, int] = dict(self.model.vocab)
        self._g2p = G2P()
        self._packs: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def voice_pack(self, voice: EnglishVoice) -> np.ndarray:
        """The (blended) pack, float32 [510, 1, 256]; raises MissingResourceError for an absent voice file."""
        pack = None
        for name, weight in voice.blend:
            if name not in self._packs:
                path = self.root / "voices" / f"{name}.pt"
                if not path.is_file():
                    raise MissingResourceError(
                        f"voice {voice.id!r} needs {path}; run `vortex models download kokoro` or copy "
                        f"https://huggingface.co/hexgrad/Kokoro-82M/resolve/main/voices/{name}.pt there"
                    )
                self._packs[name] = load_voice_pack(path)
            part = np.float32(weight) * self._packs[name]
            pack = part if pack is None else pack + part
        return pack

    def synthesize(
        self,
        text: str,
        voice: str = DEFAULT_ENGLISH_VOICE,
        speed: float = 1.0,
        emotion: str = DEFAULT_EMOTION,
        progress: Progress | None = None,
    ) -> Speech:
        return self.stream(text, voice, speed, emotion, progress).join()

    def stream(
        self,
        text: str,
        voice: str = DEFAULT_ENGLISH_VOICE,
        speed: float = 1.0,
        emotion: str = DEFAULT_EMOTION,
        progress: Progress | None = None,
    ) -> SpeechStream:
        """``synthesize`` chunk by chunk (``vortex.speech.chunked.SpeechStream``)."""
        check_text(text)
        voice_obj = english_voice(voice)
        emotion_obj = get_emotion(emotion)
        rate = model_speed(speed, voice_obj, emotion_obj)
        phonemized = self._g2p(text, first_chunk_tokens=first_chunk_least(rate) if self.first_phrase else 0)
        pack = self.voice_pack(voice_obj)
        return synthesize_chunks(
            lambda index, chunk: self.run_chunk(chunk, pack, rate, self.seed + index),
            phonemized,
            emotion_obj,
            text=text,
            voice=voice,
            speed=speed,
            model_speed=rate,
            backend=self.name,
            voice_recipe=voice_obj.recipe,
            extra_metadata={"device": self.device, "seed": self.seed},
            progress=progress,
            lock=self._lock,
            stream=True,
        )

    def token_ids(self, chunk: Chunk) -> list[int]:
        """The chunk's symbols as ids of the official config's vocabulary (not the ONNX copy's)."""
        missing = sorted({s for s in chunk.symbols if s not in self.vocab})
        if missing:
            raise ModelIntegrityError(f"{self.root / CONFIG_FILE} vocabulary lacks phonemes {missing}")
        return [self.vocab[s] for s in chunk.symbols]

    def run_chunk(self, chunk: Chunk, pack: np.ndarray, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Audio of one chunk and the sample count of each token, pads included (sums match exactly)."""
        import torch

        ids = self.token_ids(chunk)
        n = len(ids)
        input_ids = torch.tensor([[0, *ids, 0]], dtype=torch.long, device=self.device)
        # Official KPipeline indexes the pack by phoneme count - 1.
        ref_s = torch.from_numpy(np.ascontiguousarray(pack[max(n - 1, 0)].reshape(1, -1))).to(self.device)
        devices = [torch.cuda.current_device()] if self.device == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            audio, pred_dur = self.model.forward_with_tokens(input_ids, ref_s, rate)
        audio = audio.detach().float().cpu().numpy().reshape(-1).astype(np.float32)
        units = pred_dur.detach().cpu().numpy().reshape(-1).astype(np.int64)
        if units.shape[0] != n + 2:
            raise RuntimeError(f"Kokoro returned {units.shape[0]} durations for {n + 2} tokens")
        samples = units * SAMPLES_PER_UNIT
        return audio, fit_to_audio(samples, len(audio))
