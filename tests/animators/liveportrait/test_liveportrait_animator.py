"""The LivePortrait animator end to end on recipe weights (not a face, but the real compute path).

Pixels of recipe weights mean nothing, so behaviour is asserted on the driving keypoints: each
Controls channel must reach the network input it is documented to drive, and nothing else.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vortex.actors.procedural import draw_portrait  # noqa: E402
from vortex.animators.liveportrait.animator import LivePortraitAnimator, crop_box, feather_mask  # noqa: E402
from vortex.animators.liveportrait.config import DrivingConfig, RuntimeConfig  # noqa: E402
from vortex.animators.liveportrait.keypoints import rotation_matrix, transform_keypoints  # noqa: E402
from vortex.animators.liveportrait.warping import sample_volume  # noqa: E402
from vortex.errors import InvalidInputError  # noqa: E402
from vortex.motion.controls import CHANNEL_INDEX, Controls  # noqa: E402


@pytest.fixture(autouse=True)
def _two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def portrait():
    return draw_portrait("a man with short grey hair and glasses", seed=3, size=384)


@pytest.fixture(scope="module")
def animator(recipe_networks):
    return LivePortraitAnimator(recipe_networks, batch_size=2)


def rows(n: int, **channels: float) -> np.ndarray:
    values = np.zeros((n, len(CHANNEL_INDEX)), np.float32)
    for name, value in channels.items():
        values[:, CHANNEL_INDEX[name]] = value
    return values


def test_source_state(animator, portrait):
    src = animator.source(portrait)
    assert animator.source(portrait) is src  # computed once per portrait
    assert tuple(src.feature_3d.shape) == (1, 32, 16, 64, 64)
    assert tuple(src.kp_source.shape) == (1, 21, 3)
    # The source keypoints are the motion extractor's transform (checked against golden elsewhere).
    expected = transform_keypoints(src.kp_canonical, rotation_matrix(src.pitch, src.yaw, src.roll), src.exp, src.scale, src.t)
    torch.testing.assert_close(src.kp_source, expected)
    # A procedural portrait has open eyes and closed lips at rest.
    assert 0.1 < float(src.eye_ratios.min()) and float(src.eye_ratios.max()) < 0.8
    assert float(src.lip_ratio) < 0.05
    box = src.crop
    x0, y0, x1, y1 = portrait.face_box
    assert box.x0 <= x0 and box.y0 <= y0 and box.x0 + box.side >= x1 and box.side <= portrait.size


def test_lip_channels_drive_only_the_lip_network(animator, portrait):
    src = animator.source(portrait)
    nets = animator.networks
    rest = animator.driving_keypoints(src, rows(1), stitch=False)
    jaw = animator.driving_keypoints(src, rows(1, jaw_open=1.0), stitch=False)
    kp_s = src.kp_source
    with torch.no_grad():
        lip = lambda target: nets.retargeting.retarget_lip(kp_s, torch.tensor([[float(src.lip_ratio), target]]))  # noqa: E731
        expected = lip(DrivingConfig().max_lip_open_ratio) - lip(0.0)
    torch.testing.assert_close(jaw - rest, expected, rtol=1e-5, atol=1e-6)
    assert float((jaw - rest).abs().max()) > 1e-3
    # lip_press closes the lips whatever the jaw does.
    pressed = animator.driving_keypoints(src, rows(1, jaw_open=1.0, lip_press=1.0), stitch=False)
    torch.testing.assert_close(pressed, rest)
    eye_in, lip_in = animator.retargeting_inputs(src, torch.from_numpy(rows(2, jaw_open=0.5)))
    eye_rest, _ = animator.retargeting_inputs(src, torch.from_numpy(rows(2)))
    torch.testing.assert_close(eye_in, eye_rest)
    assert lip_in[:, 1].tolist() == pytest.approx([0.5 * DrivingConfig().max_lip_open_ratio] * 2)


def test_blinks_drive_the_eye_network(animator, portrait):
    src = animator.source(portrait)
    nets = animator.networks
    open_ = animator.driving_keypoints(src, rows(1), stitch=False)
    closed = animator.driving_keypoints(src, rows(1, blink_l=1.0, blink_r=1.0), stitch=False)
    eye_ratios = src.eye_ratios
    with torch.no_grad():
        eye = lambda target: nets.retargeting.retarget_eye(src.kp_source, torch.cat([eye_ratios, torch.tensor([[target]])], 1))  # noqa: E731
        expected = eye(0.0) - eye(float(eye_ratios.mean()))
    torch.testing.assert_close(closed - open_, expected, rtol=1e-5, atol=1e-6)
    eye_in, _ = animator.retargeting_inputs(src, torch.from_numpy(rows(1, blink_l=1.0)))
    assert float(eye_in[0, 2]) == pytest.approx(0.5 * float(eye_ratios.mean()), rel=1e-6)
    wide, _ = animator.retargeting_inputs(src, torch.from_numpy(rows(1, eye_wide=1.0)))
    assert float(wide[0, 2]) > float(eye_ratios.mean())


def test_head_and_expression_channels(animator, portrait):
    src = animator.source(portrait)
    cfg = animator.driving
    rest = animator.driving_keypoints(src, rows(1), stitch=False)
    yawed = animator.driving_keypoints(src, rows(1, head_yaw=12.0), stitch=False)
    rot = rotation_matrix(src.pitch, src.yaw + cfg.head_signs[1] * 12.0, src.roll)
    rot0 = rotation_matrix(src.pitch, src.yaw, src.roll)
    expected = src.scale.reshape(1, 1, 1) * (src.kp_canonical @ rot - src.kp_canonical @ rot0)
    torch.testing.assert_close(yawed - rest, expected, rtol=1e-5, atol=1e-6)
    # Smile moves keypoint 20 (mouth) along y by scale * -0.01 per unit, as the official editor does.
    smiled = animator.driving_keypoints(src, rows(1, smile=1.0), stitch=False)
    diff = smiled - rest
    assert float(diff[0, 20, 1]) == pytest.approx(-0.01 * float(src.scale), rel=1e-4)
    untouched = [k for k in range(21) if k not in {row[0] for row in cfg.smile_rows}]
    assert float(diff[0, untouched].abs().max()) == 0.0
    # Translation: head_dx shifts every keypoint's x equally.
    moved = animator.driving_keypoints(src, rows(1, head_dx=0.1), stitch=False) - rest
    assert float(moved[0, :, 0].std()) < 1e-6 and float(moved[0, 0, 0]) > 0
    assert float(moved[0, :, 1:].abs().max()) < 1e-6
    # Stitching is on by default and is the stitching network applied to the pre-stitch keypoints.
    with torch.no_grad():
        stitched = animator.networks.retargeting.stitch(src.kp_source, rest)
    torch.testing.assert_close(animator.driving_keypoints(src, rows(1)), stitched)


def test_frames_end_to_end_and_deterministic(animator, portrait):
    controls = Controls(rows(2, head_yaw=4.0, jaw_open=0.7), fps=25)
    controls.values[1, CHANNEL_INDEX["blink_l"]] = 1.0
    chunks = list(animator.frames(portrait, controls, chunk=1))
    assert [c.shape for c in chunks] == [(1, portrait.size, portrait.size, 3)] * 2
    assert all(c.dtype == np.uint8 for c in chunks)
    video = np.concatenate(chunks)
    # Same inputs, same pixels.
    again = np.concatenate(list(animator.frames(portrait, Controls(controls.values[:1].copy(), fps=25))))
    assert np.array_equal(again[0], video[0])
    # The animated crop replaced the portrait inside the feather, and frames differ with the controls.
    box = animator.source(portrait).crop
    quarter = box.side // 4
    inner = (slice(box.y0 + quarter, box.y0 + 3 * quarter), slice(box.x0 + quarter, box.x0 + 3 * quarter))
    assert np.abs(video[0][inner].astype(int) - portrait.image[inner].astype(int)).mean() > 5
    assert not np.array_equal(video[0], video[1])
    # render_into batches both frames together and writes the same frames into a float buffer.
    buffer = np.zeros((2, 3, portrait.size, portrait.size), np.float32)
    animator.render_into(portrait, controls, buffer)
    np.testing.assert_allclose(buffer, video.transpose(0, 3, 1, 2) / 255.0, atol=1.5 / 255)


def test_batched_padded_frames_equal_frame_by_frame(animator, portrait):
    """Batching (and padding the last batch to a fixed shape, as compiled graphs need) changes
    only float rounding: every frame within one grey level of rendering it alone."""
    controls = Controls(rows(2, jaw_open=0.6, head_yaw=3.0), fps=25)
    controls.values[:, CHANNEL_INDEX["head_pitch"]] = [-2.0, 2.0]
    alone = np.concatenate(list(animator.frames(portrait, controls, chunk=1)))  # chunks of one: one frame a call
    padded = LivePortraitAnimator(animator.networks, runtime=RuntimeConfig(batch_size=3, static_batches=True))
    batched = np.concatenate(list(padded.frames(portrait, controls, chunk=2)))  # one call of 2 frames padded to 3
    diff = np.abs(batched.astype(int) - alone.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.01
    assert not np.array_equal(alone[0], alone[1])  # the frames differ, so a mix-up would show


def test_shared_source_volume_is_sampled_as_if_copied_per_frame():
    """The source features enter the warping network once (batch 1) for a batch of frames."""
    gen = torch.Generator().manual_seed(0)
    volume = torch.randn(1, 4, 6, 8, 8, generator=gen)
    grids = torch.rand(5, 6, 8, 8, 3, generator=gen) * 2.2 - 1.1  # a little outside [-1, 1]: zero padding
    shared = sample_volume(volume, grids)
    copied = sample_volume(volume.expand(5, -1, -1, -1, -1).contiguous(), grids)
    assert shared.shape == copied.shape == (5, 4, 6, 8, 8)
    torch.testing.assert_close(shared, copied, rtol=0, atol=1e-6)
    with pytest.raises(ValueError):
        sample_volume(torch.zeros(2, 4, 6, 8, 8), grids)


def test_runtime_options_are_checked(animator):
    with pytest.raises(ValueError, match="compile_mode"):
        RuntimeConfig(compile_mode="fast")
    with pytest.raises(InvalidInputError, match="batch_size"):
        LivePortraitAnimator(animator.networks, batch_size=0)
    assert RuntimeConfig(compile_mode="reduce-overhead").pads_batches and not RuntimeConfig().pads_batches


def test_crop_and_mask_helpers(portrait):
    box = crop_box(portrait, DrivingConfig())
    assert 0 <= box.x0 and 0 <= box.y0 and box.x0 + box.side <= portrait.size and box.y0 + box.side <= portrait.size
    mask = feather_mask(100, 0.1)
    assert mask[50, 50] == 1.0 and mask[0, 0] < 0.01 and mask[0, 50] < 0.05
    assert np.allclose(mask, mask.T) and np.allclose(mask, mask[::-1, ::-1])


def test_bad_controls_are_rejected(animator, portrait):
    src = animator.source(portrait)
    with pytest.raises(InvalidInputError):
        animator.driving_keypoints(src, np.zeros((2, 3), np.float32))
    with pytest.raises(InvalidInputError):
        LivePortraitAnimator(animator.networks, batch_size=0)
    bad = Controls(rows(1, jaw_open=float("nan")), fps=25)
    with pytest.raises(InvalidInputError, match="NaN"):
        next(animator.frames(portrait, bad))


@pytest.mark.cuda
def test_cuda_fp16_frames(manifest, recipe, portrait):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from vortex.animators.liveportrait.loader import BASE_FILES, RETARGETING_FILE, build_networks

    states = {n: recipe.to_torch(recipe.file_state_dicts(manifest, rel)) for n, rel in BASE_FILES.items()}
    nets = build_networks(states, recipe.to_torch(recipe.file_state_dicts(manifest, RETARGETING_FILE)), device="cuda")
    assert nets.dtype == torch.float16
    animator = LivePortraitAnimator(nets, batch_size=4)
    controls = Controls(rows(6, jaw_open=0.5), fps=25)
    video = np.concatenate(list(animator.frames(portrait, controls, chunk=4)))
    assert video.shape == (6, portrait.size, portrait.size, 3) and video.dtype == np.uint8
    assert np.array_equal(video, np.concatenate(list(animator.frames(portrait, controls, chunk=4))))


@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_cuda_compiled_and_cuda_graph_frames_match_eager(manifest, recipe, portrait, mode):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    nets = recipe.recipe_networks("cuda")
    controls = Controls(rows(12, jaw_open=0.5, head_yaw=2.0), fps=25)
    eager = np.concatenate(list(LivePortraitAnimator(nets, batch_size=8).frames(portrait, controls, chunk=12)))
    compiled = LivePortraitAnimator(nets, runtime=RuntimeConfig(batch_size=8, compile_mode=mode))
    for _ in range(2):  # the second pass replays what the first compiled (and, for CUDA graphs, recorded)
        frames = np.concatenate(list(compiled.frames(portrait, controls, chunk=12)))
        diff = np.abs(frames.astype(int) - eager.astype(int))
        assert diff.mean() < 0.5 and np.percentile(diff, 99.9) <= 4
