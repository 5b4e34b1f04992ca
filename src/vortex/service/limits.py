"""What the service accepts from the network: sizes, pixels, durations, queue length, deadline.

One ``ServiceLimits`` holds every bound (``vortex serve`` flags set them); the checks here read
only headers and metadata, so a hostile upload (a decompression bomb, a 10-hour recording) is
refused before anything decodes it. Each refusal is a ``LimitError`` with the HTTP status the
client gets (413 too large, 422 unreadable) and one line that says what to change.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from vortex.recipe import DURATION_RANGE, MAX_SCRIPT_CHARS, SIZE_RANGE


@dataclass(frozen=True)
class ServiceLimits:
    max_body_bytes: int = 32 * 1024 * 1024
    """Whole request body (a recipe with both uploads fits)."""
    max_recipe_bytes: int = 256 * 1024
    max_photo_bytes: int = 20 * 1024 * 1024
    max_photo_pixels: int = 40_000_000
    max_audio_bytes: int = 10 * 1024 * 1024
    max_audio_sec: float = 600.0
    max_script_chars: int = MAX_SCRIPT_CHARS
    max_slot_sec: float = DURATION_RANGE[1]
    max_size: int = SIZE_RANGE[1]
    max_queue: int = 64
    """Queued (not yet running) jobs; beyond it POST answers 429 with Retry-After."""
    slot_deadline_sec: float = 900.0
    max_channel_recipes: int = 100


class LimitError(Exception):
    """A request over a limit or unreadable: ``status`` is the HTTP answer, ``field`` what to fix."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


PHOTO_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


def check_photo(data: bytes, limits: ServiceLimits) -> str:
    """Check an uploaded photo from its header; returns the file suffix for its format."""
    from PIL import Image

    if len(data) > limits.max_photo_bytes:
        raise LimitError(
            413, "photo", f"photo: {len(data) / 1e6:.1f} MB is over the limit of {limits.max_photo_bytes / 1e6:g} MB"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's DecompressionBombWarning: we check pixels ourselves
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                width, height, fmt = image.width, image.height, image.format
    except Exception:  # noqa: BLE001 - any decoder complaint means the same to the client
        raise LimitError(422, "photo", "photo: not a readable PNG, JPEG or WebP image") from None
    if fmt not in PHOTO_SUFFIX:
        raise LimitError(422, "photo", f"photo: {fmt} images are not accepted; send PNG, JPEG or WebP")
    if width * height > limits.max_photo_pixels:
        raise LimitError(
            413,
            "photo",
            f"photo: {width}x{height} is {width * height / 1e6:.1f} megapixels, over the limit of "
            f"{limits.max_photo_pixels / 1e6:g}",
        )
    return PHOTO_SUFFIX[fmt]


def check_audio(data: bytes, limits: ServiceLimits) -> str:
    """Check an uploaded recording from its container's metadata; returns the file suffix."""
    if len(data) > limits.max_audio_bytes:
        raise LimitError(
            413, "audio", f"audio: {len(data) / 1e6:.1f} MB is over the limit of {limits.max_audio_bytes / 1e6:g} MB"
        )
    seconds, suffix = _audio_length(data)
    if seconds is None:
        raise LimitError(422, "audio", "audio: not a readable WAV, FLAC, OGG, MP3 or M4A recording")
    if seconds > limits.max_audio_sec:
        raise LimitError(413, "audio", f"audio: {seconds:.0f} s is over the limit of {limits.max_audio_sec:g} s")
    return suffix


def _audio_length(data: bytes) -> tuple[float | None, str]:
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(data))
        suffix = {"WAV": ".wav", "FLAC": ".flac", "OGG": ".ogg", "AIFF": ".aiff"}.get(info.format)
        if suffix is not None and info.samplerate > 0:
            return info.frames / info.samplerate, suffix
    except Exception:  # noqa: BLE001 - not a soundfile format; try FFmpeg's demuxers
        pass
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio or container.duration is None:
                return None, ""
            name = container.format.name
            return container.duration / 1_000_000, ".mp3" if "mp3" in name else ".m4a"
    except Exception:  # noqa: BLE001 - unreadable
        return None, ""
