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
