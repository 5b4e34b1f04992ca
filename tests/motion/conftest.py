"""Hand-built phone timelines (Kokoro IPA symbols) for the motion tests."""

from __future__ import annotations

import numpy as np
import pytest

from vortex.speech.speech import PAUSE, Phone

# "Bob may play bamboo music, maybe." as espeak-ng en-us IPA, one Kokoro token per phone,
# with durations in the range Kokoro produces (25 ms units). A trailing "1" marks stress.
SENTENCE = [
    ("b", 2), ("ɑ", 5, 1), ("b", 3), (PAUSE, 2), ("m", 3), ("e", 4, 1), ("ɪ", 2), ("p", 2), ("l", 2), ("e", 5, 1),
    ("ɪ", 3), ("b", 2), ("æ", 4), ("m", 3), ("b", 2), ("u", 6, 1), ("m", 3), ("j", 2), ("u", 4, 1), ("z", 3),
    ("ɪ", 2), ("k", 3), (PAUSE, 12), ("m", 3), ("e", 5, 1), ("ɪ", 2), ("b", 2), ("i", 6),
]


def timeline(spec, unit=0.025, lead_in=0.3, tail=0.5):
    phones = [Phone(PAUSE, 0.0, lead_in)]
    t = lead_in
    for item in spec:
        symbol, units = item[0], item[1]
        stressed = len(item) > 2 and bool(item[2])
        d = units * unit
        phones.append(Phone(symbol, t, t + d, None if symbol == PAUSE else 0, stressed))
        t += d
    phones.append(Phone(PAUSE, t, t + tail))
    return phones


def random_timeline(seed: int, seconds: float, symbols="pbmaɑæʌɔiɪeuʊowtdnszlkɡŋfvθðʃʒɹhəɛʧʤ"):
    rng = np.random.default_rng(seed)
    phones = [Phone(PAUSE, 0.0, 0.2)]
    t = 0.2
    while t < seconds - 0.6:
        if rng.random() < 0.06:
            symbol, d = PAUSE, rng.uniform(0.15, 0.6)
        else:
            symbol, d = symbols[rng.integers(len(symbols))], rng.integers(1, 7) * 0.025
        phones.append(Phone(symbol, t, t + d, None if symbol == PAUSE else 0, bool(rng.random() < 0.12)))
        t += d
    phones.append(Phone(PAUSE, t, seconds))
    return phones


@pytest.fixture
def sentence():
    return timeline(SENTENCE)


@pytest.fixture
def make_timeline():
    return timeline


@pytest.fixture
def make_random_timeline():
    return random_timeline
