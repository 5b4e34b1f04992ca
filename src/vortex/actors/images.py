"""Load any still image a user hands us into plain 8-bit RGB, or fail with one clear line.

Photos arrive in every shape: phone JPEGs stored sideways with an EXIF Orientation tag, PNGs with
alpha, 16-bit scans, CMYK print files, grayscale, WebP, 50-megapixel originals, truncated
downloads. Everything downstream wants uint8 [H, W, 3] RGB, upright, of a sane size.

Rules (each one tested):
- EXIF orientation is applied (``ImageOps.exif_transpose``), so the pixels are upright.
- Grayscale (L, 1, I;16, I, F) -> RGB; 16-bit and float data are scaled to 8 bits, not clipped.
- Alpha (RGBA, LA, palette transparency) is composited over ``ALPHA_BACKGROUND`` (white): a
  transparent background becomes a plain studio white rather than black.
- CMYK (and YCbCr, LAB, HSV) -> RGB through Pillow's converters.
- Images larger than ``max_side`` on their long side are downscaled (area filter) with a warning.
- Missing, empty, corrupt, truncated or non-image files raise ``InvalidInputError``.
"""

from __future__ import annotations

import io
import os
import warnings as pywarnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vortex.errors import InvalidInputError

ALPHA_BACKGROUND = (255, 255, 255)
DEFAULT_MAX_SIDE = 4096


@dataclass(frozen=True)
class LoadedImage:
    """rgb: uint8 [H, W, 3]; warnings: what was converted on the way, in words."""

    rgb: np.ndarray
    warnings: list[str] = field(default_factory=list)
    original_size: tuple[int, int] = (0, 0)  # (width, height) before any downscale
    name: str = "<array>"


MAX_IMAGE_BYTES = 100 * 2**20
"""Largest photo file accepted (a 100-megapixel JPEG is ~40 MB); checked before reading it."""


def load_image(source: str | os.PathLike[str] | bytes | np.ndarray, max_side: int = DEFAULT_MAX_SIDE) -> LoadedImage:
    """Decode a file path, encoded bytes or an array into upright uint8 RGB."""
    if isinstance(source, np.ndarray):
        notes: list[str] = []
        rgb = array_to_rgb(source, notes)
        name = "<array>"
    else:
        from PIL import Image, ImageOps, UnidentifiedImageError

        if isinstance(source, (bytes, bytearray)):
            data, name = bytes(source), "<bytes>"
        else:
            path = Path(source)
            name = str(path)
            if not path.is_file():
                raise InvalidInputError(f"image not found: {path}")
            size = path.stat().st_size
            if size > MAX_IMAGE_BYTES:  # refused before reading: a 3 GB "photo" must not fill the RAM
                raise InvalidInputError(f"image file is {size / 2**20:.0f} MB, over the {MAX_IMAGE_BYTES // 2**20} MB limit: {name}")
            data = path.read_bytes()
        if not data:
            raise InvalidInputError(f"image file is empty: {name}")
        notes = []
        try:
            with pywarnings.catch_warnings():
                # Big camera files (up to Pillow's hard limit, ~178 MP) are fine: we downscale them.
                pywarnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(data))
                img.load()  # force the full decode now, so truncation fails here
                orientation = img.getexif().get(0x0112, 1)
                img = ImageOps.exif_transpose(img)
        except Image.DecompressionBombError as exc:
            raise InvalidInputError(f"image is too large to decode safely: {name} ({exc})") from exc
        except UnidentifiedImageError as exc:
            raise InvalidInputError(f"not a readable image: {name} ({type(exc).__name__})") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InvalidInputError(f"corrupt or truncated image: {name} ({exc})") from exc
        if orientation not in (1, None):
            notes.append(f"applied EXIF orientation {orientation}")
        rgb = _pil_to_rgb(img, notes)
    height, width = rgb.shape[:2]
    if height < 8 or width < 8:
        raise InvalidInputError(f"image is too small ({width}x{height}): {name}")
    if max(height, width) > max_side:
        rgb = downscale(rgb, max_side / max(height, width))
        notes.append(f"downscaled from {width}x{height} to {rgb.shape[1]}x{rgb.shape[0]}")
    return LoadedImage(np.ascontiguousarray(rgb), notes, (width, height), name)


