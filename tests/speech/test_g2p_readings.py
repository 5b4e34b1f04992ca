"""The English G2P reads numbers, money, dates, times, abbreviations, addresses and unknown words.

Expected pronunciations are written by hand in ARPABET from the CMU Pronouncing Dictionary
(the reading a person would say, word by word), not taken from the G2P. The G2P's output is
mapped to ARPABET with the aligner's table and compared phone by phone: a reading is right
when at most one phone in eight differs (the dictionary's and misaki's transcriptions differ
in small ways: the flap in "ninety", a full or reduced vowel in "and"), and a wrong reading
("nine point nine nine" for $9.99, letters for "Dr.") differs in far more.
"""

from __future__ import annotations

import pytest

from vortex.evaluation.wer import edit_distance
from vortex.speech.align import ipa_to_arpabet
from vortex.speech.g2p import G2P, speakable

CASES = [
    ("123", "W AH N  HH AH N D R AH D  T W EH N T IY  TH R IY"),
    ("1,250", "W AH N  TH AW Z AH N D  T UW  HH AH N D R AH D  F IH F T IY"),
    ("3rd", "TH ER D"),
    ("1999", "N AY N T IY N  N AY N T IY  N AY N"),
    ("$9.99", "N AY N  D AA L ER Z  AE N D  N AY N T IY  N AY N  S EH N T S"),
    ("£5", "F AY V  P AW N D Z"),
    ("45%", "F AO R T IY  F AY V  P ER S EH N T"),
    ("2.5 km", "T UW  P OY N T  F AY V  K IH L AA M AH T ER Z"),
    ("3/14/2024", "M AA R CH  F AO R T IY N TH  T W EH N T IY  T W EH N T IY  F AO R"),
    ("7:30 pm", "S EH V AH N  TH ER T IY  P IY  EH M"),
    ("Dr. Jones", "D AA K T ER  JH OW N Z"),
    ("Baker St.", "B EY K ER  S T R IY T"),
    ("the FBI", "DH AH  EH F  B IY  AY"),
    ("example.com/docs", "IH G Z AE M P AH L  D AA T  K AA M  S L AE SH  D AA K S"),
    ("ann@example.org", "AE N  AE T  IH G Z AE M P AH L  D AA T  AO R G"),
    ("Zorblax", "Z AO R B L AE K S"),
    # Names misaki's lexicons lack: read as the dictionary (and an American presenter) says them,
    # not as hibari's OOV net did ("Ahmed" AA K M D, "Patel" P EY T AH L, "Siobhan" S IH AA B HH AH N).
    ("Ahmed", "AA M EH D"),
    ("Patel", "P AH T EH L"),
    ("Siobhan", "SH IH V AO N"),
    ("Alejandro's", "AA L EY HH AA N D R OW Z"),
    ("Glorptown", "G L AO R P T AW N"),
    ("I read it yesterday.", "AY  R EH D  IH T  Y EH S T ER D EY"),
    ("I will read it.", "AY  W IH L  R IY D  IH T"),
]


def _canonical(phones: list[str]) -> list[str]:
    """ER and AH R are the same sounds (misaki writes unstressed ER as ə + ɹ)."""
    out: list[str] = []
    for p in phones:
        out.extend(["AH", "R"] if p == "ER" else [p])
    return out


@pytest.fixture(scope="module")
def g2p():
    return G2P()


@pytest.mark.parametrize("text, expected", CASES, ids=[c[0] for c in CASES])
def test_reading_matches_the_dictionary(g2p, text, expected):
    got = _canonical(ipa_to_arpabet(g2p(text).phonemes))
    want = _canonical(expected.split())
    edits = edit_distance(got, want)
    assert edits <= max(1, len(want) // 8), f"{text!r}: {' '.join(got)} (expected {' '.join(want)})"


def test_wrong_readings_would_fail_the_tolerance(g2p):
    """The tolerance separates readings: '$9.99' read as digits is far from the dictionary."""
    want = _canonical(CASES[4][1].split())
    wrong = _canonical(ipa_to_arpabet(g2p("nine point nine nine").phonemes))
    assert edit_distance(wrong, want) > max(1, len(want) // 8)


@pytest.mark.parametrize(
    "word, spoken",
    [
        ("https://example.com/docs", "example dot com slash docs"),
        ("www.vortex.io,", "W W W dot vortex dot I O,"),
        ("ann@example.org.", "ann at example dot org."),
        ("3.5", "3.5"),
        ("e.g.", "e.g."),
        ("hello", "hello"),
    ],
)
def test_addresses_become_words(word, spoken):
    assert speakable(word) == spoken


def test_every_input_word_owns_its_phones(g2p):
    text = "Dr. Jones paid $9.99 on 3/14/2024 at 7:30 pm, see example.com."
    result = g2p(text)
    assert result.words == ("Dr", "Jones", "paid", "$9.99", "on", "3/14/2024", "at", "7:30", "pm", "see", "example.com")
    owned = {w for c in result.chunks for w in c.word_index if w is not None}
    assert owned == set(range(len(result.words)))
    # "$9.99" owns "nine dollars and ninety-nine cents": six words' worth of phones.
    money = [s for c in result.chunks for s, w in zip(c.symbols, c.word_index) if w == 3]
    assert ipa_to_arpabet("".join(money))[-5:] == ["S", "EH", "N", "T", "S"]


def test_no_espeak_anywhere():
    """The default G2P is hibari's misaki port: importing it loads neither phonemizer nor espeak."""
    import subprocess
    import sys

    code = (
        "import sys; from vortex.speech.g2p import G2P; G2P()('Hello there, 42 times.'); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('phonemizer', 'espeakng_loader')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
