"""The production Kokoro backend on a tiny, randomly initialised KModel built here (no downloads).

The official weights cannot be fetched here, so these tests check what does not depend on them:
the real ``kokoro`` package's network runs through our loader (strict keys, ``module.``
prefixes), our G2P feeds it, and the Speech timeline is exactly the model's own predicted
durations. The audio of random weights is noise; intelligibility is not tested here.
"""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("loguru")
if __import__("importlib.util").util.find_spec("kokoro") is None:
    pytest.skip("kokoro package not installed (pip install --no-deps kokoro==0.9.4)", allow_module_level=True)

from vortex.errors import InvalidInputError, MissingResourceError, ModelIntegrityError  # noqa: E402
from vortex.speech import kokoro_torch as kt  # noqa: E402
from vortex.speech.g2p import G2P, vocab  # noqa: E402
from vortex.speech.speech import PAUSE  # noqa: E402
from vortex.speech.timeline import SPLIT_TOKENS  # noqa: E402

PARTS = ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")


def tiny_config() -> dict:
    # Same layout as the official config.json; the decoder hard-codes 512 input channels, so
    # hidden_dim and the generator width stay 512, everything else is shrunk. Upsampling
    # (10 x 6 x hop 5, x2 in the decoder) keeps the official 600 samples per duration unit.
    return {
        "vocab": vocab(), "n_token": 178, "hidden_dim": 512, "style_dim": 128, "n_layer": 1,
        "max_dur": 4, "dropout": 0.2, "text_encoder_kernel_size": 5, "n_mels": 80,
        "plbert": {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                   "max_position_embeddings": 512, "num_hidden_layers": 2, "dropout": 0.1},
        "istftnet": {"upsample_kernel_sizes": [20, 12], "upsample_rates": [10, 6], "gen_istft_hop_size": 5,
                     "gen_istft_n_fft": 20, "resblock_dilation_sizes": [[1, 3, 5]], "resblock_kernel_sizes": [3],
                     "upsample_initial_channel": 512},
    }


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    kdir = root / "kokoro"
    (kdir / "voices").mkdir(parents=True)
    (kdir / "config.json").write_text(json.dumps(tiny_config()))
    empty = root / "empty.pth"
    torch.save({}, empty)
    torch.manual_seed(1234)
    model = kt._kmodel_class()(repo_id="hexgrad/Kokoro-82M", config=str(kdir / "config.json"), model=str(empty))
    # The released file's keys carry the DDP "module." prefix; ours do too.
    torch.save({p: {"module." + k: v for k, v in getattr(model, p).state_dict().items()} for p in PARTS},
               kdir / "kokoro-v1_0.pth")
    gen = torch.Generator().manual_seed(5)
    for name in ("af_heart", "af_bella", "af_nicole", "af_sky", "am_adam"):
        torch.save(torch.randn(510, 1, 256, generator=gen) * 0.3, kdir / "voices" / f"{name}.pt")
    return root


@pytest.fixture(scope="module")
def engine(models_dir):
    return kt.KokoroTorchSpeech(models_dir=models_dir, device="cpu", seed=11)


