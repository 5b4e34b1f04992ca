"""Word error rate: how many words a listener (Whisper, in the tests and benchmarks) got wrong.

WER = (substitutions + insertions + deletions) / reference words, counted by the edit distance
between the two word sequences after both are normalised the same way (``normalise``: lower
case, punctuation dropped, a number and the letters after it split as Whisper's own normaliser
splits them, whole numbers, ordinals, dollars (with a scale word: "$4.2 million") and percentages
spelt out, a few titles expanded) and compounds
written open, closed or hyphenated made alike (``word_errors``), so spelling conventions
("45" for "forty-five", "Dr." for "doctor", "blue black" for "blue-black") are not errors.
"""

from __future__ import annotations

import re
from typing import Sequence

TITLES = {"dr": "doctor", "mr": "mister", "mrs": "missus", "prof": "professor"}


def edit_distance(reference: Sequence, hypothesis: Sequence) -> int:
    """Levenshtein distance between two sequences (words, phones...)."""
    row = list(range(len(hypothesis) + 1))
    for i in range(1, len(reference) + 1):
        prev, row = row, [i] + [0] * len(hypothesis)
        for j in range(1, len(hypothesis) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (reference[i - 1] != hypothesis[j - 1]))
    return row[-1]


def normalise(text: str) -> list[str]:
    """The words of ``text`` in a form two spellings of the same speech share ("$9" and "9 dollars",
    "40%" and "40 percent", "3rd" and "third" too)."""
    from hibari.g2p.numbers import cardinal, ordinal

    text = text.lower()
    # Whisper's own EnglishNumberNormalizer rule: a space at a number/letter boundary, except
    # before an ordinal or plural suffix ("10am" is "10 am", "14th" and "1990s" stay whole).
    text = re.sub(r"([a-z])(\d)", r"\1 \2", text)
    text = re.sub(r"(\d)(?!(?:st|nd|rd|th|s)\b)([a-z])", r"\1 \2", text)
    # "$4.2 million" is "4.2 million dollars"; a decimal before a scale word or percent is read
    # "four point two" (Whisper writes "$4.2 million" for "four point two million dollars").
    # Other decimals stay apart ("10.20" is how Whisper writes the time "10:20").
    text = re.sub(r"\$(\d[\d,]*(?:\.\d+)?)((?:\s+(?:thousand|million|billion|trillion)\b)?)", r"\1\2 dollars", text)
    text = re.sub(r"(\d)\s?%", r"\1 percent", text)
    text = re.sub(r"(\d)\.(\d+)(?=\s+(?:thousand|million|billion|trillion|percent)\b)",
                  lambda m: f"{m.group(1)} point {' '.join(m.group(2))}", text)
    text = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", lambda m: ordinal(int(m.group(1))), text)
    text = re.sub(r"\d[\d,]*", lambda m: cardinal(int(m.group().replace(",", ""))), text)
    words = re.sub(r"[^a-z' ]", " ", text.replace("-", "")).split()
    return [TITLES.get(w, w) for w in words]


def _close_compounds(words: list[str], vocabulary: set[str]) -> list[str]:
    """Two adjacent words whose concatenation is a word of ``vocabulary`` become that word."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i] + words[i + 1] in vocabulary:
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(errors, reference words) after ``normalise``; "blue black" heard for "blue-black" (or the
    other way round) is one word on both sides."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    ref, hyp = _close_compounds(ref, set(hyp)), _close_compounds(hyp, set(ref))
    return edit_distance(ref, hyp), len(ref)


def word_error_rate(reference: str, hypothesis: str) -> float:
    errors, words = word_errors(reference, hypothesis)
    return errors / max(1, words)
