"""Speech a user brings: an audio file (or waveform) -> ``Speech`` with a phone timeline for lip sync.

With a transcript the words are force-aligned (pocketsphinx, ``vortex.speech.align``); without
one the phones are recognized from the audio alone, a best effort whose speech/pause rhythm is
reliable but whose phone identities often are not (see the README's "Motion" section for the
measured accuracy of both paths). Either way the result uses the same phone alphabet as our TTS,
so ``vortex.motion.plan_motion`` treats it exactly like synthesized speech.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError
from vortex.speech.speech import Speech

AudioSource = str | os.PathLike | np.ndarray


def speech_from_audio(source: AudioSource, transcript: str | None = None, sample_rate: int = SAMPLE_RATE) -> Speech:
    """Timeline for user audio: a file path (any format ``load_audio`` reads) or a mono float waveform.

    transcript: the words spoken, for forced alignment (accurate); None or blank for phone
    recognition (approximate). ``sample_rate`` applies to a waveform only (files carry their own).
    Returns 24 kHz ``Speech``; ``metadata["path"]`` and ``metadata["warnings"]`` say where it came from.
    """
    from vortex.media.audio import load_audio
    from vortex.speech.align import align_transcript, recognize_phones

    warnings: list[str] = []
    path = None
    if isinstance(source, np.ndarray):
        waveform, rate = source, int(sample_rate)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        waveform, warnings = load_audio(path, SAMPLE_RATE)
        rate = SAMPLE_RATE
    else:
        raise InvalidInputError(f"audio must be a file path or a mono float waveform, got {type(source).__name__}")
    if transcript is not None and not isinstance(transcript, str):
        raise InvalidInputError("transcript must be text (or None to recognize phones from the audio alone)")
    if transcript and transcript.strip():
        speech = align_transcript(waveform, rate, transcript)
    else:
        speech = recognize_phones(waveform, rate)
    metadata = dict(speech.metadata, warnings=list(warnings), path=str(path) if path else None)
    return replace(speech, metadata=metadata)
