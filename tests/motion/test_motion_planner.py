import numpy as np
import pytest

from vortex.errors import InvalidInputError
from vortex.motion import CHANNELS, plan_motion, plan_motion_detailed
from vortex.motion.visemes import is_bilabial, viseme_of, Viseme
from vortex.speech.speech import PAUSE, Phone, Speech

FPS = 24


def frames_for(phones, fps=FPS):
    return int(np.ceil(phones[-1].end * fps))


def assert_bilabials_close(phones, controls, fps, tolerance=2):
    jaw, press = controls.channel("jaw_open"), controls.channel("lip_press")
    checked = 0
    for p in phones:
        if not is_bilabial(p.symbol):
            continue
        lo = max(int(np.floor(p.start * fps)) - tolerance, 0)
        hi = min(int(np.ceil(p.end * fps)) + tolerance, controls.frames - 1)
        window = slice(lo, hi + 1)
        closed = (press[window] >= 0.999) & (jaw[window] <= 0.02)
        assert closed.any(), f"{p.symbol} at {p.start:.3f}-{p.end:.3f}s never closes within ±{tolerance} frames"
        checked += 1
    return checked


def test_every_bilabial_reaches_full_closure(sentence):
    controls = plan_motion(sentence, frames_for(sentence), FPS)
    assert assert_bilabials_close(sentence, controls, FPS) == 10


@pytest.mark.parametrize("fps", [24, 25, 30, 60])
def test_short_bilabials_close_on_random_timelines(make_random_timeline, fps):
    for seed in range(3):
        phones = make_random_timeline(seed, 12.0)
        controls = plan_motion(phones, frames_for(phones, fps), fps, "manic", seed)
        assert assert_bilabials_close(phones, controls, fps) >= 5


def test_bilabial_shorter_than_a_frame_still_closes(make_timeline):
    phones = make_timeline([("a", 4), ("p", 0.4), ("a", 4)])  # a 10 ms /p/
    plan = plan_motion_detailed(phones, frames_for(phones), FPS)
    assert len(plan.closures) == 1 and len(plan.closures[0][1]) == 1
    assert_bilabials_close(phones, plan.controls, FPS, tolerance=1)


def test_mouth_leads_sound_by_at_most_one_frame(sentence):
    plan = plan_motion_detailed(sentence, frames_for(sentence), FPS)
    for index, frames in plan.closures:
        p = sentence[index]
        for k in frames:
            assert p.start - 1.0 / FPS - 1e-9 <= k / FPS <= p.end + 1e-9


def test_open_vowels_open_the_jaw_more_than_bilabials(sentence):
    controls = plan_motion(sentence, frames_for(sentence), FPS)
    jaw = controls.channel("jaw_open")
    def centre_jaw(cls):
        return [jaw[int(round((p.start + p.end) / 2 * FPS))] for p in sentence if viseme_of(p.symbol) is cls]
    open_jaw, closed_jaw = centre_jaw(Viseme.OPEN), centre_jaw(Viseme.BILABIAL)
    assert min(open_jaw) > 0.5
    assert np.mean(open_jaw) > np.mean(closed_jaw) + 0.5
    # Rounded vowels round, spread vowels spread.
    rnd, wide = controls.channel("mouth_round"), controls.channel("mouth_wide")
    u = [p for p in sentence if p.symbol == "u"][0]
    i = [p for p in sentence if p.symbol == "i"][0]
    ku, ki = int((u.start + u.end) / 2 * FPS), int((i.start + i.end) / 2 * FPS)
    assert rnd[ku] > 0.5 > rnd[ki] and wide[ki] > 0.5 > wide[ku]


def test_silence_relaxes_closed_and_frames_past_speech_idle(sentence):
    end = sentence[-1].end
    frames = int((end + 5.0) * FPS)
    controls = plan_motion(sentence, frames, FPS, seed=3)
    tail = slice(int((end + 0.3) * FPS), frames)
    for name in ("jaw_open", "mouth_wide", "mouth_round", "lip_press"):
        assert np.abs(controls.channel(name)[tail]).max() < 0.02
    assert np.ptp(controls.channel("head_yaw")[tail]) > 0.05  # still alive
    pause = max((p for p in sentence if p.symbol == PAUSE and 0 < p.start), key=lambda p: p.end - p.start)
    mid = int((pause.start + pause.end) / 2 * FPS)
    assert controls.channel("jaw_open")[mid] < 0.05


def test_coarticulation_blends_neighbours(make_timeline):
    # The lips already round during the /t/ of "too" but not of "tea".
    too = plan_motion(make_timeline([("t", 3), ("u", 6)]), 40, FPS)
    tea = plan_motion(make_timeline([("t", 3), ("i", 6)]), 40, FPS)
    k = int((0.3 + 0.0375) * FPS)
    assert too.channel("mouth_round")[k] > tea.channel("mouth_round")[k] + 0.2


def test_controls_shape_dtype_and_ranges(make_random_timeline):
    phones = make_random_timeline(5, 20.0)
    controls = plan_motion(phones, 480, FPS, "neutral,excited,manic,calm", 5)
    assert controls.values.shape == (480, len(CHANNELS)) and controls.values.dtype == np.float32
    assert controls.fps == FPS and np.isfinite(controls.values).all()
    for name in ("jaw_open", "mouth_wide", "mouth_round", "lip_press", "blink_l", "blink_r"):
        assert 0.0 <= controls.channel(name).min() and controls.channel(name).max() <= 1.0
    for name in ("smile", "eye_wide", "brow_up", "gaze_x", "gaze_y"):
        assert np.abs(controls.channel(name)).max() <= 1.0
    assert np.abs(controls.channel("head_yaw")).max() < 15.0


