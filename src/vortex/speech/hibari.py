"""The default English speech backend: hibari (``hibari-tts``), with an exact phone timeline.

hibari is a 7.9 MB int8 ONNX model distilled from Kokoro-82M's ``af_heart`` voice, on
Kokoro's token vocabulary. Its network predicts, per 12.5 ms frame, a spectrum in five parts
and an F0 curve; ``hibari.dsp.synth`` turns those into a 24 kHz waveform (a pulse train shaped
by the harmonic branch, plus seeded noise, then one inverse STFT). It runs at a few percent of
real time on one core, which is why it is the default.

The timeline: the graph predicts a duration per token (pads included) in 600-sample units
(25 ms, the same grid as Kokoro), divides it by ``speed``, rounds it (``/Round_output_0``),
clips it to at least one unit and expands the encoder by it. We run that graph in two parts
(``model_parts``): the duration predictor, then the synthesizer with ``/Round_output_0`` as an
input, and round the durations ourselves in between (``quantize_durations``). So the phones
are exactly the durations the model spoke, and they sum exactly to the audio length.

Why round ourselves: the distilled predictor gives almost whole numbers (2.00, 1.03, 2.98
units), so rounding each ``d / speed`` alone ignores most speeds (every 2-unit phone stays 2
from speed 0.81 to 1.33, then all drop to 1 at 1.34: measured, speed 1.3 only 1.14x faster
than 1.0, speed 1.4 1.58x). Rounding the running total instead (error diffusion, each token
at least one unit) makes the spoken length follow ``1 / speed`` within one unit per chunk.
Before rounding, word-final plosives after a consonant get at least two units
(``release_final_stops``): at one unit listeners lost the past tense's -ed.

Text goes through the same G2P,
chunking, pauses, emotions, progress and cancellation as the Kokoro backends
(``vortex.speech.chunked``).

Determinism: the network has no random ops; the noise comes from a numpy generator seeded
from ``(seed, chunk index)``, so the same request and seed give identical samples.
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError, MissingResourceError, ModelIntegrityError
from vortex.progress import Progress
from vortex.speech.chunked import SpeechStream, fit_to_audio, synthesize_chunks
from vortex.speech.g2p import CHUNK_TOKENS, G2P, Chunk
from vortex.speech.kokoro_model import SAMPLES_PER_UNIT
from vortex.speech.kokoro_onnx import session_options
from vortex.speech.speech import Speech
from vortex.speech.voices import (
    DEFAULT_EMOTION,
    DEFAULT_VOICE,
    HIBARI_VOICES,
    check_speed,
    check_text,
    get_emotion,
    get_voice,
    model_speed,
)

MODEL_SHA256 = "5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8"
"""``hibari/assets/hibari.onnx`` of hibari-tts 0.2.1 (the ``heart`` voice)."""
DURATION_TENSOR = "/Round_output_0"
"""round(duration / speed): whole units per token; clipped to >= 1 and expanded by the graph."""
DURATION_OUTPUT = "durations"
SPECTRUM_OUTPUTS = ("lh", "theta", "ln", "lr", "phi", "f0")
"""What ``hibari.dsp.synth`` takes, in its argument order."""
INSTALL = "pip install hibari-tts==0.2.1"

AUDIO_LEAD_SAMPLES = 1200
"""hibari's audio leads its duration grid by about 50 ms, like its Kokoro teacher's. Measured
against pocketsphinx forced alignment on 3 texts (4 sentences, 49 words): word starts lagged a
median 85 ms and ends 35 ms unshifted (median |difference| 57.5 ms); shifted by 1200 samples
(taken from each chunk's leading pad, given to its trailing pad) 35 and -15 ms (25 ms),
better than 1500 (27.5 ms) or 1800 (30 ms)."""



def _package_dir() -> Path:
    try:
        import hibari
    except ImportError as exc:
        raise MissingResourceError(f"hibari-tts is missing; install it with: {INSTALL}") from exc
    return Path(hibari.__file__).parent


@lru_cache(maxsize=1)
def model_parts() -> tuple[bytes, bytes]:
    """(duration predictor, synthesizer), both cut from the verified hibari model.

    predictor: inputs ``ids`` (and ``speed``, unused), output ``durations``: the unrounded
    duration of each token at speed 1, float [N]. synthesizer: the whole graph with the
    rounding node removed, so ``/Round_output_0`` (float [N], whole units) is an input.
    """
    path = _package_dir() / "assets" / "hibari.onnx"
    if not path.is_file():
        raise MissingResourceError(f"{path} is missing; reinstall hibari-tts ({INSTALL})")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise ModelIntegrityError(f"{path} has sha256 {digest}, expected {MODEL_SHA256}; reinstall hibari-tts ({INSTALL})")
    import onnx
    from onnx import TensorProto, helper

    predictor = onnx.load_from_string(data)
    produced = {out: node for node in predictor.graph.node for out in node.output}
    round_node = produced.get(DURATION_TENSOR)
    if round_node is None or round_node.op_type != "Round" or produced.get(round_node.input[0]) is None:
        raise ModelIntegrityError(f"{path} has no rounding node {DURATION_TENSOR!r}; it is not hibari 0.2.1")
    scaled = produced[round_node.input[0]]  # duration / speed
    if scaled.op_type != "Div" or scaled.input[1] != "speed":
        raise ModelIntegrityError(f"{path}: {DURATION_TENSOR!r} is not round(duration / speed); not hibari 0.2.1")
    predictor.graph.node.append(helper.make_node("Identity", [scaled.input[0]], [DURATION_OUTPUT], name="vortex_durations"))
    del predictor.graph.output[:]
    predictor.graph.output.append(helper.make_tensor_value_info(DURATION_OUTPUT, TensorProto.FLOAT, None))

    synthesizer = onnx.load_from_string(data)
    kept = [node for node in synthesizer.graph.node if DURATION_TENSOR not in node.output]
    del synthesizer.graph.node[:]
    synthesizer.graph.node.extend(kept)
    synthesizer.graph.input.append(helper.make_tensor_value_info(DURATION_TENSOR, TensorProto.FLOAT, [None]))
    return predictor.SerializeToString(), synthesizer.SerializeToString()


def quantize_durations(durations: np.ndarray, speed: float) -> np.ndarray:
    """Whole units (int64, each >= 1) for ``durations / speed``: the running total is rounded,
    so the sum stays within one unit of the exact one unless the minimum of one unit forces more."""
    exact = np.asarray(durations, dtype=np.float64).reshape(-1) / float(speed)
    units = np.empty(exact.shape[0], dtype=np.int64)
    spoken, total = 0, 0.0
    for i, value in enumerate(exact):
        total += max(float(value), 0.0)
        units[i] = max(1, int(np.floor(total + 0.5)) - spoken)
        spoken += int(units[i])
    return units


FINAL_STOP_UNITS = 2.0
"""Least duration (units at speed 1) of a plosive that closes a consonant cluster at a word's end."""
PLOSIVES = frozenset("ptkbdɡ")
NOT_CONSONANTS = frozenset("aɑɐæəɚɛɜeiɪᵻoɔuʊʌɒAIOWYQᵊ" "ˈˌː")
"""Vowels (misaki's one-letter diphthongs and the reduced schwa included) and marks."""
WORD_END = frozenset(" ;:,.!?—…\"()“”")
"""What follows a word: a space or punctuation (the chunk's end counts too)."""


def release_final_stops(durations: np.ndarray, symbols: tuple[str, ...]) -> np.ndarray:
    """Durations (per token, pads included, at speed 1) with every word-final plosive that
    follows a consonant lengthened to ``FINAL_STOP_UNITS``.

    Why: the predictor shortens exactly these stops, the past tense's -t/-d ("mopped the",
    "moved to") and clusters like -nd, -st, -kt: on the 52 benchmark sentences 76 % of the 63
    plosives closing a word after a consonant got one unit (25 ms, median 1.01), where the same
    plosives elsewhere get two (median 2.0, under 1.5 units only 12 % of the time). One unit is
    too short to be heard: Whisper wrote "mop", "move", "cough", "finish" for them. A stop
    before a sentence's final punctuation already lasts about 12 units (the floor does nothing).
    """
    out = np.array(durations, dtype=np.float64).reshape(-1).copy()
    for i, symbol in enumerate(symbols):
        if symbol not in PLOSIVES or i == 0 or symbols[i - 1] in NOT_CONSONANTS or symbols[i - 1] in WORD_END:
            continue
        if i + 1 == len(symbols) or symbols[i + 1] in WORD_END:
            out[i + 1] = max(out[i + 1], FINAL_STOP_UNITS)  # +1: the leading pad
    return out


class HibariSpeech:
    """Resident hibari session; thread-safe (one synthesis at a time per instance).

    threads: onnxruntime intra-op threads (default 1: the network is small, and the other core
    stays free for the stages that run beside speech).
    chunk_tokens: target tokens per synthesis chunk (see ``g2p.CHUNK_TOKENS``).
    seed: default seed of the noise component (``synthesize`` may override it).
    """

    name = "hibari"
    sample_rate = SAMPLE_RATE

    def __init__(self, threads: int = 1, chunk_tokens: int = CHUNK_TOKENS, seed: int = 0) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingResourceError("onnxruntime is missing; install it with: pip install onnxruntime==1.32.0") from exc
        predictor, synthesizer = model_parts()
        options = session_options(threads)
        self._predictor = ort.InferenceSession(predictor, sess_options=options, providers=["CPUExecutionProvider"])
        self._synthesizer = ort.InferenceSession(synthesizer, sess_options=options, providers=["CPUExecutionProvider"])
        from hibari import dsp

        self._synth = dsp.synth
        self._g2p = G2P()
        self.chunk_tokens = int(chunk_tokens)
        self.seed = int(seed)
        self._lock = threading.Lock()

    def synthesize(
        self,
        text: str,
        voice: str = DEFAULT_VOICE,
        speed: float = 1.0,
        emotion: str = DEFAULT_EMOTION,
        progress: Progress | None = None,
        seed: int | None = None,
    ) -> Speech:
        """Speak ``text`` (English). Raises InvalidInputError for empty text, a voice that is not
        hibari's, an unknown emotion or a bad speed."""
        return self.stream(text, voice, speed, emotion, progress, seed).join()

    def stream(
        self,
        text: str,
        voice: str = DEFAULT_VOICE,
        speed: float = 1.0,
        emotion: str = DEFAULT_EMOTION,
        progress: Progress | None = None,
        seed: int | None = None,
    ) -> SpeechStream:
        """``synthesize`` chunk by chunk: the input is checked now, each chunk is made as it is iterated."""
        check_text(text)
        voice_obj = get_voice(voice)
        if voice_obj.engine != "hibari":
            raise InvalidInputError(f"voice {voice!r} is a Kokoro voice; hibari speaks: {', '.join(HIBARI_VOICES)}")
        emotion_obj = get_emotion(emotion)
        check_speed(speed)
        rate = model_speed(speed, voice_obj, emotion_obj)
        seed = self.seed if seed is None else int(seed)
        phonemized = self._g2p(text, chunk_tokens=self.chunk_tokens)
        return synthesize_chunks(
            lambda index, chunk: self._run_chunk(chunk, rate, np.random.default_rng([seed, index])),
            phonemized,
            emotion_obj,
            text=text,
            voice=voice,
            speed=speed,
            model_speed=rate,
            backend=self.name,
            voice_recipe=voice_obj.recipe,
            extra_metadata={"seed": seed},
            progress=progress,
            lock=self._lock,
            trim_pause_edges=True,
            stream=True,
        )

    def _run_chunk(self, chunk: Chunk, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Audio of one chunk and the sample count of each token, pads included (sums match exactly)."""
        n = len(chunk.ids)
        ids = np.array([[0, *chunk.ids, 0]], dtype=np.int64)
        speed = np.array([rate], dtype=np.float32)
        (durations,) = self._predictor.run([DURATION_OUTPUT], {"ids": ids, "speed": speed})
        units = quantize_durations(release_final_stops(durations, chunk.symbols), rate)
        if units.shape[0] != n + 2:
            raise RuntimeError(f"hibari returned {units.shape[0]} durations for {n + 2} tokens")
        spectrum = self._synthesizer.run(
            list(SPECTRUM_OUTPUTS), {"ids": ids, "speed": speed, DURATION_TENSOR: units.astype(np.float32)}
        )
        audio = self._synth(*(np.asarray(part)[0] for part in spectrum), rng)
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        samples = units * SAMPLES_PER_UNIT
        shift = min(AUDIO_LEAD_SAMPLES, int(samples[0]))
        samples[0] -= shift
        samples[-1] += shift
        return audio, fit_to_audio(samples, len(audio))
