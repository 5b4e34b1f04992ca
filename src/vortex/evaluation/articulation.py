"""From a phone timeline to the mouth opening a listener expects to see, one value per video frame.

Why a hand-made table: the evaluator must not reuse the viseme tables of the motion planner it
judges. These values follow textbook articulatory phonetics (vowel height / jaw opening, lip
closure for bilabials) and are deliberately coarse: only their ordering matters for the
correlation, and the closure and open-vowel checks use the phone classes, not the numbers.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from vortex.speech.speech import PAUSE, Phone

BILABIALS = frozenset("pbm")
"""Phones that close the lips completely."""

OPEN_VOWELS = frozenset("aɑæɐɒɔɶ")
"""Low (open) vowels: the jaw drops and the mouth is clearly open. ``ʌ`` is open-mid and, as
pocketsphinx's AH, also stands for schwa, so it is counted with the mid vowels."""

_MID_VOWELS = frozenset("eɛəɜɞoɵɚɝʊøʌ")
_CLOSE_VOWELS = frozenset("iɪuyʉɨᵻʏɯ")
_LABIODENTALS = frozenset("fvɱ")
_ROUNDED_APPROXIMANTS = frozenset("wʍ")
_MARKS = "ˈˌːˑ̩̯̃‿-.'"

OPENNESS = {"bilabial": 0.0, "labiodental": 0.15, "rounded": 0.2, "consonant": 0.3, "close": 0.4, "mid": 0.65, "open": 1.0, "h": 0.5, "pause": 0.0}
"""Expected jaw/lip opening by class, 0 shut .. 1 widest."""


def normalize(symbol: str) -> str:
    """Strip stress, length and tie marks so ``ˈæ`` and ``æː`` compare as ``æ``."""
    return "".join(ch for ch in symbol if ch not in _MARKS)


def phone_class(symbol: str) -> str:
    """Articulatory class of a phone (IPA, one or more characters, or ``PAUSE``)."""
    core = normalize(symbol)
    if not core or symbol == PAUSE or core == PAUSE:
        return "pause"
    # A diphthong (aɪ, aʊ, ɔɪ, oʊ, eɪ) is classed by its first, most open, element.
    for ch in core:
        if ch in OPEN_VOWELS:
            return "open"
        if ch in _MID_VOWELS:
            return "mid"
        if ch in _CLOSE_VOWELS:
            return "close"
    head = core[0]
    if head in BILABIALS:
        return "bilabial"
    if head in _LABIODENTALS:
        return "labiodental"
    if head in _ROUNDED_APPROXIMANTS:
        return "rounded"
    if head == "h":
        return "h"
    return "consonant"


def is_bilabial(symbol: str) -> bool:
    return phone_class(symbol) == "bilabial"


def is_open_vowel(symbol: str) -> bool:
    return phone_class(symbol) == "open"


def articulation_curve(phones: Sequence[Phone], fps: float, frames: int, smooth_frames: float = 1.0) -> np.ndarray:
    """Expected mouth opening per video frame: float64 [frames].

    Frame ``i`` is shown during [i/fps, (i+1)/fps); its value is the time-weighted mean openness
    of the phones overlapping that interval, then Gaussian-smoothed (sigma ``smooth_frames``)
    to stand in for coarticulation and the jaw's inertia.
    """
    curve = np.zeros(frames, np.float64)
    for phone in phones:
        value = OPENNESS[phone_class(phone.symbol)]
        if value == 0.0 or phone.end <= phone.start:
            continue
        first = max(int(np.floor(phone.start * fps)), 0)
        last = min(int(np.ceil(phone.end * fps)), frames)
        for i in range(first, last):
            overlap = min(phone.end, (i + 1) / fps) - max(phone.start, i / fps)
            if overlap > 0:
                curve[i] += value * overlap * fps
    return gaussian_smooth(curve, smooth_frames)


def gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return np.asarray(values, np.float64)
    radius = int(np.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(np.pad(np.asarray(values, np.float64), radius, mode="edge"), kernel, mode="valid")


def speech_frames(phones: Iterable[Phone], fps: float, frames: int) -> np.ndarray:
    """bool [frames]: True where any non-pause phone overlaps the frame's interval."""
    mask = np.zeros(frames, bool)
    for phone in phones:
        if phone_class(phone.symbol) == "pause":
            continue
        first = max(int(np.floor(phone.start * fps)), 0)
        last = min(int(np.ceil(phone.end * fps)), frames)
        mask[first:last] = True
    return mask
