"""WarpAnimator's contract: determinism, in-place buffer writing, bounded chunks, typed errors, a faithful rest pose."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from vortex.actors.portrait import Portrait
from vortex.actors.procedural import draw_portrait
from vortex.animators.warp import WarpAnimator
from vortex.errors import InvalidInputError
from vortex.motion.controls import CHANNEL_INDEX, CHANNELS, Controls


@pytest.fixture(scope="module")
def portrait() -> Portrait:
    return draw_portrait("a friendly woman with red hair", seed=3, size=256)


def lively(frames: int, seed: int = 0) -> Controls:
    """Smooth random controls over every channel, in each channel's documented range."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 24.0
    phase = rng.uniform(0, 2 * np.pi, (1, len(CHANNELS)))
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.3, 2.0, (1, len(CHANNELS))) * t + phase)
    values = wave.astype(np.float32)
    for name in ("smile", "eye_wide", "brow_up", "gaze_x", "gaze_y"):
        values[:, CHANNEL_INDEX[name]] = 2 * values[:, CHANNEL_INDEX[name]] - 1
    for name, scale in (("head_yaw", 8), ("head_pitch", 6), ("head_roll", 4), ("head_dx", 0.02), ("head_dy", 0.02)):
        values[:, CHANNEL_INDEX[name]] = (2 * values[:, CHANNEL_INDEX[name]] - 1) * scale
    return Controls(values, 24)


def test_same_inputs_give_identical_frames(portrait):
    controls = lively(30)
    first = np.concatenate(list(WarpAnimator(workers=1).frames(portrait, controls, chunk=7)))
    second = np.concatenate(list(WarpAnimator(workers=2).frames(portrait, controls, chunk=30)))
    third = np.concatenate(list(WarpAnimator(workers=3).frames(portrait, controls, chunk=4)))
    assert first.shape == (30, 256, 256, 3) and first.dtype == np.uint8
    assert np.array_equal(first, second) and np.array_equal(first, third)
    assert np.abs(np.diff(first.astype(np.int16), axis=0)).mean() > 0.1  # and the frames do move


def test_render_into_writes_the_callers_buffer_in_place(portrait):
    controls = lively(20, seed=1)
    buffer = np.full((20, 3, 256, 256), -1.0, np.float32)
    address = buffer.__array_interface__["data"][0]
    result = WarpAnimator().render_into(portrait, controls, buffer)
    assert result is None
    assert buffer.__array_interface__["data"][0] == address
    frames = np.concatenate(list(WarpAnimator().frames(portrait, controls)))
    expected = frames.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    np.testing.assert_allclose(buffer, expected, atol=1e-6)


def test_chunks_are_bounded_and_memory_never_holds_the_video(portrait):
    controls = lively(96, seed=2)
    animator = WarpAnimator()
    animator.rig(portrait)  # precompute outside the measurement
    frame_bytes = 256 * 256 * 3
    sizes = []
    tracemalloc.start()
    try:
        for chunk in animator.frames(portrait, controls, chunk=8):
            sizes.append(chunk.shape[0])
            del chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(sizes) == 96 and max(sizes) == 8
    assert peak < 4 * 8 * frame_bytes, f"peak {peak / 1e6:.1f} MB while streaming 8-frame chunks"
    assert peak < 96 * frame_bytes / 2


def test_rest_controls_reproduce_a_closed_mouth_portrait(portrait):
    frame = next(WarpAnimator().frames(portrait, Controls.zeros(1, 24)))[0]
    assert np.abs(frame.astype(np.int16) - portrait.image).mean() < 0.2


def test_every_channel_changes_the_face_only_near_the_face(portrait):
    animator = WarpAnimator()
    rest = next(animator.frames(portrait, Controls.zeros(1, 24)))[0].astype(np.int16)
    bx0, by0, bx1, by1 = portrait.face_box
    grow_x, grow_y = 0.2 * (bx1 - bx0), 0.2 * (by1 - by0)  # the jaw may stretch the neck a little
    x0, y0, x1, y1 = bx0 - grow_x, by0 - grow_y, bx1 + grow_x, by1 + grow_y
    for name in CHANNELS:
        controls = Controls.zeros(1, 24)
        value = {"head_yaw": 6.0, "head_pitch": 6.0, "head_roll": 6.0, "head_dx": 0.03, "head_dy": 0.03}.get(name, 1.0)
        controls.values[0, CHANNEL_INDEX[name]] = value
        frame = next(animator.frames(portrait, controls))[0].astype(np.int16)
        changed = np.abs(frame - rest).max(axis=2) > 8
        assert changed.sum() > 20, f"{name} did not visibly change the frame"
        if not name.startswith("head"):
            ys, xs = np.nonzero(changed)
            assert xs.min() >= x0 - 2 and xs.max() <= x1 + 2 and ys.min() >= y0 - 2 and ys.max() <= y1 + 2, name


