"""Incremental planning: rows released while the timeline grows are bit-identical to planning it whole."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vortex.motion import MotionStream, plan_motion
from vortex.speech.speech import PAUSE, Phone

SEQUENCES = ["neutral", "manic", "calm", "excited@0,calm@3.1,manic@7.5", "neutral,excited,manic,calm"]


def _known_parts(phones: list[Phone], cuts: list[int]):
    """What a chunked speech stream shows after each chunk: the phones so far, the last pause
    still open (it grows when the next chunk joins), and the time before which all is final."""
    for i in cuts:
        last = phones[i]
        if last.symbol == PAUSE:  # the chunk ended in silence: known only up to the chunk's audio
            partial = Phone(PAUSE, last.start, last.start + 0.5 * (last.end - last.start))
            yield phones[:i] + [partial], last.start
        else:
            yield phones[: i + 1], last.end


def _stream(phones, frames, fps, expression, seed, cuts, fixed):
    stream = MotionStream(fps, expression, seed, frames=frames if fixed else None)
    parts = [stream.advance(known, until) for known, until in _known_parts(phones, cuts)]
    early = stream.emitted
    parts.append(stream.finish(phones, frames))
    return np.concatenate(parts), early


@pytest.mark.parametrize("fps", [24, 30])
@pytest.mark.parametrize("expression", SEQUENCES)
def test_streamed_rows_are_bit_identical_to_whole_timeline_planning(make_random_timeline, fps, expression):
    for case in range(6):
        seed = 11 * case + fps
        rng = np.random.default_rng(seed)
        seconds = float(rng.uniform(6.0, 16.0))
        phones = make_random_timeline(seed, seconds)
        frames = math.ceil(seconds * fps) + int(rng.integers(0, 3 * fps))  # a slot that idles past the speech
        pauses = [i for i, p in enumerate(phones) if p.symbol == PAUSE and i > 0]
        anywhere = sorted(rng.choice(len(phones) - 1, size=min(6, len(phones) - 1), replace=False).tolist())
        for cuts in (pauses, anywhere, list(range(0, len(phones), 3)), []):
            for fixed in (True, False):
                whole = plan_motion(phones, frames, fps, expression, seed).values
                streamed, early = _stream(phones, frames, fps, expression, seed, cuts, fixed)
                assert streamed.dtype == np.float32 and streamed.shape == whole.shape
                assert streamed.tobytes() == whole.tobytes(), (expression, fps, seed, cuts, fixed)


def test_rows_are_released_while_speech_still_grows(make_random_timeline):
    """Rows come out as soon as their lookahead is known, not at the end."""
    phones = make_random_timeline(3, 30.0)
    cuts = [i for i, p in enumerate(phones) if p.symbol == PAUSE and i > 0]
    stream = MotionStream(24, "neutral", 5, frames=30 * 24)
    released = []
    for known, until in _known_parts(phones, cuts):
        stream.advance(known, until)
        released.append((until, stream.emitted))
    # Well before the end, every row more than a few seconds behind the known timeline is out.
    assert released[-1][1] > 0
    for until, emitted in released:
        if until > 10:
            assert emitted >= (until - 4.0) * 24, (until, emitted)


def test_an_evenly_split_sequence_waits_for_an_auto_slot_to_end(make_random_timeline):
    """Its preset boundaries depend on the slot's length, unknown until the speech is done."""
    phones = make_random_timeline(4, 12.0)
    stream = MotionStream(24, "neutral,manic", 1)
    assert stream.advance(phones[:-1], phones[-1].start).shape[0] == 0
    rows = stream.finish(phones, 300)
    assert rows.tobytes() == plan_motion(phones, 300, 24, "neutral,manic", 1).values.tobytes()
