"""Shared real-speech fixtures for the speech tests: one resident Kokoro engine, few short texts."""

from __future__ import annotations

import pytest

SAMPLE_TEXT = (
    "Science is about asking the right questions, and then answering them honestly. "
    "Please call Stella and ask her to bring these things from the store."
)


@pytest.fixture(scope="session")
def speech_engine():
    from vortex.speech.kokoro_onnx import KokoroOnnxSpeech

    return KokoroOnnxSpeech()


@pytest.fixture(scope="session")
def sample_speech(speech_engine):
    """Two sentences of real Kokoro speech, voice jf_alpha (three chunks: the first phrase is its own)."""
    return speech_engine.synthesize(SAMPLE_TEXT, voice="jf_alpha")


@pytest.fixture(scope="session")
def hibari_engine():
    from vortex.speech.hibari import HibariSpeech

    return HibariSpeech()


@pytest.fixture(scope="session")
def hibari_speech(hibari_engine):
    """The same two sentences spoken by hibari (voice heart, the default)."""
    return hibari_engine.synthesize(SAMPLE_TEXT)
