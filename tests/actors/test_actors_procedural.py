"""Procedural portraits: determinism, prompt words steer what they name, landmarks sit on the drawn
features, and mediapipe's face mesh (an independent detector) sees the same face we say we drew."""

from __future__ import annotations

import numpy as np
import pytest

from vortex.actors.face_mesh import FaceMeshDetector
from vortex.actors.procedural import draw_portrait, parse_prompt
from vortex.errors import InvalidInputError


@pytest.fixture(scope="module")
def detector():
    with FaceMeshDetector(max_faces=1) as det:
        yield det


def _cheeks(p) -> np.ndarray:
    """Pixels halfway between the jaw (points 3/13) and the nose wings (31/35): plain cheek skin."""
    lm = p.landmarks
    pts = [(lm[3] + lm[31]) / 2, (lm[13] + lm[35]) / 2]
    return np.array([p.image[int(y), int(x)].astype(int) for x, y in pts])


def _corners(p) -> np.ndarray:
    s = p.size
    return np.array([p.image[y, x].astype(int) for y in (3, s - 4) for x in (3, s - 4)][:2])  # top corners


def test_same_prompt_and_seed_give_identical_bytes():
    a = draw_portrait("old scientist with spiky grey hair in a lab coat", seed=3)
    b = draw_portrait("old scientist with spiky grey hair in a lab coat", seed=3)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.landmarks.tobytes() == b.landmarks.tobytes()
    assert a.details == b.details


def test_prompts_and_seeds_give_visibly_different_characters():
    images = [draw_portrait("a character", seed=s, size=256).image for s in range(8)]
    images += [draw_portrait(p, size=256).image for p in ("robot", "green alien", "old man with a beard", "woman with long hair")]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            diff = np.abs(images[i].astype(int) - images[j].astype(int)).mean()
            assert diff > 8, (i, j, diff)


def test_unknown_words_still_vary_the_result():
    a = draw_portrait("a character named Zorblax", size=256)
    b = draw_portrait("a character named Glimbo", size=256)
    assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() > 8
    assert "zorblax" in a.details["traits"]["unknown_words"]


def test_output_contract_and_details():
    p = draw_portrait("blue alien with antennae", seed=1)
    assert p.image.shape == (512, 512, 3) and p.image.dtype == np.uint8
    assert p.landmarks.shape == (68, 2) and p.landmarks.dtype == np.float32
    assert p.source == "procedural" and p.mesh is None
    for key in ("prompt", "seed", "traits", "skin_rgb", "lip_rgb", "mouth_interior_rgb", "teeth_rgb", "lid_rgb", "eyes", "mouth"):
        assert key in p.details, key
    x0, y0, x1, y1 = p.face_box
    assert x0 < p.landmarks[:, 0].min() + 1 and x1 > p.landmarks[:, 0].max() - 1 and y1 >= p.landmarks[:, 1].max() - 1
    # Closed lips at rest: inner upper and lower lip landmarks coincide.
    assert np.allclose(p.landmarks[61:64], p.landmarks[65:68][::-1])
    # Roughly centred, LivePortrait-like framing: the face spans about half the image height.
    height = (p.landmarks[8, 1] - p.landmarks[19, 1]) / p.size
    assert 0.3 < height < 0.45
    assert abs(p.landmarks[:, 0].mean() - p.size / 2) < 0.03 * p.size


def test_sizes_scale_landmarks_exactly():
    small = draw_portrait("man in a suit", size=256)
    large = draw_portrait("man in a suit", size=1024)
    assert small.image.shape == (256, 256, 3) and large.image.shape == (1024, 1024, 3)
    assert np.allclose(small.landmarks * 4, large.landmarks, atol=1e-3)
    with pytest.raises(InvalidInputError):
        draw_portrait("man", size=10)


@pytest.mark.parametrize("prompt,check", [
    ("alien green", lambda c: (c[:, 1] > c[:, 0] + 25).all() and (c[:, 1] > c[:, 2] + 25).all()),
    ("blue skinned alien", lambda c: (c[:, 2] > c[:, 0] + 40).all()),
    ("purple alien", lambda c: (c[:, 2] > c[:, 1] + 30).all() and (c[:, 0] > c[:, 1] + 15).all()),
    ("robot", lambda c: (c.max(1) - c.min(1) < 30).all()),
    ("pale man", lambda c: (c.min(1) > 170).all()),
    ("dark skinned man", lambda c: (c.max(1) < 150).all()),
])
def test_skin_words_change_the_cheek_colour(prompt, check):
    for seed in range(2):
        cheeks = _cheeks(draw_portrait(prompt, seed=seed))
        assert check(cheeks), (prompt, seed, cheeks.tolist())


def test_background_words_change_the_corners():
    space = _corners(draw_portrait("man, space"))
    desert = _corners(draw_portrait("man, desert"))
    red = _corners(draw_portrait("man, red background"))
    assert space.mean() < 70
    assert (desert[:, 0] > desert[:, 2] + 40).all()
    assert (red[:, 0] > red[:, 1] + 60).all()


