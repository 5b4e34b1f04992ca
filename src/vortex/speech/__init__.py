"""Speech stage: text -> ``Speech`` (24 kHz mono waveform plus an exact phone timeline).

* ``HibariSpeech``: the default English voice ``heart`` (hibari, offline, CPU).
* ``KokoroOnnxSpeech``: the embedded Kokoro-82M (int8 ONNX, offline, CPU) for the other voices.
* ``align_transcript`` / ``recognize_phones``: timelines for audio users bring.
* ``VOICES`` / ``EMOTIONS``: what ``voice=`` and ``emotion=`` accept.
The phone alphabet is documented in ``vortex.speech.timeline``.
"""

from vortex.speech.align import align_transcript, recognize_phones
from vortex.speech.hibari import HibariSpeech
from vortex.speech.kokoro_onnx import KokoroOnnxSpeech
from vortex.speech.speech import PAUSE, Phone, Speech, Word
from vortex.speech.voices import EMOTIONS, VOICES

__all__ = [
    "EMOTIONS", "PAUSE", "VOICES", "HibariSpeech", "KokoroOnnxSpeech", "Phone", "Speech", "Word", "align_transcript", "recognize_phones",
]
