"""Word-final plosives after a consonant (the past tense's -t/-d, -nd, -st, -kt) get at least two
units: the predictor gave most of them one (25 ms), too short for a listener (Whisper heard
"mop" for "mopped", "move" for "moved")."""

from __future__ import annotations

import numpy as np

from vortex.speech.g2p import G2P
from vortex.speech.hibari import FINAL_STOP_UNITS, release_final_stops


def floored(text: str) -> list[str]:
    """The symbols whose duration a flat 1-unit prediction would see raised, in order."""
    symbols = G2P()(text).chunks[0].symbols
    ones = np.ones(len(symbols) + 2)
    out = release_final_stops(ones, symbols)
    assert out[0] == 1 and out[-1] == 1  # the pads are never touched
    changed = [i for i in range(len(symbols)) if out[i + 1] != 1]
    assert all(out[i + 1] == FINAL_STOP_UNITS for i in changed)
    return ["".join(symbols[max(0, i - 1): i + 1]) for i in changed]


def test_past_tenses_and_final_clusters_are_floored():
    # mˈɑpt ðə: the t of "mopped"; mˈuvd: the d of "moved"; ˈænd: the d of "and"; ˈæskt: the t.
    assert floored("Max mopped the floor.") == ["pt"]
    assert floored("Paul moved to Boston.") == ["vd"]
    assert floored("Salt and pepper.") == ["lt", "nd"]
    assert floored("She asked twice.") == ["kt"]


def test_stops_after_vowels_and_inside_words_are_left_alone():
    assert floored("The cat sat on a big bed.") == []  # each final stop follows a vowel
    assert floored("A happy puppy.") == []  # no stop ends a word here
    assert floored("Doctor Baptiste.") == ["st"]  # ...ˈist. at the end; the p and k inside words stay


def test_longer_predictions_are_kept():
    symbols = G2P()("We jumped in.").chunks[0].symbols
    durations = np.full(len(symbols) + 2, 3.0)
    assert np.array_equal(release_final_stops(durations, symbols), durations)
