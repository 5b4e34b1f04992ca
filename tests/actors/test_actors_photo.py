"""Photo actors on a real photo (skimage's astronaut) and every kind of awkward input file."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from vortex.actors.face_mesh import FaceMeshDetector
from vortex.actors.images import load_image
from vortex.actors.photo import eye_centres, photo_actor
from vortex.errors import InvalidInputError


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def _eye_angle(points: np.ndarray) -> float:
    left, right = eye_centres(points)
    return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


def _check_aligned(p, size: int = 512) -> None:
    assert p.image.shape == (size, size, 3) and p.image.dtype == np.uint8
    assert p.mesh.shape == (478, 3) and p.landmarks.shape == (68, 2)
    assert abs(_eye_angle(p.mesh)) < 2.0
    # Face centred horizontally; eyes a little above the middle (LivePortrait framing).
    assert abs(p.landmarks[27:36, 0].mean() - size / 2) < 0.06 * size
    eyes_y = p.landmarks[36:48, 1].mean()
    assert 0.3 * size < eyes_y < 0.55 * size
    x0, y0, x1, y1 = p.face_box
    assert 0.3 < (y1 - y0) / size < 0.7


def test_astronaut_is_aligned_with_level_eyes(astronaut):
    with FaceMeshDetector() as detector:
        raw = _eye_angle(detector.detect(astronaut)[0].points)
    assert abs(raw) > 2.0  # the source photo is tilted, so levelling is really tested
    p = photo_actor(astronaut)
    _check_aligned(p)
    assert p.source == "photo" and p.details["landmarks_from"] == "redetected"
    # Landmarks agree with the mesh they were taken from, and sit in the frame.
    assert np.all((p.landmarks > 0) & (p.landmarks < 512))


def test_sizes(astronaut):
    p = photo_actor(astronaut, size=256)
    _check_aligned(p, 256)
    for bad in (100, 2000):
        with pytest.raises(InvalidInputError, match="256..1024"):
            photo_actor(astronaut, size=bad)


def test_no_face_is_a_clear_error():
    ramp = np.linspace(0, 255, 512, dtype=np.float32)
    gradient = np.stack([np.tile(ramp, (512, 1)), np.tile(ramp[:, None], (1, 512)), np.full((512, 512), 128.0)], 2).astype(np.uint8)
    with pytest.raises(InvalidInputError, match="no face"):
        photo_actor(gradient)


def test_several_faces_take_the_largest_with_a_warning(astronaut):
    small = cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 900, 3), 200, np.uint8)
    canvas[:, :512] = astronaut
    canvas[96:416, 560:880] = small
    p = photo_actor(canvas)
    assert p.details["faces_found"] >= 2
    assert any("faces found" in w for w in p.details["warnings"])
    assert any("faces found" in w for w in p.warnings)  # the typed field a slot reports
    assert p.details["crop"]["centre"][0] < 512  # the big face on the left
    _check_aligned(p)


def test_tiny_face_is_refused(astronaut):
    tiny = cv2.resize(astronaut, (200, 200), interpolation=cv2.INTER_AREA)  # face ~40 px tall
    with pytest.raises(InvalidInputError, match="too small"):
        photo_actor(tiny)


def test_huge_image_is_downscaled_first(astronaut, tmp_path):
    huge = cv2.resize(astronaut, (6000, 6000), interpolation=cv2.INTER_LINEAR)
    path = tmp_path / "huge.jpg"
    Image.fromarray(huge).save(path, quality=80)
    p = photo_actor(path)
    assert any("downscaled from 6000x6000" in w for w in p.details["warnings"])
    _check_aligned(p)


@pytest.mark.parametrize("payload", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + bytes(100)])
def test_unreadable_files_are_clear_errors(tmp_path, payload):
    path = tmp_path / "broken.png"
    path.write_bytes(payload)
    with pytest.raises(InvalidInputError):
        photo_actor(path)


def test_truncated_jpeg_is_a_clear_error(astronaut, tmp_path):
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(InvalidInputError, match="corrupt|truncated|readable"):
        photo_actor(path)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidInputError, match="not found"):
        photo_actor(tmp_path / "nope.jpg")


def test_grayscale_photo(astronaut, tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(astronaut).convert("L").save(path)
    p = photo_actor(path)
    _check_aligned(p)
    assert np.array_equal(p.image[..., 0], p.image[..., 1]) and np.array_equal(p.image[..., 1], p.image[..., 2])


def test_rgba_composited_over_white(astronaut, tmp_path):
    rgba = np.dstack([astronaut, np.full((512, 512), 255, np.uint8)])
    rgba[:40, :, 3] = 0  # a transparent band at the top
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    loaded = load_image(path)
    assert (loaded.rgb[:40] == 255).all()
    assert any("alpha" in w for w in loaded.warnings)
    _check_aligned(photo_actor(path))


def test_cmyk_jpeg(astronaut, tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(astronaut).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    loaded = load_image(path)
    assert any("CMYK" in w for w in loaded.warnings)
    assert np.abs(loaded.rgb.astype(int) - astronaut.astype(int)).mean() < 20
    _check_aligned(photo_actor(path))


def test_exif_rotated_jpeg_is_turned_upright(astronaut, tmp_path):
    stored = np.ascontiguousarray(np.rot90(astronaut, 1))  # sideways, as a phone stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes())
    loaded = load_image(path)
    assert loaded.rgb.shape == astronaut.shape
    assert np.abs(loaded.rgb.astype(int) - astronaut.astype(int)).mean() < 8
    p = photo_actor(path)
    _check_aligned(p)


def test_sixteen_bit_and_webp(astronaut, tmp_path):
    gray16 = np.asarray(Image.fromarray(astronaut).convert("L")).astype(np.uint16) * 257
    path16 = tmp_path / "deep.png"
    Image.fromarray(gray16).save(path16)
    loaded = load_image(path16)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.max() > 200  # scaled, not clipped to white
    _check_aligned(photo_actor(path16))
    webp = tmp_path / "a.webp"
    Image.fromarray(astronaut).save(webp, quality=90)
    _check_aligned(photo_actor(webp))


def test_array_inputs_of_other_dtypes(astronaut):
    as_float = astronaut.astype(np.float32) / 255.0
    _check_aligned(photo_actor(as_float))
    with pytest.raises(InvalidInputError):
        photo_actor(np.zeros((10, 10, 7), np.uint8))


def test_strongly_tilted_head_is_levelled(astronaut):
    centre = (256.0, 150.0)
    tilted = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D(centre, 20.0, 1.0), (512, 512), borderMode=cv2.BORDER_REFLECT_101)
    p = photo_actor(tilted)
    assert abs(p.details["crop"]["angle_deg"]) > 15  # it really had to rotate
    _check_aligned(p)
