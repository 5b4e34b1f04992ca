"""The embedded speech backend: Kokoro-82M v1.0 int8 ONNX on CPU, with an exact phone timeline.

``KokoroOnnxSpeech().synthesize(text, voice, speed, emotion)`` returns a ``Speech`` whose
waveform is float32 24 kHz mono and whose phones come from the model's own per-token durations
(exposed from the graph, see ``kokoro_model``), so the timeline is what the model spoke, not
an estimate. Long scripts are synthesized chunk by chunk (sentences, then phrases, see
``g2p``) and joined with silences whose lengths depend on the emotion.

Deterministic: the graph has no random ops and the session runs its ops in a fixed order
(sequential executor, fixed thread count), so the same request gives identical samples.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import MissingResourceError
from vortex.progress import Progress
from vortex.speech.chunked import SpeechStream, fit_to_audio, synthesize_chunks
from vortex.speech.g2p import CHUNK_TOKENS, G2P, Chunk, first_chunk_least
from vortex.speech.kokoro_model import DURATION_OUTPUT, SAMPLES_PER_UNIT, patched_model_path
from vortex.speech.speech import Speech
from vortex.speech.voices import (
    DEFAULT_EMOTION,
    DEFAULT_KOKORO_VOICE,
    check_speed,
    check_text,
    get_emotion,
    get_kokoro_voice,
    model_speed,
    voice_pack,
)

AUDIO_LEAD_SAMPLES = 1500
"""Kokoro's audio leads its duration grid by about 60 ms (measured against pocketsphinx forced
alignment and against speech onsets after silences, two voices, 3 sentences: word starts
lagged 78-85 ms, word ends 35-45 ms). Each chunk's timeline is shifted earlier by this many
samples (taken from its leading pad, given to its trailing pad), so phones sit on the sound."""


def session_options(threads: int):
    """onnxruntime options for a resident CPU session: fixed threads, sequential, no spinning."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # No busy-waiting between ops: on a small, shared CPU spinning threads steal the cores the
    # other stages (and the other intra-op thread) need; measured slower under load with it on.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class KokoroOnnxSpeech:
    """Resident Kokoro session; thread-safe (one synthesis at a time per instance).

    threads: intra-op threads for onnxruntime (default 2, the target machine's cores).
    cache: where the assembled model lives (default ``vortex.config.cache_dir()``).
    chunk_tokens: target tokens per synthesis chunk (see ``g2p.CHUNK_TOKENS``; at most 508).
    first_phrase: the script's first chunk is its first phrase when the first sentence has a
    phrase break after at least ``g2p.FIRST_PHRASE_S`` of speech (``g2p.first_chunk_least``).
    Why: int8 Kokoro speaks at about a third of real time on two cores, so a slot's first frame,
    which waits for the first chunk, came 1.1-1.5 s after the request for a 3-4 s first
    sentence; the first phrase alone takes a third to a half of that. The phrase break gets the
    emotion's phrase pause, as a long sentence's splits do. ``synthesize`` and ``stream`` chunk
    alike, so ``vortex say`` and a slot speak the same audio. (hibari, at 2 % of real time,
    keeps whole sentences: its first sentence costs well under 0.1 s.)
    """

    name = "kokoro-onnx"
    sample_rate = SAMPLE_RATE

    def __init__(self, threads: int = 2, cache: Path | None = None, chunk_tokens: int = CHUNK_TOKENS,
                 first_phrase: bool = True) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingResourceError("onnxruntime is missing; install it with: pip install onnxruntime==1.32.0") from exc
        self.model_path = patched_model_path(cache)
        self._session = ort.InferenceSession(
            str(self.model_path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
        self._g2p = G2P()
        self.chunk_tokens = int(chunk_tokens)
        self.first_phrase = bool(first_phrase)
        self._lock = threading.Lock()

    def synthesize(
        self,
        text: str,
        voice: str = DEFAULT_KOKORO_VOICE,
        speed: float = 1.0,
        emotion: str = DEFAULT_EMOTION,
        progress: Progress | None = None,
    ) -> Speech:
        """Speak ``text`` (English). Raises InvalidInputError for empty text, unknown voice/emotion, bad speed."""
        return self.stream(text, voice, speed, emotion, progress).join()

    def stream(
        self,
        text: str,
        voice: str = DEFAULT_KOKORO_VOICE,
        speed: float = 1.0,
        emotion: str = DEFAULT_EMOTION,
        progress: Progress | None = None,
    ) -> SpeechStream:
        """``synthesize`` chunk by chunk: the input is checked now, each chunk is made as it is iterated."""
        check_text(text)
        voice_obj = get_kokoro_voice(voice)
        emotion_obj = get_emotion(emotion)
        check_speed(speed)
        rate = model_speed(speed, voice_obj, emotion_obj)
        first = first_chunk_least(rate) if self.first_phrase else 0
        phonemized = self._g2p(text, chunk_tokens=self.chunk_tokens, first_chunk_tokens=first)
        pack = voice_pack(voice)
        return synthesize_chunks(
            lambda _index, chunk: self._run_chunk(chunk, pack, rate),
            phonemized,
            emotion_obj,
            text=text,
            voice=voice,
            speed=speed,
            model_speed=rate,
            backend=self.name,
            voice_recipe=voice_obj.recipe,
            progress=progress,
            lock=self._lock,
            trim_pause_edges=True,
            stream=True,
        )

    def _run_chunk(self, chunk: Chunk, pack: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
        """Audio of one chunk and the sample count of each token, pads included (sums match exactly)."""
        n = len(chunk.ids)
        ids = np.array([[0, *chunk.ids, 0]], dtype=np.int64)
        style = pack[n].reshape(1, -1).astype(np.float32)
        audio, durations = self._session.run(
            ["audio", DURATION_OUTPUT],
            {"tokens": ids, "style": style, "speed": np.array([rate], dtype=np.float32)},
        )
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        units = np.rint(np.asarray(durations, dtype=np.float64).reshape(-1)).astype(np.int64)
        if units.shape[0] != n + 2:
            raise RuntimeError(f"Kokoro returned {units.shape[0]} durations for {n + 2} tokens")
        samples = units * SAMPLES_PER_UNIT
        shift = min(AUDIO_LEAD_SAMPLES, int(samples[0]))
        samples[0] -= shift
        samples[-1] += shift
        return audio, fit_to_audio(samples, len(audio))
