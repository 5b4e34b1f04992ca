"""Loading official-layout checkpoint files: strict keys, `module.` prefixes, dtypes, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vortex.animators.liveportrait import loader  # noqa: E402
from vortex.animators.liveportrait.appearance_feature_extractor import AppearanceFeatureExtractor  # noqa: E402
from vortex.errors import MissingResourceError, ModelIntegrityError  # noqa: E402


def write_files(root, recipe_weights, recipe, prefix: str) -> None:
    for rel in loader.ALL_FILES:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        state = recipe_weights[rel]
        if rel == loader.RETARGETING_FILE:
            torch.save({sub: recipe.to_torch(sd, prefix) for sub, sd in state.items()}, path)
        else:
            torch.save(recipe.to_torch(state), path)


@pytest.fixture(scope="module")
def weights_root(tmp_path_factory, recipe_weights, recipe):
    root = tmp_path_factory.mktemp("liveportrait")
    write_files(root, recipe_weights, recipe, prefix="module.")
    return root


def test_load_official_layout_with_module_prefix(weights_root, golden):
    nets = loader.load_networks(weights_root, device="cpu")
    assert nets.dtype == torch.float32 and nets.device.type == "cpu"
    for net in (nets.appearance, nets.motion, nets.warping, nets.generator, nets.retargeting):
        assert not net.training
        assert all(p.dtype == torch.float32 for p in net.parameters())
    # The loaded weights are the recipe's: the cheap golden cases reproduce.
    me = np.load(golden / "motion_extractor.npz")
    with torch.no_grad():
        out = nets.motion(torch.from_numpy(me["in_image"]))
    np.testing.assert_allclose(out["kp"].numpy(), me["out_kp"], rtol=1e-5, atol=1e-5)
    sr = np.load(golden / "stitching_retargeting_module.npz")
    with torch.no_grad():
        lip = nets.retargeting.retarget_lip(torch.from_numpy(sr["wrap_kp_source"]), torch.from_numpy(sr["wrap_lip_close_ratio"]))
    np.testing.assert_allclose(lip.numpy(), sr["wrap_retarget_lip_delta"], rtol=1e-5, atol=1e-5)
    assert nets.parameter_bytes() > 4 * 129_000_000


def test_retargeting_keys_without_prefix(tmp_path, weights_root, recipe_weights, recipe, golden):
    (tmp_path / "base_models").symlink_to(weights_root / "base_models", target_is_directory=True)
    path = tmp_path / loader.RETARGETING_FILE
    path.parent.mkdir(parents=True)
    torch.save({sub: recipe.to_torch(sd) for sub, sd in recipe_weights[loader.RETARGETING_FILE].items()}, path)
    nets = loader.load_networks(tmp_path, device="cpu")
    sr = np.load(golden / "stitching_retargeting_module.npz")
    with torch.no_grad():
        eye = nets.retargeting.retarget_eye(torch.from_numpy(sr["wrap_kp_source"]), torch.from_numpy(sr["wrap_eye_close_ratio"]))
    np.testing.assert_allclose(eye.numpy(), sr["wrap_retarget_eye_delta"], rtol=1e-5, atol=1e-5)


def test_missing_files_are_named_with_their_source(tmp_path, weights_root):
    with pytest.raises(MissingResourceError) as err:
        loader.load_networks(tmp_path / "empty", device="cpu")
    message = str(err.value)
    for rel in loader.ALL_FILES:
        assert rel in message
    assert "KwaiVGI/LivePortrait" in message and "liveportrait/base_models/warping_module.pth" in message

    (tmp_path / "retargeting_models").symlink_to(weights_root / "retargeting_models", target_is_directory=True)
    (tmp_path / "base_models").mkdir()
    for rel in loader.BASE_FILES.values():
        if not rel.endswith("spade_generator.pth"):
            (tmp_path / rel).symlink_to(weights_root / rel)
    with pytest.raises(MissingResourceError, match=r"spade_generator\.pth") as err:
        loader.load_networks(tmp_path, device="cpu")
    assert "motion_extractor" not in str(err.value)


def test_default_location_is_under_models_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("VORTEX_MODELS_DIR", str(tmp_path))
    assert loader.weights_dir() == tmp_path / "liveportrait"
    with pytest.raises(MissingResourceError, match=str(tmp_path / "liveportrait")):
        loader.require_files()


def test_wrong_key_or_shape_is_a_clear_error(recipe_weights, recipe):
    state = recipe.to_torch(recipe_weights["base_models/appearance_feature_extractor.pth"])
    renamed = dict(state)
    renamed["first.conv.weight_renamed"] = renamed.pop("first.conv.weight")
    with pytest.raises(ModelIntegrityError, match=r"missing \(e\.g\. first\.conv\.weight\).*unexpected \(e\.g\. first\.conv\.weight_renamed\)"):
        loader.load_strict(AppearanceFeatureExtractor(), renamed, "appearance_feature_extractor.pth")
    reshaped = dict(state)
    reshaped["second.bias"] = torch.zeros(256)
    with pytest.raises(ModelIntegrityError, match=r"second\.bias \(256,\) != \(512,\)"):
        loader.load_strict(AppearanceFeatureExtractor(), reshaped, "appearance_feature_extractor.pth")


def test_retargeting_file_without_a_sub_network(tmp_path, weights_root, recipe_weights, recipe):
    (tmp_path / "base_models").symlink_to(weights_root / "base_models", target_is_directory=True)
    path = tmp_path / loader.RETARGETING_FILE
    path.parent.mkdir(parents=True)
    state = recipe_weights[loader.RETARGETING_FILE]
    torch.save({sub: recipe.to_torch(sd) for sub, sd in state.items() if sub != "retarget_eye"}, path)
    with pytest.raises(ModelIntegrityError, match="retarget_eye"):
        loader.load_networks(tmp_path, device="cpu")


def test_package_import_does_not_need_torch():
    """The embedded path imports the package (registry, pipeline) without paying for torch."""
    import subprocess
    import sys

    code = (
        "import sys, vortex.animators.liveportrait as lp, vortex.animators.liveportrait.loader; "
        "assert 'torch' not in sys.modules; print(lp.LivePortraitAnimator.name)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "liveportrait"


def test_not_a_checkpoint_is_an_integrity_error(tmp_path):
    bad = tmp_path / "x.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelIntegrityError, match="x.pth"):
        loader.read_checkpoint(bad)


@pytest.mark.cuda
def test_cuda_loads_float16(weights_root, golden):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    nets = loader.load_networks(weights_root)
    assert nets.device.type == "cuda" and nets.dtype == torch.float16
    assert all(p.dtype == torch.float16 for p in nets.generator.parameters())
    assert all(p.dtype == torch.float32 for p in nets.retargeting.parameters())
    data = np.load(golden / "spade_generator.npz")
    with torch.no_grad():
        image = nets.generator(torch.from_numpy(data["in_feature"]).to("cuda", torch.float16)).float().cpu().numpy()
    # FP16 is not the golden precision; it must still be close (the README expects ~1e-3 and more).
    assert np.abs(image - data["out_image"]).mean() < 0.02
