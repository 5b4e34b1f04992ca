"""Backend selection: production backends only when their packages, files (and GPU) are there."""

from __future__ import annotations

import json

import pytest

from vortex import backends
from vortex.backends import select_actor_backend, select_animator_backend, select_speech_backend
from vortex.errors import InvalidInputError, MissingResourceError
from vortex.models import backend_dir, get_backend


def fill(models_dir, name: str) -> None:
    root = backend_dir(name, models_dir)
    for f in get_backend(name).files:
        if f.required:
            (root / f.local_path).parent.mkdir(parents=True, exist_ok=True)
            (root / f.local_path).write_text(json.dumps({}))


def test_auto_falls_back_to_embedded_and_says_why(tmp_path):
    choice = select_speech_backend(None, tmp_path)
    assert choice.name == "kokoro-onnx" and choice.stage == "speech"
    assert "kokoro-torch unavailable" in choice.reason and "vortex models download kokoro" in choice.reason
    assert str(choice).startswith("speech: kokoro-onnx (embedded default;")
    assert select_actor_backend("auto", tmp_path).name == "procedural"
    assert select_animator_backend(None, tmp_path).name == "warp"


def test_auto_picks_kokoro_torch_when_files_and_packages_are_present(tmp_path, monkeypatch):
    fill(tmp_path, "kokoro")
    monkeypatch.setattr(backends, "_importable", lambda name: True)
    choice = select_speech_backend(None, tmp_path)
    assert choice.name == "kokoro-torch" and "official" in choice.reason


def test_gpu_backends_need_cuda_under_auto(tmp_path, monkeypatch):
    fill(tmp_path, "liveportrait")
    monkeypatch.setattr(backends, "_importable", lambda name: True)
    from vortex.devices import choose_device

    choice = select_animator_backend(None, tmp_path)
    if choose_device("auto").kind == "cuda":
        assert choice.name == "liveportrait"
    else:
        assert choice.name == "warp" and "no CUDA GPU" in choice.reason
        # Asked for by name, it is allowed on the CPU.
        assert select_animator_backend("liveportrait", tmp_path).name == "liveportrait"


def test_named_backend_that_cannot_run_is_an_error(tmp_path):
    with pytest.raises(MissingResourceError, match="actor backend flux cannot run"):
        select_actor_backend("flux", tmp_path)
    with pytest.raises(InvalidInputError, match="unknown speech backend"):
        select_speech_backend("espeak", tmp_path)
    assert select_speech_backend("kokoro-onnx", tmp_path).reason == "requested"


def test_every_stage_lists_its_backends_from_the_one_registry():
    assert backends.names("speech")[:1] == ("auto",) and "kokoro-onnx" in backends.names("speech")
    assert backends.names("animator") == ("auto", "liveportrait", "warp-torch", "warp")
    assert {b.stage for b in backends.BACKENDS} == set(backends.STAGES)
    for stage in backends.STAGES:  # exactly one embedded fallback per stage, tried last by "auto"
        assert [b.embedded for b in backends.backends(stage)][-1] and sum(b.embedded for b in backends.backends(stage)) == 1


def test_embedded_backends_load_through_the_registry_and_implement_their_protocol(tmp_path):
    from vortex.actors.portrait import Portrait
    from vortex.stages import Actor, Animator

    actor = backends.load(select_actor_backend("procedural", tmp_path), tmp_path)
    assert isinstance(actor, Actor) and actor.name == "procedural"
    portrait = actor("green alien with antennae", seed=3, size=256)
    assert isinstance(portrait, Portrait) and portrait.image.shape == (256, 256, 3)
    animator = backends.load(select_animator_backend("warp", tmp_path), tmp_path)
    assert isinstance(animator, Animator) and animator.name == "warp"


def test_warp_torch_is_chosen_only_by_name(tmp_path):
    assert select_animator_backend(None, tmp_path).name != "warp-torch"
    if backends._importable("torch"):
        assert select_animator_backend("warp-torch", tmp_path).name == "warp-torch"
    else:
        with pytest.raises(MissingResourceError, match="warp-torch cannot run: packages torch"):
            select_animator_backend("warp-torch", tmp_path)
