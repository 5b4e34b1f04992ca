"""Speech the user brings (a file or the ``animate`` waveform) -> ``Speech`` via ``speech_from_audio``."""

from __future__ import annotations

import threading

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.speech.speech import Speech


TIMELINE_SOURCES = {
    "transcript": "timeline from aligning the given transcript",
    "whisper": "timeline from a Whisper transcript, aligned",
    "phones": "timeline from phone recognition (approximate lip closures)",
}
"""``Speech.metadata["timeline_source"]`` of user audio -> the reason the report gives."""


def speech_from_waveform(waveform: np.ndarray, transcript: str | None, warnings: list[str],
                         stop: threading.Event | None = None) -> tuple[Speech, list[str]]:
    """User audio (24 kHz mono) -> Speech via ``speech_from_audio``: forced alignment with a
    transcript; without one a Whisper transcript, aligned (Whisper is in the default install;
    phone recognition only when its transcript cannot be used). Its warnings (fallbacks) join the loader's.
    ``stop`` ends the transcription at its next step (a deadline, a cancel, Ctrl-C or SIGTERM)."""
    from vortex.media.audio import validate_waveform
    from vortex.speech.external import speech_from_audio

    wave = validate_waveform(waveform, SAMPLE_RATE, name="driving audio")
    speech = speech_from_audio(wave, transcript, SAMPLE_RATE, stop=stop)
    return speech, [*warnings, *speech.metadata.get("warnings", ())]


def source_rate(path: str) -> int | None:
    """The sample rate stored in an audio file (for the conversion warning), if it can be read."""
    try:
        import soundfile

        return int(soundfile.info(path).samplerate)
    except Exception:  # noqa: BLE001 - not a soundfile format: ask FFmpeg
        pass
    try:
        import av

        with av.open(path) as container:
            stream = next(s for s in container.streams if s.type == "audio")
            return int(stream.codec_context.sample_rate or stream.rate)
    except Exception:  # noqa: BLE001 - load_audio reports unreadable files itself
        return None
