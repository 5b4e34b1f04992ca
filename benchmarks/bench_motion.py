"""Motion planning speed and the lip-closure accuracy of user audio.

* ms to plan a 45-second slot (1080 frames at 24 fps), p50/p95, for one preset and for a
  four-preset sequence. The phone timeline is real Kokoro output (a paragraph of speech,
  repeated end to end until it fills 45 s), so phone rates and durations are realistic.
* External audio: the paragraph's audio is brought back as a user's WAV file and turned into a
  timeline with a transcript (forced alignment), with a Whisper tiny.en transcript (then
  aligned; the first call includes loading Whisper) and with phone recognition; the
  bilabial closures planned from each are compared with those planned from the exact TTS
  timeline (frames at 24 fps).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb, percentiles, time_calls  # noqa: E402

from vortex.media.audio import write_wav  # noqa: E402
from vortex.motion import plan_motion, plan_motion_detailed  # noqa: E402
from vortex.motion.compare import compare_closures  # noqa: E402
from vortex.speech.external import speech_from_audio  # noqa: E402
from vortex.speech.kokoro_onnx import KokoroOnnxSpeech  # noqa: E402
from vortex.speech.speech import Phone  # noqa: E402

FPS = 24
SLOT_S = 45.0
TEXT = (
    "Bob may play bamboo music, maybe. Papa bought a map! Somebody put my bumpy lamp by the window. "
    "The weather this morning was calm, but by evening a big storm moved over the harbor."
)
QUICK_TEXT = "Bob may play bamboo music, maybe. Papa bought a map!"


def tile(phones: tuple[Phone, ...], seconds: float) -> list[Phone]:
    """Repeat a timeline end to end until it covers ``seconds``."""
    out: list[Phone] = []
    offset, length = 0.0, phones[-1].end
    while offset < seconds:
        out.extend(Phone(p.symbol, p.start + offset, p.end + offset, p.word_index, p.stressed) for p in phones)
        offset += length
    return out


def run(quick: bool = False) -> dict:
    t0 = time.perf_counter()
    speech = KokoroOnnxSpeech().synthesize(QUICK_TEXT if quick else TEXT)
    tts_s = time.perf_counter() - t0
    phones = tile(speech.phones, SLOT_S)
    frames = int(SLOT_S * FPS)
    repeats = 5 if quick else 30
    single = time_calls(lambda: plan_motion(phones, frames, FPS, "neutral", 0), repeats)
    sequence = time_calls(lambda: plan_motion(phones, frames, FPS, "neutral,excited,manic,calm", 0), repeats)
    result = {
        "machine_note": "2-core shared dev box: timings under load are pessimistic",
        "plan_45s_slot": {"frames": frames, "phones": len(phones), "ms": percentiles([s * 1000 for s in single])},
        "plan_45s_slot_sequence": {"frames": frames, "presets": 4, "ms": percentiles([s * 1000 for s in sequence])},
        "tts_audio_s": round(speech.duration, 2),
        "tts_synthesis_s": round(tts_s, 2),
    }
    n = int(np.ceil(speech.duration * FPS))
    reference = plan_motion_detailed(speech, n, FPS)
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(tmp) / "user.wav", speech.waveform)
        paths = (("with_transcript", speech.text, "auto"), ("whisper_transcript", None, "whisper"),
                 ("phone_recognition", None, "phones"))
        for name, transcript, recognizer in paths:
            t0 = time.perf_counter()
            recovered = speech_from_audio(wav, transcript, recognizer=recognizer)
            seconds = time.perf_counter() - t0
            agreement = compare_closures(reference, plan_motion_detailed(recovered, n, FPS))
            result[f"external_audio_{name}"] = {"timeline_s": round(seconds, 3), **agreement.summary(2.0)}
    result["peak_rss_mb"] = peak_rss_mb()
    return result


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