def test_speech_object_and_empty_inputs(sentence):
    speech = Speech(np.zeros(int(sentence[-1].end * 24000), np.float32), tuple(sentence))
    a = plan_motion(speech, 50, FPS)
    b = plan_motion(sentence, 50, FPS)
    np.testing.assert_array_equal(a.values, b.values)
    assert plan_motion(sentence, 0, FPS).values.shape == (0, len(CHANNELS))
    for n in (1, 5, 23):  # slots shorter than the smoothing windows
        assert plan_motion(sentence, n, FPS).values.shape == (n, len(CHANNELS))
    idle = plan_motion([], 100, FPS, seed=1)
    assert np.abs(idle.channel("jaw_open")).max() == 0.0 and np.ptp(idle.channel("head_yaw")) > 0


def test_stressed_syllables_nod(make_timeline):
    plain = make_timeline([("m", 3), ("ɑ", 8), (PAUSE, 20)])
    stressed = make_timeline([("m", 3), ("ɑ", 8, 1), (PAUSE, 20)])
    a = plan_motion(plain, 60, FPS, seed=2).channel("head_pitch")
    b = plan_motion(stressed, 60, FPS, seed=2).channel("head_pitch")
    nod = b - a
    assert 1.0 < nod.max() <= 1.5 * 1.01  # neutral nod_deg
    assert abs(np.argmax(nod) / FPS - (0.3 + 0.075)) < 0.25
    assert nod.min() >= 0.0


def test_deterministic_and_seeded(sentence):
    n = frames_for(sentence) + 200
    a = plan_motion(sentence, n, FPS, "excited", seed=7)
    b = plan_motion(sentence, n, FPS, "excited", seed=7)
    c = plan_motion(sentence, n, FPS, "excited", seed=8)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.channel("head_yaw"), c.channel("head_yaw"))
    assert not np.allclose(a.channel("blink_l"), c.channel("blink_l"))
    # The seed drives idle life only; lip sync depends on the phones alone.
    np.testing.assert_array_equal(a.channel("jaw_open"), c.channel("jaw_open"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(fps=0), "fps"),
        (dict(frames=-1), "frames"),
        (dict(frames=2.5), "frames"),
        (dict(seed=-3), "seed"),
        (dict(lead_s=0.2), "lead_s"),
        (dict(lead_s=float("nan")), "lead_s"),
        (dict(crossfade_s=-1.0), "crossfade_s"),
        (dict(expression="sleepy"), "valid presets: neutral, calm, excited, manic"),
    ],
)
def test_invalid_arguments(sentence, kwargs, message):
    args = dict(phones=sentence, frames=10, fps=FPS) | kwargs
    with pytest.raises(InvalidInputError, match=message):
        plan_motion(**args)


def test_invalid_phones():
    with pytest.raises(InvalidInputError, match="a Speech or a list of Phone"):
        plan_motion(None, 10, FPS)
    with pytest.raises(InvalidInputError, match="time order"):
        plan_motion([Phone("a", 0.0, 0.5), Phone("b", 0.2, 0.6)], 10, FPS)
    with pytest.raises(InvalidInputError, match="invalid times"):
        plan_motion([Phone("a", 0.5, 0.2)], 10, FPS)
    with pytest.raises(InvalidInputError, match="not a vortex.speech.Phone"):
        plan_motion([("a", 0.0, 0.1)], 10, FPS)


def test_banded_blend_equals_the_dense_sum(make_random_timeline):
    from vortex.motion.planner import _articulation

    phones = make_random_timeline(9, 30.0)
    times = np.arange(30 * FPS + 100) / FPS + 0.02  # past the end of speech too
    np.testing.assert_allclose(_articulation(phones, times), _articulation(phones, times, dense=True), atol=1e-5)


def test_a_split_diphthong_opens_like_its_one_symbol(make_timeline):
    # "by my" spoken fast (Kokoro's jf_alpha in the lip-sync evaluation test): 24 ms of "a", then
    # "ɪ", between bilabials; no frame samples the "a" itself.
    spec = [("b", 58), ("a", 24), ("ɪ", 26), (PAUSE, 50), ("m", 74), ("a", 26), ("ɪ", 24), (PAUSE, 50), ("m", 50)]
    split = make_timeline(spec, unit=0.001, lead_in=3.68)
    joined = make_timeline([("b", 58), ("I", 50), (PAUSE, 50), ("m", 74), ("I", 50), (PAUSE, 50), ("m", 50)],
                           unit=0.001, lead_in=3.68)
    frames = frames_for(split)
    jaw = plan_motion(split, frames, FPS).channel("jaw_open")
    for start in (3.738, 3.912):  # each diphthong's frames (and one either side) open the jaw wide
        window = jaw[int(start * FPS) - 1 : int(np.ceil((start + 0.05) * FPS)) + 2]
        assert window.max() >= 0.7, f"diphthong at {start}s opens the jaw to only {window.max():.2f}"
    np.testing.assert_array_equal(plan_motion(split, frames, FPS).values, plan_motion(joined, frames, FPS).values)
