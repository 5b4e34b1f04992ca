"""Words misaki's lexicons lack go to the CMU dictionary before hibari's OOV net.

Expected phones and stresses are written by hand (how an American presenter says the name),
not read from the code under test.
"""

from __future__ import annotations

import pytest

from vortex.speech.g2p import G2P
from vortex.speech.unknown_words import UnknownWords, to_kokoro, with_s


@pytest.fixture(scope="module")
def g2p():
    return G2P()


@pytest.mark.parametrize(
    "ipa, kokoro",
    [
        ("d͡ʒ ˌoʊ h ˈɑ n s ə n", "ʤˌOhˈɑnsən"),  # affricate and diphthong as misaki's single letters
        ("m ɑ t ˈeɪ oʊ", "mɑtˈAO"),
        ("p ˈɚ k ɪ n z", "pˈɜɹkɪnz"),  # stressed r-coloured vowel as misaki writes "first"
        ("p ˈi t ɚ", "pˈiTəɹ"),  # the American flap before an unstressed vowel, as in misaki's "Peter"
        ("p ə t ˈɛ l", "pətˈɛl"),  # no flap before a stressed vowel
        ("ˈaɪ ʃ ə", "ˈIʃə"),
        ("w ˈaʊ t ɚ z", "wˈWTəɹz"),
    ],
)
def test_dictionary_ipa_becomes_kokoro_alphabet(ipa, kokoro):
    assert to_kokoro(ipa) == kokoro


@pytest.mark.parametrize("stem, word", [("ʤˈAmz", "ʤˈAmzᵻz"), ("pˈit", "pˈits"), ("ˈænə", "ˈænəz"), ("kˈɑTɪʤ", "kˈɑTɪʤᵻz")])
def test_possessive_s_follows_the_last_sound(stem, word):
    assert with_s(stem) == word


@pytest.mark.parametrize(
    "name, stressed",
    [("Mateo", "A"), ("Ingrid", "ɪ"), ("Patel", "ɛ"), ("Alejandro", "ɑ"), ("Giovanni", "ɑ")],
)
def test_names_carry_one_primary_stress_on_the_right_vowel(g2p, name, stressed):
    """The OOV net gave "Mateo" no primary stress and stressed "Ingrid" on its second syllable."""
    phonemes = g2p(f"{name} is here.").phonemes.split()[0]
    assert phonemes.count("ˈ") == 1, phonemes
    assert phonemes[phonemes.index("ˈ") + 1] == stressed, phonemes
    if name == "Ingrid":
        assert phonemes.startswith("ˈɪ"), phonemes


def test_words_the_dictionary_lacks_still_get_the_net():
    words = UnknownWords()
    assert words.from_dictionary("Zorblax") is None
    assert words("Zorblax")  # the net reads it
    assert words.from_dictionary("NASA") is None  # all capitals: an acronym, not looked up
    assert words.from_dictionary("Ahmed") == words.from_dictionary("ahmed") == "ˈɑmɛd"
