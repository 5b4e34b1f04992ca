"""Golden equivalence: every LivePortrait network reproduces the official implementation's outputs.

Weights come from the closed-form recipe of ../shared/liveportrait (checked tensor by tensor against
its SHA-256 list), are loaded strictly by the manifest's keys, and each module runs on the stored
inputs in float32 on CPU. Tolerances are the README's: |a - ref| <= atol + rtol * |ref| with 1e-4 for
F, W, G and 1e-5 for M, S and the keypoint transform (1e-4 absolute for degrees).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vortex.animators.liveportrait.appearance_feature_extractor import AppearanceFeatureExtractor  # noqa: E402
from vortex.animators.liveportrait.keypoints import transform_keypoint_info  # noqa: E402
from vortex.animators.liveportrait.motion_extractor import MotionExtractor  # noqa: E402
from vortex.animators.liveportrait.spade_generator import SPADEDecoder  # noqa: E402
from vortex.animators.liveportrait.stitching_retargeting import StitchingRetargeting  # noqa: E402
from vortex.animators.liveportrait.warping import WarpingNetwork  # noqa: E402

BIG, SMALL = 1e-4, 1e-5


@pytest.fixture(autouse=True)
def _cpu_float32():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    with torch.no_grad():
        yield
    torch.set_num_threads(threads)


def assert_close(name: str, actual, reference: np.ndarray, rtol: float, atol: float) -> float:
    actual = actual.detach().cpu().numpy() if hasattr(actual, "detach") else np.asarray(actual)
    assert actual.shape == reference.shape, f"{name}: shape {actual.shape} != {reference.shape}"
    assert np.isfinite(actual).all(), f"{name}: non-finite values"
    excess = np.abs(actual.astype(np.float64) - reference) - (atol + rtol * np.abs(reference))
    worst = float(np.abs(actual.astype(np.float64) - reference).max())
    assert (excess <= 0).all(), f"{name}: max abs diff {worst:.3g} exceeds atol {atol} + rtol {rtol}"
    print(f"{name}: max abs diff {worst:.3g}")
    return worst


def load_strict(net, state: dict, recipe) -> None:
    missing, unexpected = net.load_state_dict(recipe.to_torch(state), strict=True)
    assert not missing and not unexpected


def test_recipe_matches_checksums(golden, recipe_weights, recipe):
    checksums = json.loads((golden / "weight_recipe_checksums.json").read_text())
    checked = 0
    for file, state in recipe_weights.items():
        groups = {f"{file}:{k}": v for k, v in state.items()} if file == recipe.RETARGETING_FILE else {file: state}
        for name, tensors in groups.items():
            records = checksums[name]
            assert [r["key"] for r in records] == list(tensors), name
            for record in records:
                value = tensors[record["key"]]
                assert recipe.sha256_le(value) == record["sha256_le"], f"{name} {record['key']}"
                checked += 1
    assert checked == 626


def test_module_layouts_match_manifest(manifest, recipe):
    """Each network's own state_dict has exactly the manifest's keys, shapes and dtypes."""
    nets = {
        "base_models/appearance_feature_extractor.pth": AppearanceFeatureExtractor(),
        "base_models/motion_extractor.pth": MotionExtractor(),
        "base_models/warping_module.pth": WarpingNetwork(),
        "base_models/spade_generator.pth": SPADEDecoder(),
    }
    pairs = [(net.state_dict(), recipe.entries_of(manifest, file)) for file, net in nets.items()]
    s = StitchingRetargeting()
    for attr, sub in s.CHECKPOINT_KEYS.items():
        pairs.append((getattr(s, attr).state_dict(), recipe.entries_of(manifest, recipe.RETARGETING_FILE, sub)))
    for state, entries in pairs:
        assert set(state) == {e["key"] for e in entries}
        for e in entries:
            assert list(state[e["key"]].shape) == e["shape"], e["key"]
            assert str(state[e["key"]].dtype).replace("torch.", "") == e["dtype"], e["key"]


def test_appearance_feature_extractor(golden, recipe_weights, recipe):
    net = AppearanceFeatureExtractor().eval()
    load_strict(net, recipe_weights["base_models/appearance_feature_extractor.pth"], recipe)
    data = np.load(golden / "appearance_feature_extractor.npz")
    assert_close("F feature_3d", net(torch.from_numpy(data["in_image"])), data["out_feature_3d"], BIG, BIG)


def test_motion_extractor(golden, recipe_weights, recipe):
    net = MotionExtractor().eval()
    load_strict(net, recipe_weights["base_models/motion_extractor.pth"], recipe)
    data = np.load(golden / "motion_extractor.npz")
    out = net(torch.from_numpy(data["in_image"]))
    for key in ("pitch", "yaw", "roll", "t", "exp", "scale", "kp"):
        assert_close(f"M {key}", out[key], data[f"out_{key}"], SMALL, SMALL)


def test_warping_module(golden, recipe_weights, recipe):
    net = WarpingNetwork().eval()
    load_strict(net, recipe_weights["base_models/warping_module.pth"], recipe)
    data = np.load(golden / "warping_module.npz")
    out = net(
        torch.from_numpy(data["in_feature_3d"]),
        kp_driving=torch.from_numpy(data["in_kp_driving"]),
        kp_source=torch.from_numpy(data["in_kp_source"]),
    )
    for key in ("out", "occlusion_map", "deformation"):
        assert_close(f"W {key}", out[key], data[f"out_{key}"], BIG, BIG)


def test_spade_generator(golden, recipe_weights, recipe):
    net = SPADEDecoder().eval()
    load_strict(net, recipe_weights["base_models/spade_generator.pth"], recipe)
    data = np.load(golden / "spade_generator.npz")
    feature = torch.from_numpy(data["in_feature"])
    assert_close("G image", net(feature), data["out_image"], BIG, BIG)
    # Folding sigma into the weight (what the loader does) must not change the result.
    net.fold_spectral_norm()
    assert_close("G image (folded)", net(feature), data["out_image"], BIG, BIG)


def test_stitching_retargeting(golden, recipe_weights, recipe):
    net = StitchingRetargeting().eval()
    state = recipe_weights[recipe.RETARGETING_FILE]
    for attr, sub in net.CHECKPOINT_KEYS.items():
        load_strict(getattr(net, attr), state[sub], recipe)
    data = np.load(golden / "stitching_retargeting_module.npz")
    t = {k: torch.from_numpy(data[k]) for k in data.files}
    for name in ("stitching", "lip", "eye"):
        assert_close(f"S {name}", getattr(net, name)(t[f"{name}_in_x"]), data[f"{name}_out"], SMALL, SMALL)
    source = t["wrap_kp_source"]
    assert_close("S wrap stitching", net.stitch(source, t["wrap_kp_driving"]), data["wrap_stitching_kp_driving_new"], SMALL, SMALL)
    assert_close("S wrap lip", net.retarget_lip(source, t["wrap_lip_close_ratio"]), data["wrap_retarget_lip_delta"], SMALL, SMALL)
    assert_close("S wrap eye", net.retarget_eye(source, t["wrap_eye_close_ratio"]), data["wrap_retarget_eye_delta"], SMALL, SMALL)


@pytest.mark.parametrize("case", ["formula", "me_chain"])
def test_keypoint_transform(golden, case):
    data = np.load(golden / "keypoint_transform.npz")
    info = {k: torch.from_numpy(data[f"{case}_in_{k}"]) for k in ("pitch", "yaw", "roll", "kp", "exp", "t", "scale")}
    out = transform_keypoint_info(info)
    for key in ("pitch", "yaw", "roll"):
        assert_close(f"{case} {key} degrees", out[key], data[f"{case}_out_{key}_deg"], 0.0, 1e-4)
    assert_close(f"{case} rot_mat", out["rot_mat"], data[f"{case}_out_rot_mat"], SMALL, SMALL)
    assert_close(f"{case} kp_transformed", out["kp_transformed"], data[f"{case}_out_kp_transformed"], SMALL, SMALL)


def test_golden_chain_is_consistent(golden):
    """The warping input is the appearance output and the decoder input is the warping output."""
    f = np.load(golden / "appearance_feature_extractor.npz")["out_feature_3d"]
    w = np.load(golden / "warping_module.npz")
    g = np.load(golden / "spade_generator.npz")
    assert np.array_equal(w["in_feature_3d"], f)
    assert np.array_equal(g["in_feature"], w["out_out"])
