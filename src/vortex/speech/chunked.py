"""The chunk loop both Kokoro backends share: chunks -> ``SpeechChunk``s as they are made -> ``Speech``.

The ONNX and PyTorch backends differ only in how one chunk becomes audio (``ChunkRunner``);
padding tokens, the silences after sentences and phrases, the emotion's gain, the timeline
and the common metadata are the same, so they live here once. Every chunk is finished on its
own (gain, peak limit and silent-edge trimming judged within it), so a slot can animate the
first sentence while the next is synthesized (``SpeechStream``), and the joined ``Speech`` is
the same whether it was streamed or not.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.progress import Progress
from vortex.speech.g2p import Chunk, Phonemized
from vortex.speech.speech import PAUSE, Speech
from vortex.speech.timeline import TimedToken, fold_tokens, timeline_from_folded
from vortex.speech.timeline import trim_pause_edges as trim_edges
from vortex.speech.voices import Emotion

PAD = "$"
"""Kokoro's pad token (id 0), placed at both ends of every chunk; shown as a pause."""
PEAK_LIMIT = 0.99
EDGE_FRAME = 240
"""10 ms frames for judging where a chunk's sound starts and ends."""
EDGE_FLOOR_DB = -50.0
"""Quieter than this below the chunk's loud frames is silence at its ends."""
EDGE_KEEP = 480
"""Samples (20 ms) kept beyond a chunk's first and last sound, faded; the join's zeros are
shortened by the kept silence on both sides, so the gap is the emotion's pause."""

ChunkRunner = Callable[[int, Chunk], tuple[np.ndarray, np.ndarray]]
"""``(chunk index, chunk) -> (audio, samples per token)``; ``samples`` covers the two pads too
(``len(chunk.symbols) + 2`` entries) and sums exactly to ``len(audio)``."""


@dataclass(frozen=True)
class SpeechChunk:
    """One chunk of speech, final as soon as it is made (kokoro's per-chunk ``Result``).

    waveform: float32 [n] mono, the emotion's gain applied (peaks limited within the chunk), the
    silence joining it to the next chunk included. folded: its phones as (symbol, samples,
    word_index, stressed), summing to n; a pause at either end merges with its neighbour's.
    """

    index: int
    count: int
    waveform: np.ndarray
    folded: tuple[tuple[str, int, int | None, bool], ...]

    @property
    def last(self) -> bool:
        return self.index == self.count - 1


class SpeechStream:
    """Speech chunk by chunk: iterate for ``SpeechChunk``s as they are synthesized; ``speech()``
    is everything so far as one ``Speech`` (the whole script once iteration ends).

    Each chunk's timeline is exact and final when it arrives, except that its closing pause
    grows when the next chunk's leading silence joins it: ``known_until`` says up to where the
    timeline can no longer change. Joining chunk by chunk gives exactly what ``synthesize``
    returns (it is this stream, run to the end).
    """

    def __init__(self, chunks: Iterator[SpeechChunk], words: tuple[str, ...], *, sample_rate: int = SAMPLE_RATE,
                 voice: str = "", text: str = "", metadata: dict[str, Any] | None = None,
                 whole: Speech | None = None) -> None:
        self._chunks = chunks
        self._whole = whole
        self.words = words
        self.sample_rate = sample_rate
        self.voice, self.text = voice, text
        self.metadata = dict(metadata or {})
        self._pieces: list[np.ndarray] = []
        self._folded: list[tuple[str, int, int | None, bool]] = []
        self.samples = 0
        self.done = False

    @classmethod
    def whole(cls, speech: Speech) -> "SpeechStream":
        """A finished ``Speech`` (a recording, or an engine without chunked synthesis) as one chunk."""
        stream = cls(iter(()), tuple(w.text for w in speech.words), sample_rate=speech.sample_rate, voice=speech.voice,
                     text=speech.text, metadata=speech.metadata, whole=speech)
        stream.samples, stream.done = len(speech.waveform), True
        return stream

    def __iter__(self) -> Iterator[SpeechChunk]:
        if self._whole is not None:
            yield SpeechChunk(0, 1, self._whole.waveform, ())
            return
        try:
            for chunk in self._chunks:
                self._pieces.append(chunk.waveform)
                for item in chunk.folded:
                    if self._folded and item[0] == PAUSE and self._folded[-1][0] == PAUSE:
                        self._folded[-1] = (PAUSE, self._folded[-1][1] + item[1], None, False)
                    else:
                        self._folded.append(item)
                self.samples += len(chunk.waveform)
                self.done = chunk.last
                yield chunk
        finally:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()  # releases the engine's lock when the consumer stops early

    @property
    def known_until(self) -> float:
        """Seconds before which the timeline is final (everything once the stream is done)."""
        if self.done or not self._folded:
            return self.samples / self.sample_rate if self.done else 0.0
        start = self.samples - (self._folded[-1][1] if self._folded[-1][0] == PAUSE else 0)
        return start / self.sample_rate

    def speech(self) -> Speech:
        """The speech so far (its last pause still open until the stream is done)."""
        if self._whole is not None:
            return self._whole
        waveform = np.concatenate(self._pieces) if self._pieces else np.zeros(0, np.float32)
        phones, words = timeline_from_folded(self._folded, self.words, self.sample_rate)
        metadata = dict(self.metadata)
        metadata["chunks"] = len(self._pieces)
        return Speech(waveform=waveform, phones=phones, words=words, sample_rate=self.sample_rate, voice=self.voice,
                      text=self.text, metadata=metadata)

    def join(self) -> Speech:
        """Run the stream to its end and return the whole ``Speech``."""
        for _ in self:
            pass
        return self.speech()


