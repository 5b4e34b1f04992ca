import numpy as np
import pytest

from vortex.errors import InvalidInputError
from vortex.motion import plan_motion
from vortex.motion.expressions import ExpressionSequence, as_sequence, parse_sequence, preset_weights

FPS = 24


def head_energy(controls):
    head = np.stack([controls.channel(n) for n in ("head_yaw", "head_pitch", "head_roll")], 1)
    return float(np.sum(np.diff(head, axis=0) ** 2))


def mouth_movement(controls):
    mouth = np.stack([controls.channel(n) for n in ("jaw_open", "mouth_wide", "mouth_round")], 1)
    return float(np.abs(np.diff(mouth, axis=0)).sum())


def test_excited_is_livelier_than_neutral(make_random_timeline):
    for seed in range(3):
        phones = make_random_timeline(seed, 20.0)
        neutral = plan_motion(phones, 480, FPS, "neutral", seed)
        excited = plan_motion(phones, 480, FPS, "excited", seed)
        calm = plan_motion(phones, 480, FPS, "calm", seed)
        manic = plan_motion(phones, 480, FPS, "manic", seed)
        assert head_energy(calm) < head_energy(neutral) < head_energy(excited) < head_energy(manic)
        assert mouth_movement(calm) < mouth_movement(neutral) < mouth_movement(excited) < mouth_movement(manic)
        assert excited.channel("eye_wide").mean() > neutral.channel("eye_wide").mean() + 0.3
        assert excited.channel("smile").mean() > neutral.channel("smile").mean()
        # neutral is restrained: small head motion, no baseline wide eyes or raised brows.
        assert np.abs(neutral.channel("head_yaw")).max() < 5.0
        assert neutral.channel("eye_wide").max() == 0.0 and neutral.channel("brow_up").min() >= 0.0


def test_parse_sequence_forms():
    assert parse_sequence("excited") == ExpressionSequence(("excited",))
    assert parse_sequence("neutral, excited ,calm") == ExpressionSequence(("neutral", "excited", "calm"))
    seq = parse_sequence("neutral@0,excited@10.5,Manic@20s")
    assert seq.names == ("neutral", "excited", "manic") and seq.starts == (0.0, 10.5, 20.0)
    assert as_sequence([("neutral", 0), ("calm", 3)]).starts == (0.0, 3.0)
    assert as_sequence(["neutral", "calm"]).boundaries(10.0) == [5.0]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("neutral,sleepy", "unknown expression preset 'sleepy'; valid presets: neutral, calm, excited, manic"),
        ("neutral@0,excited", "for every preset"),
        ("neutral@2,excited@4", "must start at 0"),
        ("neutral@0,excited@4,calm@3", "must increase"),
        ("neutral@@3", "cannot parse"),
        ("", "cannot parse"),
    ],
)
def test_bad_sequences(spec, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_sequence(spec)


def test_weights_sum_to_one_and_reach_each_preset():
    seq = parse_sequence("neutral@0,excited@2,manic@2.2,calm@6")
    times = np.arange(0, 8, 1 / FPS)
    w = preset_weights(seq, times, 8.0)
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-12)
    assert (w.max(0) > 0.95).all()  # the 0.2 s manic segment still reaches (nearly) full weight


# Largest allowed change between two consecutive frames, per channel, at a preset boundary.
STEP_BOUND = {"smile": 0.1, "eye_wide": 0.1, "brow_up": 0.12, "head_yaw": 1.0, "head_pitch": 1.0, "head_roll": 1.0,
              "head_dx": 0.002, "head_dy": 0.002, "gaze_x": 0.3, "gaze_y": 0.3}


def test_sequence_transitions_are_smooth(make_random_timeline):
    phones = make_random_timeline(11, 24.0)
    n = 24 * FPS
    controls = plan_motion(phones, n, FPS, "neutral,excited,manic,calm", seed=11)
    hard = plan_motion(phones, n, FPS, "neutral,excited,manic,calm", seed=11, crossfade_s=1e-4)
    for k in (6, 12, 18):
        window = slice(k * FPS - 12, k * FPS + 12)
        for name, bound in STEP_BOUND.items():
            steps = np.abs(np.diff(controls.channel(name)[window]))
            assert steps.max() <= bound, (name, k, steps.max())
    # Without the crossfade the baseline would jump: the test can see a jump when there is one.
    assert np.abs(np.diff(hard.channel("smile"))).max() > 0.2
    # Each segment settles on its preset's baseline.
    smile = controls.channel("smile")
    assert smile[3 * FPS] == pytest.approx(0.1) and smile[9 * FPS] == pytest.approx(0.55)
    assert smile[15 * FPS] == pytest.approx(0.8) and smile[21 * FPS] == pytest.approx(0.2)


def test_sequence_in_silence_has_no_jump_anywhere():
    n = 20 * FPS
    controls = plan_motion([], n, FPS, "calm@0,manic@5,neutral@12.5,excited@15", seed=4)
    for name, bound in STEP_BOUND.items():
        assert np.abs(np.diff(controls.channel(name))).max() <= bound, name


@pytest.mark.parametrize("bad", [3, None, [("neutral", "soon")], [("neutral", 0), "calm"], [(1, 0)], []])
def test_bad_expression_arguments(bad):
    with pytest.raises(InvalidInputError):
        as_sequence(bad)
