"""The hibari backend: exact timeline on its alphabet, calibrated against pocketsphinx, speed,
emotions, chunking, progress, cancellation and determinism, and audio without clicks at joins."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from vortex.speech.align import align_transcript
from vortex.speech.g2p import G2P, vocab
from vortex.speech.speech import PAUSE
from vortex.speech.timeline import PAUSE_SYMBOLS, SPLIT_TOKENS, STRESS_PRIMARY, STRESS_SECONDARY, TRAILING_MARKS

from .test_speech_timeline import SPEECH_CONFTEST_TEXT_WORDS, assert_exact_timeline


def test_timeline_is_exact_and_covers_the_audio(hibari_speech):
    s = hibari_speech
    assert s.waveform.dtype == np.float32 and s.waveform.ndim == 1 and s.sample_rate == 24_000
    assert_exact_timeline(s)
    assert [w.text for w in s.words] == SPEECH_CONFTEST_TEXT_WORDS
    assert s.metadata["backend"] == "hibari" and s.metadata["chunks"] == 2 and s.voice == "heart"


def test_audio_is_exactly_the_fed_durations_long_at_every_speed():
    """The synthesizer expands each token by the whole units we give it: 600 samples each."""
    import onnxruntime as ort

    from vortex.speech.hibari import DURATION_OUTPUT, DURATION_TENSOR, model_parts, quantize_durations

    predictor, synthesizer = (ort.InferenceSession(part, providers=["CPUExecutionProvider"]) for part in model_parts())
    ids = np.array([[0, *G2P()("Please call Stella.").chunks[0].ids, 0]])
    (durations,) = predictor.run([DURATION_OUTPUT], {"ids": ids, "speed": np.ones(1, np.float32)})
    assert durations.shape == (ids.shape[1],)
    for speed in (0.8, 1.0, 1.2):
        units = quantize_durations(durations, speed)
        (lh,) = synthesizer.run(["lh"], {"ids": ids, "speed": np.ones(1, np.float32), DURATION_TENSOR: units.astype(np.float32)})
        assert int(units.sum()) * 600 == lh.shape[-1] * 300  # 300-sample frames of the waveform


def test_rounding_the_running_total_keeps_the_speed():
    from vortex.speech.hibari import quantize_durations

    near_whole = np.array([15.26, 2.0, 2.0, 1.03, 2.0, 2.98, 2.0, 2.0, 1.03, 2.0, 1.0])
    assert quantize_durations(near_whole, 1.0).tolist() == [15, 2, 2, 1, 2, 3, 2, 2, 1, 2, 1]
    for speed in (0.7, 1.1, 1.3, 1.6):
        units = quantize_durations(near_whole, speed)
        assert units.min() >= 1
        assert abs(int(units.sum()) - near_whole.sum() / speed) <= 1.0, (speed, units)
    # Rounding each value alone would make 2.0 / 1.3 two units again: no speed-up at all.
    assert np.rint(near_whole / 1.3).sum() > quantize_durations(near_whole, 1.3).sum() + 2


def test_word_boundaries_agree_with_pocketsphinx_alignment(hibari_speech):
    aligned = align_transcript(hibari_speech.waveform, 24_000, hibari_speech.text)
    assert [w.text for w in aligned.words] == [w.text for w in hibari_speech.words]
    diffs = [abs(a.start - b.start) for a, b in zip(hibari_speech.words, aligned.words)]
    diffs += [abs(a.end - b.end) for a, b in zip(hibari_speech.words, aligned.words)]
    median = float(np.median(diffs))
    print(f"hibari: median word-boundary difference vs pocketsphinx {median * 1000:.1f} ms over {len(diffs)} boundaries")
    assert median < 0.060


def _misaki_symbols() -> set[str]:
    """Every character in the pronunciations of hibari's US lexicons (what its G2P can emit)."""
    import hibari

    assets = Path(hibari.__file__).parent / "assets"
    chars: set[str] = set()
    for name in ("lexicon_us_gold.json.gz", "lexicon_us_silver.json.gz"):
        with gzip.open(assets / name, "rt", encoding="utf-8") as fh:
            for value in json.load(fh).values():
                for reading in value.values() if isinstance(value, dict) else [value]:
                    chars.update(reading or "")
    return chars