def downscale(rgb: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    size = (max(1, int(round(w * factor))), max(1, int(round(h * factor))))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _pil_to_rgb(img, notes: list[str]) -> np.ndarray:
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        notes.append(f"composited {mode} alpha over white")
        return _composite(np.asarray(img.convert("RGBA")))
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        notes.append(f"converted {mode} (high bit depth grayscale) to 8-bit RGB")
        return array_to_rgb(np.asarray(img), [])
    if mode == "CMYK":
        notes.append("converted CMYK to RGB")
    elif mode in ("L", "1"):
        notes.append("converted grayscale to RGB")
    elif mode != "RGB":
        notes.append(f"converted {mode} to RGB")
    return np.asarray(img.convert("RGB"))


def _composite(rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    bg = np.array(ALPHA_BACKGROUND, np.float32)
    out = rgba[:, :, :3].astype(np.float32) * alpha + bg * (1.0 - alpha)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def array_to_rgb(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    """uint8/uint16/int/float arrays, gray [H, W] or [H, W, 1|3|4] -> uint8 [H, W, 3]."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InvalidInputError(f"expected an image array [H, W], [H, W, 3] or [H, W, 4], got shape {a.shape}")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating):
            finite = np.nan_to_num(a.astype(np.float32))
            scale = 255.0 if finite.max(initial=0) <= 1.0 else 1.0
            a = np.clip(finite * scale + 0.5, 0, 255).astype(np.uint8)
        elif np.issubdtype(a.dtype, np.integer):
            top = int(a.max(initial=0))
            shift = 8 if top > 255 and top <= 65535 else 0
            if top > 65535:  # 32-bit data: scale by its own range
                a = (a.astype(np.float64) * (255.0 / top)).round().astype(np.uint8)
            else:
                a = np.clip(a.astype(np.int64) >> shift, 0, 255).astype(np.uint8)
            if shift:
                notes.append("converted 16-bit to 8-bit")
        else:
            raise InvalidInputError(f"unsupported image dtype {a.dtype}")
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    if a.shape[2] == 4:
        notes.append("composited alpha over white")
        return _composite(a)
    return a


def save_png(rgb: np.ndarray, path: str | os.PathLike[str], transaction=None) -> None:
    """Write uint8 RGB as PNG atomically (temp file + rename, or staged in the caller's
    ``OutputTransaction``); the bytes depend only on the pixels."""
    from PIL import Image

    from vortex.media.atomic import atomic_output

    if transaction is not None:
        Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(transaction.stage_file(path), format="PNG")
        return
    with atomic_output(path) as tmp:
        Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(tmp, format="PNG")


def portrait_to_json(portrait) -> dict:
    """A ``Portrait``'s landmarks, box, mesh and details as plain JSON (image not included)."""
    return {
        "scheme": "ibug68",
        "size": portrait.size,
        "source": portrait.source,
        "landmarks": np.round(portrait.landmarks.astype(np.float64), 3).tolist(),
        "face_box": [round(float(v), 3) for v in portrait.face_box],
        "mesh": None if portrait.mesh is None else np.round(portrait.mesh.astype(np.float64), 3).tolist(),
        "details": portrait.details,
    }


def save_portrait(portrait, image_path: str | os.PathLike[str], landmarks_path: str | os.PathLike[str] | None = None) -> None:
    """PNG of the image, plus (optionally) the landmarks JSON, published together or not at all."""
    import json

    from vortex.media.transaction import OutputTransaction

    with OutputTransaction() as outputs:
        save_png(portrait.image, image_path, outputs)
        if landmarks_path is not None:
            text = json.dumps(portrait_to_json(portrait), indent=1) + "\n"
            outputs.stage_file(landmarks_path).write_text(text, encoding="utf-8")


def load_portrait(image_path: str | os.PathLike[str], landmarks_path: str | os.PathLike[str]):
    """Read back what ``save_portrait`` wrote (e.g. an actor cast earlier with ``vortex cast``)."""
    import json

    from vortex.actors.portrait import Portrait

    try:
        doc = json.loads(Path(landmarks_path).read_text(encoding="utf-8"))
        landmarks = np.asarray(doc["landmarks"], np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInputError(f"cannot read landmarks JSON {landmarks_path}: {exc}") from exc
    if landmarks.shape != (68, 2):
        raise InvalidInputError(f"{landmarks_path}: expected 68 landmarks, got shape {landmarks.shape}")
    rgb = load_image(image_path).rgb
    mesh = None if doc.get("mesh") is None else np.asarray(doc["mesh"], np.float32)
    return Portrait(image=rgb, landmarks=landmarks, face_box=tuple(doc["face_box"]), source=doc.get("source", "photo"),
                    mesh=mesh, details=doc.get("details", {}))
