"""Motion on real Kokoro speech, and on the same audio brought back as "user audio"."""

import numpy as np
import pytest

from vortex.errors import InvalidInputError
from vortex.media.audio import write_wav
from vortex.motion import plan_motion, plan_motion_detailed
from vortex.motion.compare import compare_closures
from vortex.motion.visemes import Viseme, is_bilabial, viseme_of
from vortex.speech.external import speech_from_audio
from vortex.speech.kokoro_onnx import KokoroOnnxSpeech
from vortex.speech.speech import PAUSE

FPS = 24
TEXT = "Bob may play bamboo music, maybe. Papa bought a map! Somebody put my bumpy lamp by the window."


@pytest.fixture(scope="module")
def tts_speech():
    return KokoroOnnxSpeech().synthesize(TEXT)


@pytest.fixture(scope="module")
def wav_path(tts_speech, tmp_path_factory):
    return write_wav(tmp_path_factory.mktemp("motion") / "tts.wav", tts_speech.waveform)


def frame_count(speech):
    return int(np.ceil(speech.duration * FPS))


def test_real_tts_every_bilabial_closes(tts_speech):
    controls = plan_motion(tts_speech, frame_count(tts_speech), FPS, "excited", seed=1)
    jaw, press = controls.channel("jaw_open"), controls.channel("lip_press")
    bilabials = [p for p in tts_speech.phones if is_bilabial(p.symbol)]
    assert len(bilabials) >= 20
    for p in bilabials:
        lo, hi = int(np.floor(p.start * FPS)) - 2, int(np.ceil(p.end * FPS)) + 2
        closed = (press[lo : hi + 1] >= 0.999) & (jaw[lo : hi + 1] <= 0.02)
        assert closed.any(), p


def test_real_tts_open_vowels_open_and_pauses_rest(tts_speech):
    controls = plan_motion(tts_speech, frame_count(tts_speech), FPS)
    jaw = controls.channel("jaw_open")
    def at_centres(pred):
        return np.array([jaw[int((p.start + p.end) / 2 * FPS)] for p in tts_speech.phones if pred(p)])
    open_jaw = at_centres(lambda p: viseme_of(p.symbol) is Viseme.OPEN and p.end - p.start >= 0.06)
    closed_jaw = at_centres(lambda p: is_bilabial(p.symbol))
    assert open_jaw.mean() > 0.55 and open_jaw.mean() > closed_jaw.mean() + 0.45
    long_pauses = at_centres(lambda p: p.symbol == PAUSE and p.end - p.start >= 0.25)
    assert long_pauses.size >= 2 and long_pauses.max() < 0.05
    assert plan_motion_detailed(tts_speech, frame_count(tts_speech), FPS).nods  # stressed syllables nod


def test_user_audio_with_transcript_matches_tts_closures(tts_speech, wav_path):
    aligned = speech_from_audio(wav_path, TEXT)
    assert aligned.metadata["path"] == str(wav_path)
    frames = frame_count(tts_speech)
    agreement = compare_closures(plan_motion_detailed(tts_speech, frames, FPS), plan_motion_detailed(aligned, frames, FPS))
    # Measured on this sentence: 25/25 within ±2 frames, mean |offset| about 0.4 frame.
    assert agreement.offsets.size >= 20
    assert np.all(np.abs(agreement.offsets) <= 2.0), agreement.offsets
    assert np.mean(np.abs(agreement.offsets)) <= 1.0
    assert agreement.false_closures() == 0
    # No stress in aligned timelines: it is inferred from vowel length (measured 29/34 words agree).
    assert aligned.metadata["stress"] == "inferred from vowel duration"
    tts_stressed = {p.word_index for p in tts_speech.phones if p.stressed}
    inferred = {p.word_index for p in aligned.phones if p.stressed}
    assert len(aligned.words) == len(tts_speech.words)
    agree = np.mean([(i in tts_stressed) == (i in inferred) for i in range(len(tts_speech.words))])
    assert agree >= 0.7


def test_user_audio_whisper_transcript_recovers_most_closures(tts_speech, wav_path):
    recovered = speech_from_audio(wav_path, recognizer="whisper")
    assert recovered.metadata["timeline_source"] == "whisper" and "window" in recovered.metadata["asr_text"].lower()
    frames = frame_count(tts_speech)
    agreement = compare_closures(plan_motion_detailed(tts_speech, frames, FPS), plan_motion_detailed(recovered, frames, FPS))
    # Measured: 23-31 of 25-33 closures found within ±2 frames (Whisper mishears a word or two).
    assert agreement.recall(2.0) >= 0.75
    assert agreement.false_closures() <= 2


def test_user_audio_phone_recognition_follows_the_speech_rhythm(tts_speech, wav_path):
    recognized = speech_from_audio(wav_path, recognizer="phones")
    assert recognized.metadata["backend"] == "pocketsphinx-allphone"
    assert recognized.metadata["timeline_source"] == "phones"
    frames = frame_count(tts_speech)
    jaw = plan_motion(recognized, frames, FPS).channel("jaw_open")
    times = np.arange(frames) / FPS
    speaking = np.zeros(frames, bool)
    for p in tts_speech.phones:
        if p.symbol != PAUSE:
            speaking |= (times >= p.start) & (times < p.end)
    assert jaw[speaking].mean() > 3 * jaw[~speaking].mean()
    assert jaw[speaking].mean() > 0.2


def test_user_audio_errors(tmp_path):
    with pytest.raises(InvalidInputError):
        speech_from_audio(tmp_path / "missing.wav")
    with pytest.raises(InvalidInputError):
        speech_from_audio(12)
    with pytest.raises(InvalidInputError):
        speech_from_audio(np.zeros(24000, np.float32), recognizer="phones")  # silent
    with pytest.raises(InvalidInputError, match="valid: auto, whisper, phones"):
        speech_from_audio(np.ones(24000, np.float32), recognizer="deepspeech")


def test_cli_on_user_audio_with_transcript(tts_speech, wav_path, tmp_path):
    from vortex.cli import main
    from vortex.motion.io import load_controls, load_timeline

    out, timeline = tmp_path / "c.npz", tmp_path / "t.json"
    rc = main(["motion", "--audio", str(wav_path), "--transcript", TEXT, "--duration", "8", "-o", str(out),
               "--timeline-out", str(timeline), "-q"])
    assert rc == 0
    controls = load_controls(out)
    assert controls.frames == 8 * FPS
    phones, duration = load_timeline(timeline)
    assert abs(duration - tts_speech.duration) < 0.01
    assert sum(is_bilabial(p.symbol) for p in phones) == sum(is_bilabial(p.symbol) for p in tts_speech.phones)
    assert controls.channel("lip_press").max() == 1.0
