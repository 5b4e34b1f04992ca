"""The speech contract: what every speech backend returns and what lip sync consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vortex.config import SAMPLE_RATE

PAUSE = "_"
"""Phone symbol for any stretch without speech: leading/trailing silence, punctuation, joins."""
VOWELS = frozenset("aɑæʌɔɒɐIWY" "əɛɜɚᵊɤ" "iɪeɨᵻɯA" "uʊoyøœOQ")
"""The vowels of the phone alphabet (misaki's one-letter diphthongs included); glides (w j ɥ) are
consonants. Stress, nods and vowel checks everywhere read this one set."""


def is_vowel(symbol: str) -> bool:
    return symbol in VOWELS


@dataclass(frozen=True)
class Phone:
    """One phone in IPA (the alphabet of ``vortex.speech.timeline``) or ``PAUSE``; times in seconds."""

    symbol: str
    start: float
    end: float
    word_index: int | None = None
    """Index into ``Speech.words`` of the word this phone belongs to; None for pauses."""
    stressed: bool = False
    """True for the vowel carrying primary stress (drives nods and emphasis)."""


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Speech:
    """Synthesized or aligned speech.

    waveform: float32 [N], mono, ``sample_rate`` Hz (always 24 kHz inside Vortex).
    phones: contiguous, monotonic, first start == 0 and last end == N / sample_rate exactly.
    words: the spoken words in order, each spanning its phones.
    """

    waveform: np.ndarray
    phones: tuple[Phone, ...]
    words: tuple[Word, ...] = ()
    sample_rate: int = SAMPLE_RATE
    voice: str = ""
    text: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return len(self.waveform) / self.sample_rate

    def timeline_dict(self) -> dict:
        """JSON-ready timeline: what ``vortex say --timeline`` writes."""
        return {
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "voice": self.voice,
            "phones": [
                {"phone": p.symbol, "start": round(p.start, 6), "end": round(p.end, 6), "word": p.word_index, "stressed": p.stressed}
                for p in self.phones
            ],
            "words": [{"word": w.text, "start": round(w.start, 6), "end": round(w.end, 6)} for w in self.words],
        }
