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
from vortex.errors import InvalidInputError, MissingResourceError  # noqa: E402

WORDS = "photorealistic head-and-shoulders portrait photo of a an old young woman man with red hair".split()
CHARS = "abcdefghijklmnopqrstuvwxyz,-"


def clip_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<|startoftext|>", "<|endoftext|>", "<unk>", *WORDS, ","])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>", special_tokens=[("<|startoftext|>", 0), ("<|endoftext|>", 1)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|startoftext|>", eos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>", unk_token="<unk>", model_max_length=77)


def t5_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)] + [(c, -3.0) for c in CHARS]
    pieces += [("▁" + w, -1.0) for w in WORDS]
    tok = Tokenizer(models.Unigram(pieces, unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return T5TokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0)


def tiny_pipeline():
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(0)
    clip_tok, t5_tok = clip_tokenizer(), t5_tokenizer()
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8],
    )
    clip = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(clip_tok), hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        projection_dim=32, max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1,
    ))
    t5 = T5EncoderModel(T5Config(
        vocab_size=len(t5_tok), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    ))
    # Four blocks give the real VAE's 8x downsampling, so 512 px is a 64x64 latent as in production.
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(4, 4, 4, 4), layers_per_block=1,
        latent_channels=4, norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False,
        shift_factor=0.0609, scaling_factor=1.5035,
    )
    return FluxPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=clip, tokenizer=clip_tok,
                        text_encoder_2=t5, tokenizer_2=t5_tok, transformer=transformer)


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
