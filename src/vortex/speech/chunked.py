"""The chunk loop both Kokoro backends share: chunks -> joined waveform + phone timeline -> ``Speech``.

The ONNX and PyTorch backends differ only in how one chunk becomes audio (``ChunkRunner``);
padding tokens, the silences after sentences and phrases, the emotion's gain, the timeline
and the common metadata are the same, so they live here once.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Callable

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.progress import Progress
from vortex.speech.g2p import Chunk, Phonemized
from vortex.speech.speech import PAUSE, Speech
from vortex.speech.timeline import TimedToken, build_timeline
from vortex.speech.voices import Emotion

PAD = "$"
"""Kokoro's pad token (id 0), placed at both ends of every chunk; shown as a pause."""
PEAK_LIMIT = 0.99

ChunkRunner = Callable[[int, Chunk], tuple[np.ndarray, np.ndarray]]
"""``(chunk index, chunk) -> (audio, samples per token)``; ``samples`` covers the two pads too
(``len(chunk.symbols) + 2`` entries) and sums exactly to ``len(audio)``."""


def synthesize_chunks(
    run_chunk: ChunkRunner,
    phonemized: Phonemized,
    emotion: Emotion,
    *,
    text: str,
    voice: str,
    speed: float,
    model_speed: float,
    backend: str,
    voice_recipe: str,
    extra_metadata: dict[str, Any] | None = None,
    progress: Progress | None = None,
    lock: AbstractContextManager | None = None,
    trim_pause_edges: bool = False,
) -> Speech:
    """Run every chunk, join them with the emotion's pauses, apply its gain and time the phones.

    speed, model_speed, backend, voice_recipe: reported in ``Speech.metadata`` (with the emotion,
    chunk count and phonemes), followed by the backend's ``extra_metadata``.
    lock: held while the chunks run (one synthesis at a time per backend instance).
    trim_pause_edges: pass the waveform to ``build_timeline`` so silent phone edges next to
    pauses move into the pauses (the ONNX backend does, on top of its 60 ms lead shift; the
    PyTorch backend keeps the model's duration grid as is).
    """
    progress = progress or Progress.quiet()
    pauses = {"sentence": emotion.sentence_pause, "phrase": emotion.phrase_pause}
    pieces: list[np.ndarray] = []
    tokens: list[TimedToken] = []
    with lock or nullcontext(), progress.task("speech", total=len(phonemized.chunks), unit="chunk") as task:
        for index, chunk in enumerate(phonemized.chunks):
            audio, samples = run_chunk(index, chunk)
            pieces.append(audio)
            tokens.append(TimedToken(PAD, int(samples[0])))
            tokens.extend(TimedToken(s, int(n), w) for s, n, w in zip(chunk.symbols, samples[1:-1], chunk.word_index))
            tokens.append(TimedToken(PAD, int(samples[-1])))
            pause = pauses.get(chunk.pause_after, 0.0)
            if pause > 0:
                n = int(round(pause * SAMPLE_RATE))
                pieces.append(np.zeros(n, dtype=np.float32))
                tokens.append(TimedToken(PAUSE, n))
            task.advance(1)

    waveform = apply_gain(np.concatenate(pieces).astype(np.float32, copy=False), emotion.gain)
    assert sum(t.samples for t in tokens) == len(waveform)
    phones, words = build_timeline(tokens, phonemized.words, SAMPLE_RATE, waveform if trim_pause_edges else None)
    return Speech(
        waveform=waveform,
        phones=phones,
        words=words,
        sample_rate=SAMPLE_RATE,
        voice=voice,
        text=text,
        metadata={
            "backend": backend,
            "voice_recipe": voice_recipe,
            "emotion": emotion.id,
            "speed": float(speed),
            "model_speed": model_speed,
            "chunks": len(phonemized.chunks),
            "phonemes": phonemized.phonemes,
            **(extra_metadata or {}),
        },
    )


def apply_gain(waveform: np.ndarray, gain: float) -> np.ndarray:
    """Scale by ``gain``; if that clips, scale down so the peak is ``PEAK_LIMIT``."""
    out = waveform * np.float32(gain)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > PEAK_LIMIT:
        out *= np.float32(PEAK_LIMIT / peak)
    return out.astype(np.float32, copy=False)


def fit_to_audio(samples: np.ndarray, audio_samples: int) -> np.ndarray:
    """Make per-token ``samples`` sum to ``audio_samples``: the final pad absorbs any difference.

    Kokoro makes exactly sum(units) * 600 samples; if a build differs, the timeline still
    matches the audio exactly. Raises RuntimeError when the final pad cannot absorb it.
    Modifies ``samples`` in place and returns it.
    """
    diff = audio_samples - int(samples.sum())
    if diff:
        if samples[-1] + diff < 0:
            raise RuntimeError(f"Kokoro audio length {audio_samples} disagrees with its durations ({samples.sum()})")
        samples[-1] += diff
    return samples
