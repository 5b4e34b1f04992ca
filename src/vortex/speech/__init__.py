"""Speech stage: text -> ``Speech`` (24 kHz mono waveform plus an exact phone timeline)."""

from vortex.speech.speech import PAUSE, Phone, Speech, Word

__all__ = ["PAUSE", "Phone", "Speech", "Word"]
