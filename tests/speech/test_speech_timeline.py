"""The Kokoro timeline: exact, contiguous, on the documented alphabet, and deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from vortex.speech.g2p import G2P, MAX_TOKENS, vocab
from vortex.speech.speech import PAUSE
from vortex.speech.timeline import PAUSE_SYMBOLS, STRESS_PRIMARY, TRAILING_MARKS, TimedToken, fold_tokens, trim_pause_edges

SPEECH_CONFTEST_TEXT_WORDS = [
    "Science", "is", "about", "asking", "the", "right", "questions", "and", "then", "answering", "them",
    "honestly", "Please", "call", "Stella", "and", "ask", "her", "to", "bring", "these", "things", "from", "the", "store",
]


def assert_exact_timeline(speech):
    phones = speech.phones
    assert phones, "no phones"
    assert phones[0].start == 0.0
    assert phones[-1].end == len(speech.waveform) / speech.sample_rate
    for prev, cur in zip(phones, phones[1:]):
        assert cur.start == prev.end, (prev, cur)
        assert not (cur.symbol == PAUSE and prev.symbol == PAUSE), "adjacent pauses must be merged"
    for p in phones:
        assert p.end > p.start, p
        assert (p.word_index is None) == (p.symbol == PAUSE), p
    for i, w in enumerate(speech.words):
        mine = [p for p in phones if p.word_index == i]
        assert mine, f"word {w.text!r} has no phones"
        assert w.start == mine[0].start and w.end == mine[-1].end and w.end > w.start
    starts = [w.start for w in speech.words]
    assert starts == sorted(starts)


def test_timeline_is_exact_and_covers_the_audio(sample_speech):
    s = sample_speech
    assert s.waveform.dtype == np.float32 and s.waveform.ndim == 1 and s.sample_rate == 24_000
    assert_exact_timeline(s)
    assert [w.text for w in s.words] == SPEECH_CONFTEST_TEXT_WORDS
    # The first sentence's first phrase ("... questions,") is a chunk of its own (Kokoro's
    # first-phrase rule), then the rest of it and the second sentence: three chunks.
    assert s.metadata["chunks"] == 3


def test_phones_use_the_documented_alphabet(sample_speech):
    marks = set(STRESS_PRIMARY + "ˌ") | TRAILING_MARKS | PAUSE_SYMBOLS
    allowed = (set(vocab()) - marks) | {PAUSE}
    symbols = {p.symbol for p in sample_speech.phones}
    assert symbols <= allowed, symbols - allowed
    assert all(len(sym) == 1 for sym in symbols)
    stressed = [p for p in sample_speech.phones if p.stressed]
    # Every content word of this text has one primary stress on a vowel.
    assert len(stressed) >= 12
    assert all(p.symbol in "aɑɐæəɚɛɜeiɪᵻoɔuʊʌɒ" for p in stressed), stressed


def test_sentence_join_is_a_pause_of_at_least_the_emotion_gap(sample_speech):
    from vortex.speech.voices import EMOTIONS

    words = sample_speech.words
    gap = next(p for p in sample_speech.phones if p.start >= words[11].end and p.symbol == PAUSE)
    assert gap.start == words[11].end and gap.end == words[12].start
    assert gap.end - gap.start >= EMOTIONS["neutral"].sentence_pause


def test_silence_between_sentences_is_the_emotions_pause(sample_speech):
    """Kokoro's pads leave silence at each chunk's ends too; cut down, the quiet between the
    two sentences (an energy detector written in the hibari tests) is the 0.35 s pause."""
    from vortex.speech.voices import EMOTIONS

    from .test_hibari import silent_runs

    pause = EMOTIONS["neutral"].sentence_pause
    gap = max(silent_runs(sample_speech.waveform))
    assert pause - 0.02 <= gap <= pause + 0.08, gap


def test_timeline_sits_on_the_sound(sample_speech):
    """Pauses are quiet and words are loud: the timeline matches the waveform itself."""
    wave, sr = sample_speech.waveform, sample_speech.sample_rate
    peak = np.abs(wave).max()
    long_pauses = [p for p in sample_speech.phones if p.symbol == PAUSE and p.end - p.start >= 0.2]
    assert long_pauses
    for p in long_pauses:
        seg = wave[int(p.start * sr) + 240: int(p.end * sr) - 240]
        assert np.sqrt(np.mean(seg**2)) < 0.02 * peak, p
    for w in sample_speech.words:
        seg = wave[int(w.start * sr): int(w.end * sr)]
        assert np.abs(seg).max() > 0.1 * peak, w


def test_same_input_gives_identical_samples(speech_engine):
    a = speech_engine.synthesize("Hello there, friend.", voice="morty", emotion="excited")
    b = speech_engine.synthesize("Hello there, friend.", voice="morty", emotion="excited")
    assert np.array_equal(a.waveform, b.waveform)
    assert a.phones == b.phones and a.words == b.words


def test_emotions_change_rate_pauses_and_loudness(speech_engine):
    text = "I did it. I really did it."
    sad = speech_engine.synthesize(text, voice="jf_alpha", emotion="sad")
    manic = speech_engine.synthesize(text, voice="jf_alpha", emotion="manic")
    assert_exact_timeline(sad)
    assert_exact_timeline(manic)
    assert sad.duration > 1.4 * manic.duration
    sad_speech = sum(w.end - w.start for w in sad.words)
    manic_speech = sum(w.end - w.start for w in manic.words)
    assert sad_speech > 1.3 * manic_speech  # the speaking rate itself changed, not only the pauses
    rms = lambda s: float(np.sqrt(np.mean(s.waveform**2)))  # noqa: E731
    assert rms(manic) / rms(sad) > 1.2


def test_long_script_chunks_keep_the_timeline_exact(speech_engine, monkeypatch):
    text = (
        "When the long road finally ended, the travellers rested by the water, counted their coins, "
        "and argued about the way home. Nobody slept."
    )
    monkeypatch.setattr(speech_engine, "chunk_tokens", 40)
    seen = []

    class Recorder:
        mode = "quiet"

        def task(self, name, total, unit="it"):
            from contextlib import contextmanager

            @contextmanager
            def cm():
                class T:
                    def advance(self, n=1):
                        seen.append(n)

                yield T()

            seen.append(("total", total))
            return cm()

    speech = speech_engine.synthesize(text, voice="jm_kumo", progress=Recorder())
    assert speech.metadata["chunks"] >= 4
    assert seen[0] == ("total", speech.metadata["chunks"]) and len(seen) == 1 + speech.metadata["chunks"]
    assert_exact_timeline(speech)
    assert len(speech.words) == 23


def test_g2p_splits_long_sentences_at_phrases_under_the_limit():
    g2p = G2P()
    clause = "this clause keeps going and going without any end in sight"
    text = ", ".join([clause] * 12) + "."
    result = g2p(text)
    assert len(result.chunks) >= 2
    assert all(len(c.ids) <= min(220, MAX_TOKENS - 2) for c in result.chunks)
    # Cuts fall after commas (phrase boundaries), never inside a word.
    for c in result.chunks[:-1]:
        assert c.symbols[-1] == "," and c.pause_after == "phrase"
    assert sum(1 for c in result.chunks for s in c.symbols if s == ",") == 11
    assert len(result.words) == 12 * len(clause.split())
    # Each word's tokens live in exactly one chunk.
    owners = [{w for w in c.word_index if w is not None} for c in result.chunks]
    assert sum(len(o) for o in owners) == len(result.words)


def test_g2p_tracks_words_through_numbers_and_abbreviations():
    result = G2P()("Mr. Smith paid 123 dollars; a bargain!")
    assert result.words == ("Mr", "Smith", "paid", "123", "dollars", "a", "bargain")
    assert len(result.chunks) == 1  # "Mr." does not end the sentence
    assert "ɐ" in result.chunks[0].symbols  # "a" in context, not the letter name


def test_blank_lines_end_sentences_single_newlines_do_not():
    result = G2P()("First line\nstill the first sentence\n\nSecond paragraph")
    assert len(result.chunks) == 2
    assert result.words == ("First", "line", "still", "the", "first", "sentence", "Second", "paragraph")


def test_fold_rules():
    toks = [TimedToken("$", 600), TimedToken("h", 600, 0), TimedToken("ˈ", 600, 0), TimedToken("ɛ", 600, 0),
            TimedToken("ː", 600, 0), TimedToken(" ", 0), TimedToken(",", 1200), TimedToken("$", 600)]
    assert fold_tokens(toks) == [("_", 600, None, False), ("h", 600, 0, False), ("ɛ", 1800, 0, True), ("_", 1800, None, False)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"text": ""}, "empty"),
        ({"text": "   \n"}, "empty"),
        ({"text": "... !? —"}, "no speakable words"),
        ({"text": "hi", "voice": "rick"}, "valid voices: .*rick_c137"),
        ({"text": "hi", "emotion": "bored"}, "valid emotions: neutral, excited, sad, angry, manic"),
        ({"text": "hi", "speed": 0.4}, "between 0.5 and 2.0"),
        ({"text": "hi", "speed": 2.5}, "between 0.5 and 2.0"),
        ({"text": "hi", "speed": float("nan")}, "between 0.5 and 2.0"),
    ],
)
def test_invalid_requests_raise_invalid_input(speech_engine, kwargs, match):
    from vortex.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=match):
        speech_engine.synthesize(**kwargs)


def test_pause_edges_are_judged_where_each_phone_really_is():
    """A word whose first phone starts in silence (a stop's closure) gives that silence to the
    pause before it; the phones after it must still be judged at their own samples. They were
    judged that many samples early: a silent final "t" was judged on the loud "n" before it and
    lost more samples than it had (Kokoro's "chess tournament": a phone of -60 samples, then an
    assertion in the chunk join)."""
    frame = 240
    quiet, loud = np.zeros(1, np.float32), np.full(1, 0.5, np.float32)
    pieces = [(quiet, 4800), (quiet, 2400), (loud, 2400), (loud, 2400), (loud, 1200), (quiet, 1200), (quiet, 4800), (quiet, 4800)]
    wave = np.concatenate([np.resize(kind, n) for kind, n in pieces])
    folded = [("_", 4800, None, False), ("t", 4800, 0, False), ("ɜ", 2400, 0, True), ("n", 2400, 0, False), ("t", 4800, 0, False), ("_", 4800, None, False)]
    trimmed = trim_pause_edges(folded, wave)
    assert sum(p[1] for p in trimmed) == wave.size
    assert all(p[1] > 0 for p in trimmed), trimmed
    sound = np.nonzero(wave)[0]
    assert abs(trimmed[0][1] - int(sound[0])) <= 2 * frame  # the closure's silence went to the pause
    assert [p[1] for p in trimmed[2:4]] == [2400, 2400]  # phones away from pauses are untouched