def test_hair_and_clothing_words_are_read():
    t = parse_prompt("young woman with long blue hair in a red t-shirt, city")
    assert (t.hair_style, t.clothing, t.background, t.age) == ("long", "tshirt", "city", "young")
    assert t.hair_rgb[2] > t.hair_rgb[0] and t.clothing_rgb[0] > t.clothing_rgb[2]
    assert t.facial_hair == "none"
    t = parse_prompt("old bald robot with goggles and a top hat in a uniform, laboratory")
    assert (t.species, t.age, t.hair_style, t.glasses, t.headwear, t.clothing, t.background) == (
        "robot", "old", "bald", "goggles", "tophat", "uniform", "laboratory")
    t = parse_prompt("blue-haired green-skinned middle-aged creature")  # hyphenated compounds
    assert t.hair_rgb[2] > t.hair_rgb[0] + 80 and t.skin_rgb[1] > t.skin_rgb[0] + 40 and t.age == "middle"
    t = parse_prompt("bearded man with a mustache")  # the first facial-hair word wins
    assert t.facial_hair == "beard"
    p = draw_portrait("man with blue spiky hair")
    x = int(p.size / 2)
    y = int(p.landmarks[19, 1] - 0.13 * p.size)  # above the brows, below the crown: hair
    r, g, b = p.image[y, x].astype(int)
    assert b > r + 40, (r, g, b)


def test_lip_and_eye_landmarks_lie_on_the_drawn_features():
    for prompt in ("man", "dark skinned man", "brown skinned woman", "green alien", "robot", "old woman with glasses", "man with a beard"):
        p = draw_portrait(prompt, seed=2)
        lm, img = p.landmarks, p.image.astype(int)
        lip = np.array(p.details["lip_rgb"])
        skin = np.array(p.details["skin_rgb"])
        # Middle of the upper lip (between outer 51 and inner 62) and of the lower lip (57, 66).
        for a, b in ((51, 62), (57, 66), (50, 61), (52, 63)):
            x, y = ((lm[a] + lm[b]) / 2).round().astype(int)
            px = img[y, x]
            assert np.abs(px - lip).sum() < np.abs(px - skin).sum(), (prompt, a, b, px, lip, skin)
            assert np.abs(px - lip).max() < 60, (prompt, a, b, px, lip)
        # Eye centres (mean of the six lid/corner points) are on the eye (iris or pupil), not skin.
        for start in (36, 42):
            x, y = lm[start:start + 6].mean(0).round().astype(int)
            assert np.abs(img[y, x] - skin).max() > 60, (prompt, start, img[y, x], skin)
        # Eye corners sit on the dark lash line.
        for k in (36, 39, 42, 45):
            x, y = lm[k].round().astype(int)
            patch = img[y - 2:y + 3, x - 2:x + 3].sum(2)
            assert patch.min() < 250, (prompt, k)


PROMPTS_FOR_MESH = [
    "old scientist with spiky grey hair in a lab coat, laboratory",
    "green alien with antennae in space",
    "robot in a uniform, city",
    "young woman with long red hair, desert",
    "purple alien with glasses and a top hat, studio",
    "man with a beard and a beanie in a hoodie",
    "bald man with a mustache in a suit",
    "dark skinned woman with an afro, yellow background",
]


@pytest.mark.parametrize("prompt", PROMPTS_FOR_MESH)
def test_mediapipe_finds_the_face_where_we_drew_it(detector, prompt):
    p = draw_portrait(prompt, seed=1)
    faces = detector.detect(p.image)
    assert faces, f"mediapipe found no face for {prompt!r}"
    mesh = faces[0]
    ours = p.landmarks
    theirs = mesh.ibug68
    scale = float(ours[8, 1] - ours[27, 1])  # nose root to chin
    err = np.linalg.norm(theirs - ours, axis=1) / scale
    assert err[36:48].mean() < 0.06, ("eyes", err[36:48].mean())
    assert err[48:68].mean() < 0.06, ("mouth", err[48:68].mean())
    assert err[27:36].mean() < 0.07, ("nose", err[27:36].mean())
    assert err[17:27].mean() < 0.10, ("brows", err[17:27].mean())
    assert err[0:17].mean() < 0.12, ("jaw", err[0:17].mean())
    # It reads the drawn lips as closed and the eyes as open.
    assert mesh.mouth_aperture < 0.02
    assert mesh.eye_aperture > 0.03
    assert 0.38 < mesh.face_height / p.size < 0.62


def test_mediapipe_sees_random_characters(detector):
    """Seeds pick every trait the prompt leaves open; nearly all of them must stay detectable."""
    found = closed = 0
    for seed in range(16):
        faces = detector.detect(draw_portrait("a random citizen of dimension C-137", seed=seed).image)
        if faces:
            found += 1
            closed += faces[0].mouth_aperture < 0.02
    assert found >= 15 and closed == found, (found, closed)
