"""Phones (the IPA alphabet of ``vortex.speech.timeline``) -> viseme classes -> mouth control targets.

A viseme is what the mouth looks like while a phone sounds; many phones share one (t, d, n, s
look alike from outside). Each class carries a target for the four articulation channels
(``jaw_open``, ``mouth_wide``, ``mouth_round``, ``lip_press``) and a per-channel *dominance*:
how strongly that phone holds the channel against its neighbours during coarticulation
(Cohen & Massaro 1993). Tongue consonants (t, k, s...) have weak lip dominance, so the lips
already round for the "oo" in "too" while the tongue makes the "t"; bilabials dominate the jaw
and lip press because the lips must actually close.

Every symbol of Kokoro's 114-token vocabulary maps somewhere (punctuation to rest, stress and
length marks to a neutral weak target); an unknown symbol gets the neutral consonant target.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from vortex.speech.speech import PAUSE, is_vowel  # noqa: F401 - vowels are the alphabet's (speech)

ARTICULATION_CHANNELS: tuple[str, ...] = ("jaw_open", "mouth_wide", "mouth_round", "lip_press")
"""The channels visemes drive, in the column order of every target/dominance array here."""


class Viseme(str, Enum):
    REST = "rest"                  # silence: lips relaxed, closed
    BILABIAL = "bilabial"          # p b m: lips pressed shut
    LABIODENTAL = "labiodental"    # f v: lower lip under upper teeth
    DENTAL = "dental"              # θ ð: tongue tip between the teeth
    ALVEOLAR = "alveolar"          # t d n s z l: tongue tip, lips free
    POSTALVEOLAR = "postalveolar"  # ʃ ʒ tʃ dʒ ɹ: lips pushed out, slightly rounded
    VELAR = "velar"                # k g ŋ (and other tongue-back consonants): lips free
    OPEN = "open"                  # a ɑ æ ʌ ɔ: jaw wide open
    MID = "mid"                    # ə ɛ ɜ ɚ: half open
    CLOSE_FRONT = "close_front"    # i ɪ e j: spread lips, jaw nearly closed
    ROUNDED = "rounded"            # u ʊ o w: rounded, protruded lips
    NEUTRAL = "neutral"            # h ʔ, marks, unknown symbols: weak, takes its neighbours' shape


@dataclass(frozen=True)
class VisemeSpec:
    """target and dominance: (jaw_open, mouth_wide, mouth_round, lip_press); tau_s: dominance decay."""

    target: tuple[float, float, float, float]
    dominance: tuple[float, float, float, float]
    tau_s: float
    vowel: bool = False


VISEMES: dict[Viseme, VisemeSpec] = {
    Viseme.REST: VisemeSpec((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0), 0.06),
    Viseme.BILABIAL: VisemeSpec((0.0, 0.0, 0.0, 1.0), (1.5, 0.3, 0.3, 1.5), 0.02),
    Viseme.LABIODENTAL: VisemeSpec((0.08, 0.15, 0.0, 0.35), (2.0, 0.6, 0.4, 2.0), 0.035),
    Viseme.DENTAL: VisemeSpec((0.18, 0.25, 0.0, 0.0), (1.2, 0.4, 0.3, 1.0), 0.035),
    Viseme.ALVEOLAR: VisemeSpec((0.15, 0.2, 0.0, 0.0), (1.0, 0.35, 0.3, 1.0), 0.035),
    Viseme.POSTALVEOLAR: VisemeSpec((0.12, 0.0, 0.55, 0.0), (1.0, 1.0, 1.5, 1.0), 0.04),
    Viseme.VELAR: VisemeSpec((0.25, 0.1, 0.0, 0.0), (0.7, 0.3, 0.3, 1.0), 0.035),
    Viseme.OPEN: VisemeSpec((0.85, 0.25, 0.0, 0.0), (2.0, 1.0, 1.0, 1.5), 0.05, vowel=True),
    Viseme.MID: VisemeSpec((0.45, 0.25, 0.0, 0.0), (1.2, 1.0, 1.0, 1.5), 0.05, vowel=True),
    Viseme.CLOSE_FRONT: VisemeSpec((0.22, 0.75, 0.0, 0.0), (1.0, 1.2, 1.0, 1.5), 0.05, vowel=True),
    Viseme.ROUNDED: VisemeSpec((0.3, 0.0, 0.85, 0.0), (1.0, 1.0, 1.5, 1.5), 0.05, vowel=True),
    Viseme.NEUTRAL: VisemeSpec((0.2, 0.1, 0.05, 0.0), (0.3, 0.3, 0.3, 0.3), 0.035),
}

MAX_TAU_S = max(spec.tau_s for spec in VISEMES.values())
"""The slowest dominance decay of any viseme: how far a phone's pull can reach is a multiple of it."""