def test_out_of_range_controls_are_clipped_not_exploded(portrait):
    controls = Controls.zeros(2, 24)
    controls.values[1, : CHANNEL_INDEX["head_yaw"]] = 50.0
    frames = np.concatenate(list(WarpAnimator().frames(portrait, controls)))
    wild = Controls.zeros(1, 24)
    wild.values[0, : CHANNEL_INDEX["head_yaw"]] = 1.0
    wild.values[0, CHANNEL_INDEX["smile"]] = 1.0
    clipped = next(WarpAnimator().frames(portrait, wild))[0]
    assert np.array_equal(frames[1], clipped)


def test_bad_inputs_raise_typed_errors(portrait):
    animator = WarpAnimator()
    with pytest.raises(InvalidInputError):
        list(animator.frames(Portrait(np.zeros((64, 80, 3), np.uint8), portrait.landmarks, (0, 0, 1, 1), "photo"), Controls.zeros(1, 24)))
    with pytest.raises(InvalidInputError):
        list(animator.frames(Portrait(portrait.image, np.full((68, 2), np.nan, np.float32), (0, 0, 1, 1), "photo"), Controls.zeros(1, 24)))
    nan = Controls.zeros(2, 24)
    nan.values[1, 0] = np.nan
    with pytest.raises(InvalidInputError):
        list(animator.frames(portrait, nan))
    with pytest.raises(InvalidInputError):
        animator.render_into(portrait, Controls.zeros(3, 24), np.zeros((2, 3, 256, 256), np.float32))
    with pytest.raises(InvalidInputError):
        WarpAnimator(step=3)
    with pytest.raises(InvalidInputError):
        WarpAnimator(workers=0)


def test_two_frames_render_at_once_only_where_two_cores_may_run():
    """The default render workers follow the CPUs the process may use (a process pinned to one
    CPU renders one frame at a time); checked in a fresh interpreter pinned to one core."""
    import os
    import subprocess
    import sys

    probe = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); " \
            "from vortex.animators.warp import WarpAnimator; print(WarpAnimator().workers)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    assert WarpAnimator().workers == (2 if len(os.sched_getaffinity(0)) >= 2 else 1)


def test_a_container_cpu_quota_counts_as_whole_cpus(tmp_path):
    """cgroup v2 ``cpu.max`` as Docker's --cpus writes it: quota and period in microseconds."""
    from vortex.cpus import quota_cpus

    cpu_max = tmp_path / "cpu.max"
    for text, cpus in (("max 100000\n", None), ("100000 100000\n", 1), ("150000 100000\n", 2),
                       ("50000 100000\n", 1), ("400000 100000\n", 4)):
        cpu_max.write_text(text)
        assert quota_cpus(cpu_max) == cpus, text
    assert quota_cpus(tmp_path / "absent") is None


def test_frames_do_not_depend_on_the_blas_thread_count():
    """A slot's bytes must not depend on the machine: BLAS splits a matrix product across its
    threads and the split changes the rounding (1 vs 2 OpenBLAS threads gave other frames).
    Rendered in two fresh interpreters, one BLAS thread and four."""
    import hashlib
    import os
    import subprocess
    import sys

    probe = (
        "import hashlib, sys\n"
        "import numpy as np\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from test_warp_api import lively\n"
        "from vortex.actors.procedural import draw_portrait\n"
        "from vortex.animators.warp import WarpAnimator\n"
        "p = draw_portrait('a friendly woman with red hair', seed=3, size=256)\n"
        "frames = np.concatenate(list(WarpAnimator().frames(p, lively(24), chunk=8)))\n"
        "print(hashlib.sha256(frames.tobytes()).hexdigest())\n"
    )
    digests = []
    for threads in ("1", "4"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        done = subprocess.run([sys.executable, "-c", probe, os.path.dirname(__file__)], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        digests.append(done.stdout.strip().splitlines()[-1])
    assert digests[0] == digests[1]
    assert len(digests[0]) == len(hashlib.sha256().hexdigest())