def test_timeline_is_the_models_own_durations(engine):
    text = "Hello brave world."
    speech = engine.synthesize(text, voice="af_heart")
    (chunk,) = G2P()(text).chunks
    ids = [0, *(engine.vocab[s] for s in chunk.symbols), 0]
    ref = torch.load(str(engine.root / "voices" / "af_heart.pt"), weights_only=True)[len(chunk.symbols) - 1]
    _, pred_dur = engine.model.forward_with_tokens(torch.tensor([ids]), ref, 1.0)
    units = pred_dur.numpy().astype(int)
    assert len(speech.waveform) == units.sum() * 600  # one unit = 600 samples, exactly
    assert speech.waveform.dtype == np.float32 and np.isfinite(speech.waveform).all()
    assert np.abs(speech.waveform).max() <= 0.99 + 1e-6
    # Contract: contiguous, starts at 0, ends exactly at the waveform's end.
    phones = speech.phones
    assert phones[0].start == 0 and phones[-1].end == pytest.approx(speech.duration, abs=1e-9)
    assert all(a.end == pytest.approx(b.start, abs=1e-12) for a, b in zip(phones, phones[1:]))
    # The leading pad is its own pause, lasting the model's first duration.
    assert phones[0].symbol == PAUSE and phones[0].end == pytest.approx(units[0] * 600 / 24000)
    spoken = [p.symbol for p in phones if p.symbol != PAUSE]
    # Misaki's one-token diphthongs (O = o ʊ, A = e ɪ) are two phones in the timeline.
    assert spoken == [p for s in chunk.symbols if s not in "ˈˌː .," for p in SPLIT_TOKENS.get(s, (s,))]
    assert [w.text for w in speech.words] == ["Hello", "brave", "world"]
    assert any(p.stressed for p in phones)
    assert speech.metadata["backend"] == "kokoro-torch" and speech.voice == "af_heart"


def test_seeded_noise_makes_it_deterministic(engine):
    a = engine.synthesize("One more time.", voice="am_adam")
    b = engine.synthesize("One more time.", voice="am_adam")
    np.testing.assert_array_equal(a.waveform, b.waveform)
    other = copy.copy(engine)  # same loaded model, another seed
    other.seed = 12
    c = other.synthesize("One more time.", voice="am_adam")
    # The vocoder's noise changes with the seed; the predicted durations do not.
    assert not np.array_equal(a.waveform, c.waveform)
    assert [(p.symbol, p.start, p.end) for p in a.phones] == [(p.symbol, p.start, p.end) for p in c.phones]


def test_character_voices_map_to_english_blends(engine):
    speech = engine.synthesize("Wubba.", voice="rick_c137", emotion="excited")
    assert speech.metadata["voice_recipe"] == "0.80 am_adam + 0.20 af_bella"
    assert speech.metadata["model_speed"] == pytest.approx(1.05 * 1.15)
    pack = engine.voice_pack(kt.english_voice("rick_c137"))
    expected = 0.8 * engine.voice_pack(kt.english_voice("am_adam")) + 0.2 * engine.voice_pack(kt.english_voice("af_bella"))
    np.testing.assert_allclose(pack, expected, rtol=1e-6)


def test_bad_requests_and_missing_voice(engine):
    with pytest.raises(InvalidInputError, match="unknown voice"):
        engine.synthesize("Hi.", voice="nobody")
    with pytest.raises(InvalidInputError, match="empty"):
        engine.synthesize("   ", voice="af_heart")
    with pytest.raises(MissingResourceError, match=r"bf_emma\.pt"):
        engine.synthesize("Hi.", voice="bf_emma")  # an optional voice not downloaded here


def test_missing_files_name_the_files_and_the_command(tmp_path):
    with pytest.raises(MissingResourceError) as err:
        kt.KokoroTorchSpeech(models_dir=tmp_path, device="cpu")
    message = str(err.value)
    assert "kokoro-v1_0.pth" in message and "config.json" in message and "af_heart.pt" in message
    assert "vortex models download kokoro" in message and str(tmp_path / "kokoro") in message


def test_strict_loading_rejects_a_foreign_checkpoint(models_dir, tmp_path):
    bad = tmp_path / "kokoro"
    shutil.copytree(models_dir / "kokoro", bad)
    state = torch.load(str(bad / "kokoro-v1_0.pth"), weights_only=True)
    state["bert_encoder"]["module.extra.weight"] = torch.zeros(1)
    torch.save(state, bad / "kokoro-v1_0.pth")
    with pytest.raises(ModelIntegrityError, match="bert_encoder"):
        kt.KokoroTorchSpeech(models_dir=tmp_path, device="cpu")
