import numpy as np

from vortex.motion import plan_motion_detailed
from vortex.motion.idle import BLINK_DURATION_S
from vortex.speech.speech import PAUSE, Phone

FPS = 24


def test_blink_rate_and_shape_in_natural_range():
    rates = []
    for seed in range(6):
        plan = plan_motion_detailed([], 120 * FPS, FPS, "neutral", seed)
        rates.append(len(plan.blinks) / 2.0)
        lids = plan.controls.channel("blink_l")
        for a, b in zip(plan.blinks, plan.blinks[1:]):
            assert b.start > a.end  # never overlapping
        for blink in plan.blinks:
            assert BLINK_DURATION_S[0] - 1e-9 <= blink.end - blink.start <= BLINK_DURATION_S[1] + 1e-9
            assert blink.apex - blink.start < blink.end - blink.apex  # closes faster than it opens
            k = int(round(blink.apex * FPS))
            assert lids[k] == 1.0  # fully closed on at least one frame
        np.testing.assert_array_equal(lids, plan.controls.channel("blink_r"))
        assert (lids[lids > 0] > 0).sum() < 0.1 * lids.size  # eyes are mostly open
    assert 13 <= np.mean(rates) <= 21, rates
    assert all(9 <= r <= 26 for r in rates), rates


def test_blink_rate_follows_preset():
    calm = [len(plan_motion_detailed([], 120 * FPS, FPS, "calm", s).blinks) for s in range(4)]
    manic = [len(plan_motion_detailed([], 120 * FPS, FPS, "manic", s).blinks) for s in range(4)]
    assert np.mean(manic) > np.mean(calm) * 1.4


def test_no_blink_during_a_held_closure():
    # Long /m/ closures fill half the time: blinks must find the gaps.
    phones, t = [], 0.0
    for _ in range(60):
        phones += [Phone("m", t, t + 0.5, 0), Phone("a", t + 0.5, t + 1.0, 0)]
        t += 1.0
    for seed in range(4):
        plan = plan_motion_detailed(phones, int(t * FPS), FPS, "manic", seed)
        closed = np.zeros(plan.controls.frames, bool)
        for _, frames in plan.closures:
            closed[list(frames)] = True
        assert closed.mean() > 0.4
        lids = plan.controls.channel("blink_l")
        assert len(plan.blinks) > 10
        assert not ((lids > 0) & closed).any()


def test_gaze_shifts_are_small_and_happen():
    plan = plan_motion_detailed([Phone(PAUSE, 0.0, 30.0)], 30 * FPS, FPS, "neutral", 1)
    gx = plan.controls.channel("gaze_x")
    assert 0.02 < np.abs(gx).max() <= 0.12 + 1e-6
    assert np.count_nonzero(np.abs(np.diff(gx)) > 0.005) >= 5


def test_blinks_gather_in_pauses(make_random_timeline):
    in_pause, pause_share = [], []
    for seed in range(4):
        phones = make_random_timeline(seed, 90.0)
        plan = plan_motion_detailed(phones, 90 * FPS, FPS, "neutral", seed)
        pauses = [(p.start, p.end) for p in phones if p.symbol == PAUSE and p.end - p.start >= 0.12]
        inside = [any(a <= b.start and b.end <= e for a, e in pauses) for b in plan.blinks]
        in_pause.append(np.mean(inside))
        pause_share.append(sum(e - a for a, e in pauses) / 90.0)
        assert 12 <= len(plan.blinks) / 1.5 <= 24  # rate stays natural
    assert np.mean(in_pause) > 2 * np.mean(pause_share)
