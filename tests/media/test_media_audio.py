"""Reading audio users bring: formats, resampling, downmix, and every kind of bad file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from vortex.errors import InvalidInputError
from vortex.media.audio import load_audio, resample, validate_waveform, write_wav


def _tone(rate: int, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_freq(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("rate", [44_100, 16_000, 24_000])
def test_wav_is_resampled_to_24k_without_changing_pitch(tmp_path, rate):
    path = tmp_path / f"tone{rate}.wav"
    sf.write(path, _tone(rate), rate)
    wave, warnings = load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1 and warnings == []
    assert len(wave) == pytest.approx(24_000, abs=2)
    assert _dominant_freq(wave, 24_000) == pytest.approx(440, abs=2)
    assert np.abs(wave).max() == pytest.approx(0.5, abs=0.02)


def test_flac_and_stereo_downmix_warns(tmp_path):
    path = tmp_path / "stereo.flac"
    left, right = _tone(24_000), _tone(24_000, freq=880)
    sf.write(path, np.stack([left, right], axis=1), 24_000)
    wave, warnings = load_audio(path)
    assert len(warnings) == 1 and "2 channels mixed down to mono" in warnings[0]
    np.testing.assert_allclose(wave, (left + right) / 2, atol=1e-4)


def _encode_with_pyav(path, codec: str, rate: int, wave: np.ndarray, channels: int = 1):
    import av

    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        data = np.tile(wave[None, :], (channels, 1)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize("suffix, codec", [(".mp3", "libmp3lame"), (".m4a", "aac")])
def test_compressed_files_via_pyav(tmp_path, suffix, codec):
    import av

    if codec not in av.codecs_available:
        pytest.skip(f"this PyAV build has no {codec} encoder to write the test file")
    path = tmp_path / f"tone{suffix}"
    _encode_with_pyav(path, codec, 44_100, _tone(44_100), channels=2)
    wave, warnings = load_audio(path)
    assert any("mixed down" in w for w in warnings)
    assert len(wave) == pytest.approx(24_000, rel=0.1)  # encoder padding adds a few ms
    assert _dominant_freq(wave, 24_000) == pytest.approx(440, abs=3)


@pytest.mark.parametrize(
    "name, make, match",
    [
        ("empty.wav", lambda p: p.write_bytes(b""), "empty"),
        ("nosamples.wav", lambda p: sf.write(p, np.zeros(0, np.float32), 24_000), "no samples"),
        ("silent.wav", lambda p: sf.write(p, np.zeros(24_000, np.float32), 24_000), "silent"),
        ("nan.wav", lambda p: sf.write(p, np.full(100, np.nan, np.float32), 24_000, subtype="FLOAT"), "NaN"),
        ("inf.wav", lambda p: sf.write(p, np.array([0.1, np.inf] * 50, np.float32), 24_000, subtype="FLOAT"), "NaN or infinite"),
        ("corrupt.wav", lambda p: p.write_bytes(b"RIFF\x00\x01garbage" * 50), "cannot read audio file"),
        ("corrupt.mp3", lambda p: p.write_bytes(bytes(range(256)) * 20), "cannot read audio file|no audio stream"),
        ("missing.wav", None, "not found"),
    ],
)
def test_bad_audio_files_raise_one_line_errors(tmp_path, name, make, match):
    path = tmp_path / name
    if make is not None:
        make(path)
    with pytest.raises(InvalidInputError, match=match) as info:
        load_audio(path)
    assert "\n" not in str(info.value)


def test_validate_waveform_rejects_bad_arrays():
    with pytest.raises(InvalidInputError, match="mono"):
        validate_waveform(np.zeros((2, 10), np.float32), 24_000)
    with pytest.raises(InvalidInputError, match="sample rate"):
        validate_waveform(_tone(24_000), 0)
    with pytest.raises(InvalidInputError, match="float"):
        validate_waveform(np.ones(10, np.int16), 24_000)
    assert validate_waveform(_tone(24_000).astype(np.float64), 24_000).dtype == np.float32


def test_write_wav_is_atomic_and_round_trips(tmp_path):
    path = tmp_path / "out.wav"
    write_wav(path, _tone(24_000))
    wave, _ = load_audio(path)
    np.testing.assert_allclose(wave, _tone(24_000), atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]
    with pytest.raises(InvalidInputError):
        write_wav(tmp_path / "bad.wav", np.zeros((2, 2), np.float32))
    assert not (tmp_path / "bad.wav").exists()


def test_resample_identity_and_length():
    tone = _tone(24_000)
    assert resample(tone, 24_000, 24_000) is tone or np.array_equal(resample(tone, 24_000, 24_000), tone)
    assert len(resample(tone, 24_000, 16_000)) == 16_000
