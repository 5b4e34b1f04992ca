"""Kokoro's first chunk is the first sentence's first phrase, so a slot's first frame need not
wait for the whole first sentence; everything after it is chunked as before."""

from __future__ import annotations

import numpy as np

from vortex.motion.planner import MotionStream
from vortex.speech.g2p import G2P

from .test_hibari import silent_runs
from .test_speech_timeline import assert_exact_timeline

# Written for this test (no benchmark or other test speaks it).
TEXT = ("Before the ferry left the harbor, the captain counted every passenger twice. "
        "Then, with a sigh, she rang the bell.")


def test_only_the_first_sentence_is_cut_at_its_first_qualifying_phrase_break():
    g2p = G2P()
    whole = g2p(TEXT)
    cut = g2p(TEXT, first_chunk_tokens=16)
    assert len(whole.chunks) == 2 and len(cut.chunks) == 3
    first, rest = cut.chunks[0], cut.chunks[1]
    assert first.symbols[-1] == "," and first.pause_after == "phrase" and rest.pause_after == "sentence"
    assert first.symbols + (" ",) + rest.symbols == whole.chunks[0].symbols  # nothing lost or re-phonemized
    assert len(first.ids) >= 16 and len(rest.ids) >= 16
    assert {w for w in first.word_index if w is not None} == set(range(6))  # "Before the ferry left the harbor"
    assert cut.chunks[2] == whole.chunks[1]  # "Then, with a sigh," is a later sentence: not cut
    assert cut.words == whole.words


def test_a_short_first_phrase_or_a_short_rest_keeps_the_sentence_whole():
    g2p = G2P()
    for text in ("Well, I think the whole village already knows.",  # "Well," is under the least
                 "The captain counted every passenger twice, slowly."):  # "slowly." is under the least
        assert g2p(text, first_chunk_tokens=16) == g2p(text)
    # The first break that qualifies is taken, not the first break.
    cut = g2p("Well, the captain counted every passenger, then she rang the bell.", first_chunk_tokens=16)
    assert "".join(cut.chunks[0].symbols).count(",") == 2


def test_first_phrase_streams_as_it_synthesizes_and_releases_frame_zero(speech_engine):
    """The first chunk alone holds enough known timeline for the motion planner's frame 0, and
    the streamed chunks join to exactly ``synthesize``'s speech."""
    for voice, emotion in (("rick_c137", "neutral"), ("morty", "excited")):
        stream = speech_engine.stream(TEXT, voice, emotion=emotion)
        chunks = iter(stream)
        try:  # a failed check must not leave the engine's lock held by a suspended stream
            first = next(chunks)
            assert first.index == 0 and first.count == 3  # first phrase, rest of the sentence, second sentence
            motion = MotionStream(24, "neutral", 1, frames=24 * 10)
            assert motion.advance(stream.speech().phones, stream.known_until).shape[0] >= 1, (voice, emotion)
            for _ in chunks:
                pass
        finally:
            chunks.close()
        streamed = stream.speech()
        whole = speech_engine.synthesize(TEXT, voice, emotion=emotion)
        assert np.array_equal(streamed.waveform, whole.waveform) and streamed.phones == whole.phones
        assert_exact_timeline(whole)


def test_the_phrase_join_is_a_quiet_gap_without_a_click(speech_engine):
    """Measured on the waveform, not the timeline: around the join the audio is near silent and
    has no step, and the quiet there lasts about the emotion's phrase pause (0.20 s, neutral)."""
    stream = speech_engine.stream(TEXT, "jm_kumo")
    lengths = [len(chunk.waveform) for chunk in stream]
    wave = stream.speech().waveform
    join, peak = lengths[0], float(np.abs(wave).max())
    around = wave[join - 240: join + 240]
    assert np.abs(around).max() < 0.01 * peak
    assert np.abs(np.diff(around)).max() < 0.002 * peak
    gaps = [(start, length) for start, length in silent_runs(wave, with_starts=True) if start <= join / 24000 <= start + length]
    assert len(gaps) == 1 and 0.15 <= gaps[0][1] <= 0.35, gaps

