"""The evaluator's arithmetic on known curves: phone classes, expected opening, lag, closures, jitter."""

from __future__ import annotations

import numpy as np
import pytest

from vortex.evaluation.articulation import articulation_curve, phone_class
from vortex.evaluation.lipsync import evaluate_tracks
from vortex.evaluation.sync import estimate_lag, mouth_levels
from vortex.speech.speech import PAUSE, Phone

FPS = 24


def _phones(spec: str, unit: float = 0.1, lead: float = 0.5) -> list[Phone]:
    """Space-separated IPA phones of ``unit`` seconds each, framed by pauses."""
    phones, t = [Phone(PAUSE, 0.0, lead)], lead
    for symbol in spec.split():
        phones.append(Phone(symbol, t, t + unit))
        t += unit
    phones.append(Phone(PAUSE, t, t + lead))
    return phones


SENTENCE = "h ə l ˈoʊ m ˈaɪ n ˈeɪ m ɪ z b ˈɑː b æ n d ˈaɪ l aɪ k p ˈæ s t ə"


@pytest.mark.parametrize(
    "symbol,cls",
    [("p", "bilabial"), ("b", "bilabial"), ("m", "bilabial"), ("ˈɑː", "open"), ("aɪ", "open"), ("æ", "open"),
     ("ə", "mid"), ("i", "close"), ("f", "labiodental"), ("s", "consonant"), (PAUSE, "pause"), ("ˈoʊ", "mid")],
)
def test_phone_classes(symbol, cls):
    assert phone_class(symbol) == cls


def test_articulation_curve_is_zero_in_pauses_and_high_on_open_vowels():
    phones = _phones("p ɑ p")
    curve = articulation_curve(phones, FPS, 40, smooth_frames=0)
    assert curve[:10].max() == 0 and curve[-10:].max() == 0
    assert curve[int(0.65 * FPS)] == pytest.approx(1.0)  # middle of the vowel
    assert curve[int(0.55 * FPS)] == pytest.approx(0.0)  # middle of the first p


def _mouth_from(phones, frames, lag, noise=0.002, seed=0):
    """A plausible aperture track: the (unsmoothed: closures reach zero) expected opening in face heights, delayed by ``lag`` frames."""
    expected = articulation_curve(phones, FPS, frames, smooth_frames=0)
    shifted = np.interp(np.arange(frames) - lag, np.arange(frames), expected, left=0, right=0)
    rng = np.random.default_rng(seed)
    return 0.002 + 0.08 * shifted + noise * rng.standard_normal(frames)


@pytest.mark.parametrize("lag", [-4.0, -2.5, -1.0, 0.0, 1.0, 3.0, 4.0, 7.5])
def test_lag_estimate_recovers_known_delay(lag):
    phones = _phones(SENTENCE)
    frames = int(phones[-1].end * FPS)
    aperture = _mouth_from(phones, frames, lag)
    estimate = estimate_lag(aperture, articulation_curve(phones, FPS, frames))
    assert estimate.offset == pytest.approx(lag, abs=0.35)
    assert estimate.correlation > 0.8


def test_lag_estimate_tolerates_missing_faces():
    phones = _phones(SENTENCE)
    frames = int(phones[-1].end * FPS)
    aperture = _mouth_from(phones, frames, 2)
    aperture[[5, 17, 30, 31]] = np.nan
    assert estimate_lag(aperture, articulation_curve(phones, FPS, frames)).offset == pytest.approx(2, abs=0.35)


def test_synced_mouth_passes_and_shifted_mouth_fails():
    phones = _phones(SENTENCE)
    frames = int(phones[-1].end * FPS)
    good = evaluate_tracks(_mouth_from(phones, frames, 0), FPS, phones)
    assert good.passed, good.to_text()
    assert good.closure_share == 1.0 and good.open_vowel_share == 1.0
    late = evaluate_tracks(_mouth_from(phones, frames, 5), FPS, phones)
    assert not late.checks["offset"] and late.offset_frames == pytest.approx(5, abs=0.35)
    assert late.closure_share < 0.95


def test_frozen_mouth_fails_closures_and_open_vowels():
    phones = _phones(SENTENCE)
    frames = int(phones[-1].end * FPS)
    for level in (0.0, 0.05):  # frozen shut, frozen open
        report = evaluate_tracks(np.full(frames, level), FPS, phones)
        assert report.mouth_static and report.offset_frames is None
        assert not report.checks["closures"] and not report.checks["open_vowels"] and not report.passed


def test_jitter_measures_noise_in_silence_only():
    phones = _phones(SENTENCE, lead=1.5)
    frames = int(phones[-1].end * FPS)
    calm = evaluate_tracks(_mouth_from(phones, frames, 0, noise=0.0), FPS, phones)
    noisy = evaluate_tracks(_mouth_from(phones, frames, 0, noise=0.01), FPS, phones)
    assert calm.silence_jitter == pytest.approx(0.0, abs=1e-9)
    assert noisy.silence_jitter == pytest.approx(0.01 * np.sqrt(2), rel=0.35)
    assert calm.silence_frames > 40


def test_levels_and_faceless_frames():
    aperture = np.r_[np.zeros(50), np.full(50, 0.1), [np.nan] * 3]
    levels = mouth_levels(aperture)
    assert levels.closed == pytest.approx(0.025) and levels.open == pytest.approx(0.05) and not levels.static
    report = evaluate_tracks(aperture, FPS, _phones("ɑ"))
    assert report.frames_without_face == 3 and not report.checks["face"]
    data = report.to_dict()
    assert data["frames_without_face"] == 3 and data["passed"] is False