_CLASSES: dict[Viseme, str] = {
    Viseme.BILABIAL: "pbm",
    Viseme.LABIODENTAL: "fvʋɸβ",  # ɸ β are bilabial fricatives: lips close together but never seal
    Viseme.DENTAL: "θð",
    Viseme.ALVEOLAR: "tdnszlɾɖʈɳɽʦʣTS",  # misaki's T (flap-like t) and S (s-like) are tongue-tip too
    Viseme.POSTALVEOLAR: "ʃʒʧʤɹrɻʂɕʑʥʨꭧ",
    Viseme.VELAR: "kgɡŋxɣχqɴʁɰcɟçʝɲʎ",  # tongue back and palatal consonants: lips free
    Viseme.OPEN: "aɑæʌɔɒɐIWY",  # misaki diphthongs I=aɪ W=aʊ Y=ɔɪ start open
    Viseme.MID: "əɛɜɚᵊɤ",
    Viseme.CLOSE_FRONT: "iɪeɨᵻɯjA",  # A = eɪ
    Viseme.ROUNDED: "uʊowɥyøœOQ",  # O = oʊ, Q = əʊ
    Viseme.NEUTRAL: "hʔ̃ᵝːˈˌʰʲ↓→↗↘",
    Viseme.REST: ";:,.!?—…\"()“” ",
}

PHONE_VISEME: dict[str, Viseme] = {PAUSE: Viseme.REST}
for _viseme, _symbols in _CLASSES.items():
    for _symbol in _symbols:
        PHONE_VISEME[_symbol] = _viseme

# Phone-specific targets where one class target would be visibly wrong (ɔ is open *and* rounded).
PHONE_TARGET_OVERRIDES: dict[str, tuple[float, float, float, float]] = {
    "ɔ": (0.7, 0.0, 0.5, 0.0),
    "ɒ": (0.8, 0.05, 0.3, 0.0),
    "ɐ": (0.65, 0.25, 0.0, 0.0),
    "ʌ": (0.7, 0.25, 0.0, 0.0),
    "æ": (0.8, 0.5, 0.0, 0.0),
    "Y": (0.7, 0.0, 0.5, 0.0),
    "ɛ": (0.5, 0.4, 0.0, 0.0),
    "i": (0.18, 0.9, 0.0, 0.0),
    "e": (0.35, 0.6, 0.0, 0.0),
    "A": (0.35, 0.6, 0.0, 0.0),
    "u": (0.15, 0.0, 1.0, 0.0),
    "w": (0.08, 0.0, 1.0, 0.0),
    "o": (0.4, 0.0, 0.75, 0.0),
    "O": (0.4, 0.0, 0.75, 0.0),
    "ʊ": (0.25, 0.0, 0.65, 0.0),
    "ɹ": (0.12, 0.0, 0.4, 0.0),
    "ʃ": (0.12, 0.0, 0.65, 0.0),
    "ʒ": (0.12, 0.0, 0.65, 0.0),
}


SPLIT_DIPHTHONGS: dict[tuple[str, str], str] = {
    ("a", "ɪ"): "I", ("a", "ʊ"): "W", ("ɔ", "ɪ"): "Y", ("e", "ɪ"): "A", ("o", "ʊ"): "O",
}
"""A diphthong written as nucleus + offglide (espeak-style phonemizers, the ARPABET aligner's
``AY -> a ɪ``) -> misaki's one symbol for it. Planned as that one phone, the offglide is where the
jaw is heading, not a pose it holds: split, a fast "by" gave its 24 ms "a" to no frame at all
(the frames fell on "b" and on the closing "ɪ"), and the mouth half opened."""


def viseme_of(symbol: str) -> Viseme:
    """The viseme class of one phone symbol; unknown symbols are a neutral consonant."""
    return PHONE_VISEME.get(symbol, Viseme.NEUTRAL)


def is_bilabial(symbol: str) -> bool:
    return PHONE_VISEME.get(symbol) is Viseme.BILABIAL


GLIDES = frozenset("wjɥ")
"""Semivowels share a vowel's mouth shape (w rounded, j spread) but are consonants."""


def phone_target(symbol: str) -> np.ndarray:
    """float32 [4] target (jaw_open, mouth_wide, mouth_round, lip_press) for one phone."""
    target = PHONE_TARGET_OVERRIDES.get(symbol)
    if target is None:
        target = VISEMES[viseme_of(symbol)].target
    return np.asarray(target, np.float32)


def phone_tables(symbols: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """targets [P, 4], dominance [P, 4] and tau_s [P] for a phone sequence (float64)."""
    specs = [VISEMES[viseme_of(s)] for s in symbols]
    targets = np.array([phone_target(s) for s in symbols], np.float64).reshape(-1, 4)
    dominance = np.array([spec.dominance for spec in specs], np.float64).reshape(-1, 4)
    tau = np.array([spec.tau_s for spec in specs], np.float64)
    return targets, dominance, tau
