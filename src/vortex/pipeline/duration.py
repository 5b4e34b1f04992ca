"""The slot's length: ``auto`` (speech plus a tail, whole frames) or fixed, with speech padded
with silence or cut at a word boundary so audio and video last exactly the same."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError
from vortex.recipe import SlotSpec
from vortex.speech.speech import PAUSE, Phone, Speech

TAIL_SEC = 0.5
"""Silence after the last word of an ``auto`` slot, so the mouth settles before the cut."""
MAX_OVERRUN = 0.2
"""A fixed slot truncates speech that overruns it by up to this fraction; more is an input error."""
FAST_CHARS_PER_SEC = 24.0
"""Faster than any voice speaks at speed 1 (measured ~14-17); a script longer than this
allows is rejected before synthesis instead of after it."""
FADE_SEC = 0.02
"""Fade-out at a truncation cut, so it does not click."""


def samples_for(frames: int, fps: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Audio samples that last exactly ``frames`` video frames (the MP4 sink uses the same rule)."""
    return frames * sample_rate // fps


def auto_frames(speech_seconds: float, fps: int, tail: float = TAIL_SEC) -> int:
    """Speech plus a tail, rounded up to whole frames."""
    return max(1, math.ceil(round((speech_seconds + tail) * fps, 6)))


def check_script_length(script: str, duration: float, speed: float) -> None:
    """Refuse, before synthesis, a script that cannot fit a fixed slot even at a fast pace."""
    fastest = len(script.strip()) / (FAST_CHARS_PER_SEC * speed)
    limit = duration * (1 + MAX_OVERRUN)
    if fastest > limit:
        raise InvalidInputError(
            f"script too long for a {duration:g} s slot: {len(script.strip())} characters need at least {fastest:.0f} s of "
            f"speech, {fastest - duration:.0f} s more than the slot; shorten it or use --duration auto"
        )


