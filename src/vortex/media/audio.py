"""Audio that users bring: read any common file into Vortex's format, check it, write WAV.

Vortex's format is float32 mono at 24 kHz (``vortex.config.SAMPLE_RATE``). WAV/FLAC/OGG are
read with soundfile (libsndfile); MP3, M4A/AAC and anything else with PyAV (FFmpeg). Sample
rates are converted with soxr at "VHQ" quality; multi-channel audio is averaged to mono with a
warning. Empty, all-silent, NaN/Inf or unreadable audio raises ``InvalidInputError`` with a
one-line message.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError
from vortex.media.atomic import atomic_output

SILENCE_PEAK = 1e-4
"""Peak amplitude (about -80 dBFS) at or below which audio counts as all-silent."""

_SOUNDFILE_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"}


def resample(waveform: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling (soxr VHQ); float32 in, float32 out, length ~ n * rate_out / rate_in."""
    wave = np.asarray(waveform, dtype=np.float32)
    if int(rate_in) == int(rate_out):
        return wave
    import soxr

    return np.asarray(soxr.resample(wave, int(rate_in), int(rate_out), quality="VHQ"), dtype=np.float32)


def validate_waveform(waveform: np.ndarray, sample_rate: int, name: str = "audio") -> np.ndarray:
    """Check a mono waveform is usable; returns it as contiguous float32 [N].

    Raises InvalidInputError for a non-1-D array, a bad sample rate, no samples, NaN/Inf, or
    silence (peak <= ``SILENCE_PEAK``).
    """
    wave = np.asarray(waveform)
    if wave.ndim != 1:
        raise InvalidInputError(f"{name} must be mono (a 1-D array), got shape {wave.shape}")
    if not isinstance(sample_rate, (int, np.integer)) or not (1000 <= int(sample_rate) <= 384_000):
        raise InvalidInputError(f"{name} has an invalid sample rate {sample_rate!r}")
    if wave.size == 0:
        raise InvalidInputError(f"{name} is empty (no samples)")
    if not np.issubdtype(wave.dtype, np.floating):
        raise InvalidInputError(f"{name} must hold float samples in [-1, 1], got {wave.dtype}")
    wave = np.ascontiguousarray(wave, dtype=np.float32)
    if not np.all(np.isfinite(wave)):
        raise InvalidInputError(f"{name} contains NaN or infinite samples")
    if float(np.max(np.abs(wave))) <= SILENCE_PEAK:
        raise InvalidInputError(f"{name} is silent (peak below {SILENCE_PEAK:g})")
    return wave


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data, int(rate)


def _read_pyav(path: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise InvalidInputError(f"{path.name} has no audio stream")
        stream = streams[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        blocks = []
        for frame in container.decode(stream):
            array = frame.to_ndarray()
            # Planar formats give [channels, n]; packed ones give [1, n * channels].
            channels = len(frame.layout.channels)
            if frame.format.is_planar:
                block = array.reshape(channels, -1).T
            else:
                block = array.reshape(-1, channels)
            if np.issubdtype(block.dtype, np.integer):
                block = block.astype(np.float32) / float(np.iinfo(block.dtype).max)
            blocks.append(block.astype(np.float32, copy=False))
            rate = rate or int(frame.sample_rate)
    if not blocks:
        return np.zeros((0, 1), dtype=np.float32), rate
    return np.concatenate(blocks, axis=0), rate


MAX_AUDIO_BYTES = 512 * 2**20
"""Largest audio file accepted (10 minutes of 48 kHz stereo float WAV is 230 MB)."""


def audio_seconds(path: str | os.PathLike[str]) -> float | None:
    """How long a recording lasts, from its header (nothing decoded); None if unknown."""
    try:
        import soundfile

        return float(soundfile.info(str(path)).duration)
    except Exception:  # noqa: BLE001 - not a soundfile format: ask FFmpeg
        pass
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = next(s for s in container.streams if s.type == "audio")
            return float(stream.duration * stream.time_base) if stream.duration else None
    except Exception:  # noqa: BLE001 - load_audio reports unreadable files itself
        return None


def load_audio(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, list[str]]:
    """Read an audio file as float32 mono at ``sample_rate`` (24 kHz); returns (waveform, warnings)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"audio file not found: {path}")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInputError(f"audio file is empty: {path}")
    if size > MAX_AUDIO_BYTES:  # refused before decoding it into memory
        raise InvalidInputError(f"audio file is {size / 2**20:.0f} MB, over the {MAX_AUDIO_BYTES // 2**20} MB limit: {path}")
    warnings: list[str] = []
    try:
        if path.suffix.lower() in _SOUNDFILE_SUFFIXES:
            data, rate = _read_soundfile(path)
        else:
            data, rate = _read_pyav(path)
    except InvalidInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the file is unreadable
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(f"cannot read audio file {path.name}: {detail}") from None
    if data.shape[0] == 0:
        raise InvalidInputError(f"audio file {path.name} has no samples")
    if data.shape[1] > 1:
        warnings.append(f"{path.name}: {data.shape[1]} channels mixed down to mono")
        data = data.mean(axis=1, keepdims=True)
    wave = validate_waveform(data[:, 0], rate, name=f"audio file {path.name}")
    if rate != sample_rate:
        wave = resample(wave, rate, sample_rate)
    return wave, warnings


def write_wav(path: str | os.PathLike[str], waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write 16-bit PCM WAV atomically (temp file + rename); returns the path."""
    import soundfile as sf

    wave = np.asarray(waveform, dtype=np.float32)
    if wave.ndim != 1:
        raise InvalidInputError(f"write_wav needs a mono 1-D waveform, got shape {wave.shape}")
    final = Path(path)
    with atomic_output(final) as tmp:
        sf.write(str(tmp), np.clip(wave, -1.0, 1.0), int(sample_rate), subtype="PCM_16", format="WAV")
    return final