def stream_chunks(
    run_chunk: ChunkRunner,
    phonemized: Phonemized,
    emotion: Emotion,
    *,
    progress: Progress | None = None,
    lock: AbstractContextManager | None = None,
    trim_pause_edges: bool = False,
) -> Iterator[SpeechChunk]:
    """Run the chunks one by one: audio, the emotion's pause after it, its gain, its phones.

    lock: held while the chunks run (one synthesis at a time per backend instance); a consumer
    that stops early must close the generator (``SpeechStream`` does) to release it.
    trim_pause_edges: silent phone edges next to pauses move into the pauses, judged within the
    chunk (the ONNX backend does, on top of its 60 ms lead shift; the PyTorch backend keeps the
    model's duration grid as is).
    """
    progress = progress or Progress.quiet()
    pauses = {"sentence": emotion.sentence_pause, "phrase": emotion.phrase_pause}
    count = len(phonemized.chunks)
    with lock or nullcontext(), progress.task("speech", total=count, unit="chunk") as task:
        for index, chunk in enumerate(phonemized.chunks):
            audio, samples = run_chunk(index, chunk)
            tokens = [TimedToken(PAD, int(samples[0]))]
            tokens.extend(TimedToken(s, int(n), w) for s, n, w in zip(chunk.symbols, samples[1:-1], chunk.word_index))
            tokens.append(TimedToken(PAD, int(samples[-1])))
            folded = fold_tokens(tokens)
            assert sum(item[1] for item in folded) == len(audio)
            if trim_pause_edges:
                folded = trim_edges(folded, audio)
            audio, folded, kept_tail = trim_silent_ends(
                np.asarray(audio, dtype=np.float32), folded, lead=index > 0, tail=index < count - 1
            )
            pause = pauses.get(chunk.pause_after, 0.0)
            if pause > 0:
                n = max(0, int(round(pause * SAMPLE_RATE)) - kept_tail - EDGE_KEEP)
                audio = np.concatenate([audio, np.zeros(n, dtype=np.float32)])
                folded = fold_joined(folded, n)
            waveform = apply_gain(audio, emotion.gain)
            assert sum(item[1] for item in folded) == len(waveform)
            yield SpeechChunk(index, count, waveform, tuple(folded))
            task.advance(1)


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
    stream: bool = False,
) -> Speech | SpeechStream:
    """Every chunk joined into one ``Speech`` (``stream=True``: the ``SpeechStream`` itself).

    speed, model_speed, backend, voice_recipe: reported in ``Speech.metadata`` (with the emotion,
    chunk count and phonemes), followed by the backend's ``extra_metadata``.
    """
    metadata = {
        "backend": backend,
        "voice_recipe": voice_recipe,
        "emotion": emotion.id,
        "speed": float(speed),
        "model_speed": model_speed,
        "chunks": len(phonemized.chunks),
        "phonemes": phonemized.phonemes,
        **(extra_metadata or {}),
    }
    chunks = stream_chunks(run_chunk, phonemized, emotion, progress=progress, lock=lock, trim_pause_edges=trim_pause_edges)
    speech_stream = SpeechStream(chunks, phonemized.words, voice=voice, text=text, metadata=metadata)
    return speech_stream if stream else speech_stream.join()


