"""The Flux.1-schnell actor on a tiny, randomly initialised FluxPipeline built here (no downloads).

Every component is the real diffusers/transformers class (FluxTransformer2DModel, AutoencoderKL,
CLIPTextModel, T5EncoderModel, FlowMatchEulerDiscreteScheduler) at toy sizes, with tokenizers
built from a small vocabulary. The pipeline call is the production one (4 steps, guidance 0,
512x512, seeded). Random weights draw noise, so generation is checked for shape, dtype, seed
handling and the photo path's "no face" error; the landmark path is checked on a real photo fed
through the same post-processing function.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from vortex.actors.flux import FluxActor, FluxOptions, load_pipeline, portrait_from_image, to_uint8  # noqa: E402
from vortex.actors.flux_tiny import tiny_pipeline  # noqa: E402
from vortex.errors import InvalidInputError, MissingResourceError  # noqa: E402

OPTIONS = FluxOptions(device="cpu", max_sequence_length=64)


@pytest.fixture(scope="module")
def saved_pipeline(tmp_path_factory):
    path = tmp_path_factory.mktemp("flux-tiny")
    tiny_pipeline().save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def actor(saved_pipeline):
    pipe, info = load_pipeline(saved_pipeline, OPTIONS)  # the real from_pretrained path
    return FluxActor(pipe, OPTIONS, info)


def test_generates_512_rgb_deterministically_per_seed(actor):
    a = actor.generate("an old man with red hair", seed=3)
    assert a.shape == (512, 512, 3) and a.dtype == np.uint8
    assert a.std() > 1.0  # the VAE decoded something, not a constant
    np.testing.assert_array_equal(a, actor.generate("an old man with red hair", seed=3))
    assert not np.array_equal(a, actor.generate("a young woman", seed=4))
    assert actor.info == {"device": "cpu", "dtype": "float32", "quantize": "none", "offload": "none"}


def test_pipeline_sees_the_production_settings(actor, monkeypatch):
    seen = {}
    original = type(actor.pipe).__call__

    def spy(pipe, *args, **kwargs):
        seen.update(kwargs)
        return original(pipe, *args, **kwargs)

    monkeypatch.setattr(type(actor.pipe), "__call__", spy)
    actor.generate("a woman", seed=1)
    assert seen["num_inference_steps"] == 4 and seen["guidance_scale"] == 0.0
    assert seen["height"] == seen["width"] == 512 and seen["output_type"] == "np"
    assert seen["generator"].initial_seed() == 1


def test_noise_image_gives_the_photo_paths_no_face_error(actor):
    with pytest.raises(InvalidInputError, match=r"no face found.*flux seed 5"):
        actor("an old man with red hair", seed=5)


def test_real_face_goes_through_the_photo_landmark_path():
    skimage = pytest.importorskip("skimage")
    photo = skimage.data.astronaut()
    portrait = portrait_from_image(photo, 512, {"seed": 9, "prompt": "p"})
    assert portrait.source == "flux"
    assert portrait.image.shape == (512, 512, 3) and portrait.image.dtype == np.uint8
    assert portrait.landmarks.shape == (68, 2) and portrait.mesh is not None
    assert portrait.details["seed"] == 9 and portrait.details["prompt"] == "p"
    # Aligned crop: eyes level and the face centred horizontally.
    right_eye, left_eye = portrait.group("eye_right").mean(0), portrait.group("eye_left").mean(0)
    assert abs(right_eye[1] - left_eye[1]) < 0.02 * 512
    assert abs((right_eye[0] + left_eye[0]) / 2 - 256) < 0.08 * 512


def test_to_uint8_rounds_and_clips():
    img = np.array([[[0.0, 0.5, 1.0], [-0.2, 1.3, 0.998]]], dtype=np.float32)
    np.testing.assert_array_equal(to_uint8(img), [[[0, 128, 255], [0, 255, 254]]])


def test_bad_inputs_are_typed_errors(actor):
    with pytest.raises(InvalidInputError, match="description is empty"):
        actor.generate("  ", seed=1)
    for seed in (-1, 1.5, True, 2**63):
        with pytest.raises(InvalidInputError, match="seed"):
            actor.generate("a man", seed=seed)
    with pytest.raises(InvalidInputError, match="offload"):
        FluxOptions(offload="disk")
    with pytest.raises(InvalidInputError, match="size"):
        FluxOptions(size=500)


def test_cpu_rejects_gpu_only_options(saved_pipeline):
    with pytest.raises(InvalidInputError, match="needs a CUDA GPU"):
        load_pipeline(saved_pipeline, FluxOptions(device="cpu", quantize="nf4"))
    with pytest.raises(InvalidInputError, match="needs device cuda"):
        load_pipeline(saved_pipeline, FluxOptions(device="cpu", offload="model"))


def test_missing_official_files_are_named(tmp_path):
    with pytest.raises(MissingResourceError) as err:
        FluxActor.load(tmp_path, OPTIONS)
    message = str(err.value)
    assert "vortex models download flux-schnell" in message
    assert "transformer/diffusion_pytorch_model-00001-of-00003.safetensors" in message
    assert str(tmp_path / "flux-schnell") in message


def _cuda_ok() -> bool:
    return torch.cuda.is_available()


@pytest.mark.cuda
@pytest.mark.skipif(not _cuda_ok(), reason="needs an NVIDIA GPU with CUDA torch")
@pytest.mark.parametrize("offload", ["none", "model", "sequential"])
def test_cuda_nf4_and_offload(saved_pipeline, offload):
    pytest.importorskip("bitsandbytes")
    options = FluxOptions(device="cuda", quantize="nf4", offload=offload, max_sequence_length=64)
    pipe, info = load_pipeline(saved_pipeline, options)
    assert info["quantize"] == "nf4" and info["dtype"] == "bfloat16"
    assert getattr(pipe.transformer, "is_loaded_in_4bit", False) or pipe.transformer.config.get("quantization_config")
    actor = FluxActor(pipe, options, info)
    a = actor.generate("a man", seed=2)
    assert a.shape == (512, 512, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, actor.generate("a man", seed=2))