def test_every_phone_the_g2p_can_emit_has_a_viseme():
    from vortex.motion.visemes import PHONE_VISEME, Viseme

    marks = {STRESS_PRIMARY, STRESS_SECONDARY} | set(TRAILING_MARKS) | set(PAUSE_SYMBOLS)
    emitted = _misaki_symbols() | set(vocab())
    assert _misaki_symbols() - set(vocab()) <= {" "} | set("'-")  # spelled words only; not tokens
    phones = {p for sym in emitted if sym in vocab() and sym not in marks for p in SPLIT_TOKENS.get(sym, (sym,))}
    unmapped = sorted(p for p in phones if p not in PHONE_VISEME)
    assert not unmapped, unmapped
    assert all(PHONE_VISEME[p] is not Viseme.REST for p in phones)


def test_spoken_phones_use_the_documented_alphabet(hibari_speech):
    symbols = {p.symbol for p in hibari_speech.phones}
    assert not symbols & set(SPLIT_TOKENS), "misaki letters must be spelled as IPA phones"
    assert all(len(sym) == 1 for sym in symbols)
    # "right" = ɹ a ɪ t: the diphthong became two phones of one word, the first stressed.
    right = hibari_speech.words.index(next(w for w in hibari_speech.words if w.text == "right"))
    phones = [p for p in hibari_speech.phones if p.word_index == right]
    assert [p.symbol for p in phones] == ["ɹ", "a", "ɪ", "t"]
    assert phones[1].stressed and not phones[2].stressed
    assert phones[1].end == phones[2].start


def test_same_seed_same_samples_other_seed_same_timeline(hibari_engine):
    a = hibari_engine.synthesize("Hello there, friend.", emotion="excited", seed=7)
    b = hibari_engine.synthesize("Hello there, friend.", emotion="excited", seed=7)
    c = hibari_engine.synthesize("Hello there, friend.", emotion="excited", seed=8)
    assert np.array_equal(a.waveform, b.waveform) and a.phones == b.phones
    assert not np.array_equal(a.waveform, c.waveform)  # the seed drives the noise component
    assert a.phones == c.phones
    assert a.metadata["seed"] == 7


def test_speed_and_emotions_change_rate_pauses_and_loudness(hibari_engine):
    text = "I did it. I really did it."
    normal = hibari_engine.synthesize(text)
    slow = hibari_engine.synthesize(text, speed=0.8)
    fast = hibari_engine.synthesize(text, speed=1.25)
    spoken = lambda s: sum(w.end - w.start for w in s.words)  # noqa: E731
    assert spoken(slow) / spoken(normal) == pytest.approx(1.25, rel=0.08)
    assert spoken(normal) / spoken(fast) == pytest.approx(1.25, rel=0.08)
    sad = hibari_engine.synthesize(text, emotion="sad")
    manic = hibari_engine.synthesize(text, emotion="manic")
    for s in (slow, fast, sad, manic):
        assert_exact_timeline(s)
    assert sad.duration > 1.4 * manic.duration
    rms = lambda s: float(np.sqrt(np.mean(s.waveform**2)))  # noqa: E731
    assert rms(manic) / rms(sad) > 1.2


class CountingProgress:
    """A Progress that records each task's total and every advance (quiet otherwise)."""

    def __new__(cls):
        from contextlib import contextmanager

        from vortex.progress import Progress

        class Counting(Progress):
            def __init__(self):
                super().__init__("quiet")
                self.totals, self.advances = [], 0

            @contextmanager
            def task(self, name, total, unit="it"):
                self.totals.append(total)
                with super().task(name, total, unit) as task:
                    outer = self

                    class Counted:
                        def advance(self, amount=1):
                            outer.advances += 1
                            task.advance(amount)

                    yield Counted()

        return Counting()