def fit_speech(speech: Speech, frames: int, fps: int, *, at_word: bool = True) -> tuple[Speech, list[str]]:
    """Pad or cut ``speech`` to exactly ``frames`` video frames.

    Padding appends silence and one trailing PAUSE (the face idles). Cutting happens at the end
    of the last word that fits (``at_word``) or exactly at the slot's end, fades out over
    ``FADE_SEC`` and warns; an overrun beyond ``MAX_OVERRUN`` of the slot is an input error
    that says by how much.
    """
    sr = speech.sample_rate
    target = samples_for(frames, fps, sr)
    slot_sec = target / sr
    n = len(speech.waveform)
    if n <= target:
        return _pad_speech(speech, target), []
    spoken_end = max((w.end for w in speech.words), default=speech.duration) if at_word else speech.duration
    overrun = spoken_end - slot_sec
    if at_word and overrun > MAX_OVERRUN * slot_sec:
        cut_words = sum(1 for w in speech.words if w.end > slot_sec)
        raise InvalidInputError(
            f"script too long for a {slot_sec:g} s slot: its speech lasts {spoken_end:.1f} s, {overrun:.1f} s "
            f"too long ({cut_words} word{'s' if cut_words != 1 else ''} would be cut); shorten it or use --duration auto"
        )
    cut = target
    lost_words = at_word and overrun > 0
    if lost_words:
        fitting = [w for w in speech.words if w.end <= slot_sec]
        cut = int(round(fitting[-1].end * sr)) if fitting else 0
    waveform = speech.waveform[:cut].astype(np.float32, copy=True)
    fade = min(cut, int(FADE_SEC * sr))
    if fade and (lost_words or not at_word):
        waveform[cut - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    cut_sec = cut / sr
    phones = []
    for p in speech.phones:
        if p.start >= cut_sec:
            break
        phones.append(p if p.end <= cut_sec else replace(p, end=cut_sec))
    words = tuple(w for w in speech.words if w.end <= cut_sec + 1e-9)
    # Times of the kept phones stay exact: the same sample rate, the same integer cut.
    trimmed = replace(speech, waveform=waveform, phones=_end_with_pause(tuple(phones), cut_sec), words=words)
    if not at_word:
        warnings = [f"Audio truncated from {speech.duration:.1f}s to {slot_sec:.1f}s"]
    elif lost_words:
        dropped = len(speech.words) - len(words)
        warnings = [f"Speech truncated from {spoken_end:.1f}s to {cut_sec:.1f}s at a word boundary to fit the {slot_sec:g}s slot "
                    f"({dropped} word{'s' if dropped != 1 else ''} cut)"]
    else:
        warnings = []  # only trailing silence was trimmed
    return _pad_speech(trimmed, target), warnings


def _end_with_pause(phones: tuple[Phone, ...], end: float) -> tuple[Phone, ...]:
    if not phones:
        return (Phone(PAUSE, 0.0, end),)
    last = phones[-1]
    if last.end >= end - 1e-9:
        return phones[:-1] + (replace(last, end=end),)
    if last.symbol == PAUSE:
        return phones[:-1] + (replace(last, end=end),)
    return phones + (Phone(PAUSE, last.end, end),)


def _pad_speech(speech: Speech, target: int) -> Speech:
    n = len(speech.waveform)
    if n == target:
        return speech
    waveform = np.zeros(target, np.float32)
    waveform[:n] = speech.waveform
    end = target / speech.sample_rate
    return replace(speech, waveform=waveform, phones=_end_with_pause(tuple(speech.phones), end))


@dataclass(frozen=True)
class TimelineSoFar:
    """The slot's speech as far as it is known, fitted to the slot.

    phones: the timeline so far (final before ``known_until`` seconds; its last pause may grow).
    audio: float32 samples of the slot's track; the first ``audio_final`` of them are final.
    fitted: the whole slot's speech once nothing can change it any more (the speech ended, or
    it already fills a fixed slot, whose cut is then known); else None.
    """

    phones: tuple[Phone, ...]
    known_until: float
    audio: np.ndarray
    audio_final: int
    fitted: Speech | None = None


class SlotTimeline:
    """Fits streamed speech to the slot while it arrives (``fit_speech`` applied chunk by chunk).

    A fixed slot pads or cuts exactly as ``fit_speech`` does on the whole speech, so what this
    releases early is a prefix of that result: audio before a possible cut's fade, phones before
    the last pause (the next chunk joins it). Once the speech fills the slot, the cut is known
    and the fitted speech final, while the rest of the script is still synthesized only to
    check the overrun limit (``finish`` then raises it, as ``fit_speech`` would).
    """

    def __init__(self, slot: SlotSpec, at_word: bool) -> None:
        self.slot = slot
        self.at_word = at_word
        self.frames: int | None = slot.fixed_frames
        self.fitted: Speech | None = None

    def update(self, speech: Speech, known_until: float) -> TimelineSoFar:
        """What is final after a chunk: ``speech`` is everything so far, final before ``known_until``."""
        if self.fitted is None and self.frames is not None:
            target = samples_for(self.frames, self.slot.fps, speech.sample_rate)
            slot_sec = target / speech.sample_rate
            # The cut is known once a word already runs past the slot (later words only end later);
            # trailing silence past it is not enough: a later word would move the cut to a word end.
            spoken_past = bool(speech.words) and speech.words[-1].end > slot_sec if self.at_word else True
            if len(speech.waveform) >= target and spoken_past:
                self.fitted, _ = fit_speech(speech, self.frames, self.slot.fps, at_word=self.at_word)
        if self.fitted is not None:
            wave = self.fitted.waveform
            return TimelineSoFar(self.fitted.phones, math.inf, wave, len(wave), self.fitted)
        final = len(speech.waveform)
        if self.frames is not None:  # a later cut fades out the samples just before it
            # A cut at a word falls at the end of the last word that fits: no earlier than the
            # last word known so far (it fits, or the cut would be known), but maybe before
            # ``known_until`` (the chunk's closing pause), when the next chunk's first word overruns.
            until = min(known_until, speech.words[-1].end) if self.at_word and speech.words else known_until
            final = min(final, max(int(round(until * speech.sample_rate)) - int(FADE_SEC * speech.sample_rate), 0))
        return TimelineSoFar(speech.phones, known_until, speech.waveform, final)

    def finish(self, speech: Speech) -> tuple[Speech, list[str]]:
        """The whole speech fitted to the slot (an ``auto`` slot's length is settled here), and
        the warnings; raises ``InvalidInputError`` for speech that overruns a fixed slot too far."""
        if self.frames is None:
            self.frames = auto_frames(speech.duration, self.slot.fps)
        fitted, warnings = fit_speech(speech, self.frames, self.slot.fps, at_word=self.at_word)
        self.fitted = fitted
        return fitted, warnings
