"""Fixtures for the LivePortrait tests: golden folder, manifest and recipe weights (built once)."""

from __future__ import annotations

import pytest

from vortex.animators.liveportrait import recipe as lp_recipe


@pytest.fixture(scope="session")
def recipe():
    return lp_recipe


@pytest.fixture(scope="session")
def golden():
    folder = lp_recipe.golden_dir()
    if folder is None:
        pytest.skip("LivePortrait golden data not found: expected <repo>/../shared/liveportrait or $VORTEX_LIVEPORTRAIT_GOLDEN")
    return folder


@pytest.fixture(scope="session")
def manifest(golden):
    return lp_recipe.load_manifest(golden)


@pytest.fixture(scope="session")
def recipe_weights(manifest):
    """numpy recipe state dicts of every checkpoint file, keyed by the manifest file name."""
    return {file: lp_recipe.file_state_dicts(manifest, file) for file in lp_recipe.GAINS}


@pytest.fixture(scope="session")
def recipe_networks(manifest):
    """All five networks on CPU float32, built through the loader's strict path from recipe weights."""
    pytest.importorskip("torch")
    from vortex.animators.liveportrait.loader import BASE_FILES, RETARGETING_FILE, build_networks

    states = {name: lp_recipe.to_torch(lp_recipe.file_state_dicts(manifest, rel)) for name, rel in BASE_FILES.items()}
    retargeting = lp_recipe.to_torch(lp_recipe.file_state_dicts(manifest, RETARGETING_FILE), "module.")
    return build_networks(states, retargeting, device="cpu")