def test_chunks_report_progress_and_stop_when_cancelled(hibari_engine, monkeypatch):
    from vortex.errors import DeadlineExceededError
    from vortex.pipeline.streaming import StoppableProgress
    from vortex.progress import Progress

    text = ("When the long road finally ended, the travellers rested by the water, counted their coins, "
            "and argued about the way home. Nobody slept.")
    monkeypatch.setattr(hibari_engine, "chunk_tokens", 40)
    progress = CountingProgress()
    speech = hibari_engine.synthesize(text, progress=progress)
    assert speech.metadata["chunks"] >= 4 and len(speech.words) == 23
    assert progress.totals == [speech.metadata["chunks"]] and progress.advances == speech.metadata["chunks"]
    assert_exact_timeline(speech)

    ran = []
    run_chunk = hibari_engine._run_chunk
    monkeypatch.setattr(hibari_engine, "_run_chunk", lambda *a: ran.append(1) or run_chunk(*a))
    stop = threading.Event()
    stop.set()  # the slot gave up: speech ends at its next chunk boundary
    with pytest.raises(DeadlineExceededError):
        hibari_engine.synthesize(text, progress=StoppableProgress(Progress.quiet(), stop))
    assert len(ran) == 1


def test_chunk_joins_are_silent_without_clicks(hibari_engine, monkeypatch):
    """Each chunk's silent ends are cut down to a faded 20 ms and joined by zeros, so the
    waveform around every join is quiet and has no step."""
    monkeypatch.setattr(hibari_engine, "chunk_tokens", 40)
    text = "When the long road finally ended, the travellers rested by the water, and nobody slept."
    stream = hibari_engine.stream(text, emotion="manic")
    lengths = [len(chunk.waveform) for chunk in stream]
    speech = stream.speech()
    assert len(lengths) >= 3
    wave, peak = speech.waveform, float(np.abs(speech.waveform).max())
    for join in np.cumsum(lengths)[:-1]:
        around = wave[join - 240: join + 240]
        assert np.abs(around).max() < 0.01 * peak, join
        assert np.abs(np.diff(around)).max() < 0.002 * peak, join


def silent_runs(wave: np.ndarray, floor_db: float = -40.0, frame: int = 240, with_starts: bool = False) -> list:
    """Seconds of each run of quiet 10 ms frames between the first and the last sound: an energy
    voice-activity detector (RMS ``floor_db`` below the 95th percentile of the frames), written
    here and independent of the engine's timeline and of its own edge trimming (-50 dB).
    with_starts: (start, length) pairs instead of lengths."""
    n = len(wave) // frame
    rms = np.sqrt(np.mean(wave[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    quiet = rms < np.percentile(rms, 95) * 10 ** (floor_db / 20)
    runs, i = [], 0
    while i < n:
        j = i
        while j < n and quiet[j] == quiet[i]:
            j += 1
        if quiet[i] and i > 0 and j < n:
            length = (j - i) * frame / 24_000
            runs.append((i * frame / 24_000, length) if with_starts else length)
        i = j
    return runs


@pytest.mark.parametrize("emotion", ["neutral", "sad", "manic"])
def test_silence_between_sentences_is_the_emotions_pause(hibari_engine, emotion):
    """The pads' own silence (about 0.3 s before and 0.45 s after a sentence) no longer adds to
    the pause: two sentences were 1.0 s apart with a 0.35 s pause, now the quiet between them,
    as an energy detector hears it, is the emotion's pause (the last sound's decay under -40 dB
    adds a few frames)."""
    from vortex.speech.voices import EMOTIONS

    speech = hibari_engine.synthesize("Please call Stella today. Ask her to bring the maps.", emotion=emotion)
    assert speech.metadata["chunks"] == 2
    pause = EMOTIONS[emotion].sentence_pause
    gap = max(silent_runs(speech.waveform))
    assert pause - 0.02 <= gap <= pause + 0.08, (emotion, pause, gap)
    assert_exact_timeline(speech)


def test_kokoro_voices_are_not_hibaris(hibari_engine):
    from vortex.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="hibari speaks: heart"):
        hibari_engine.synthesize("hi", voice="jf_alpha")