def trim_silent_ends(
    audio: np.ndarray, folded: list[tuple[str, int, int | None, bool]], *, lead: bool = True, tail: bool = True
) -> tuple[np.ndarray, list[tuple[str, int, int | None, bool]], int]:
    """Cut the silence the pad tokens leave at a chunk's joined ends, down to ``EDGE_KEEP`` samples.

    The models speak their pads and the closing punctuation as silence: about 0.3 s before a
    sentence and 0.45 s after it (hibari), so two sentences joined by a 0.35 s pause were
    1.0 s apart. ``lead``/``tail``: whether the start/end joins another chunk (the script's own
    first and last silences are the models' lead-in and ending, kept). Sound is where a 10 ms frame comes within ``EDGE_FLOOR_DB`` of the chunk's loud
    frames (its 95th percentile); beyond the first and last such frame ``EDGE_KEEP`` samples
    stay, faded to zero over that length (so no step is left), and the rest is cut. Only the
    chunk's leading and closing pauses are shortened, never a phone, so the timeline stays
    exact. Judged within the chunk: streaming and whole synthesis stay identical.

    Returns (audio, folded, samples kept after the last sound).
    """
    n_frames = len(audio) // EDGE_FRAME
    if n_frames == 0 or not folded:
        return audio, list(folded), 0
    frames = audio[: n_frames * EDGE_FRAME].astype(np.float64).reshape(n_frames, EDGE_FRAME)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = float(np.percentile(rms, 95))
    sound = np.nonzero(rms > loud * 10 ** (EDGE_FLOOR_DB / 20))[0] if loud > 0 else np.zeros(0, int)
    if sound.size == 0:
        return audio, list(folded), 0
    items = list(folded)
    lead_room = items[0][1] if lead and items[0][0] == PAUSE else 0
    tail_room = items[-1][1] if tail and items[-1][0] == PAUSE and len(items) > 1 else 0
    cut_lead = min(lead_room, max(0, int(sound[0]) * EDGE_FRAME - EDGE_KEEP))
    cut_tail = min(tail_room, max(0, len(audio) - (int(sound[-1]) + 1) * EDGE_FRAME - EDGE_KEEP))
    audio = audio[cut_lead: len(audio) - cut_tail].copy()
    if cut_lead:
        keep = min(EDGE_KEEP, len(audio))
        audio[:keep] *= np.linspace(0.0, 1.0, keep, endpoint=False, dtype=np.float32)
        items[0] = (PAUSE, items[0][1] - cut_lead, None, False)
    if cut_tail:
        keep = min(EDGE_KEEP, len(audio))
        audio[len(audio) - keep:] *= np.linspace(1.0, 0.0, keep, endpoint=False, dtype=np.float32)
        items[-1] = (PAUSE, items[-1][1] - cut_tail, None, False)
    kept_tail = items[-1][1] if items[-1][0] == PAUSE else 0
    return audio, [item for item in items if item[1] > 0], min(kept_tail, EDGE_KEEP)


def fold_joined(folded: list[tuple[str, int, int | None, bool]], samples: int) -> list[tuple[str, int, int | None, bool]]:
    """``folded`` followed by a pause of ``samples`` (merged with a closing pause)."""
    items = list(folded)
    if samples <= 0:
        return items
    if items and items[-1][0] == PAUSE:
        items[-1] = (PAUSE, items[-1][1] + samples, None, False)
    else:
        items.append((PAUSE, samples, None, False))
    return items


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
