"""Procedural actors: a prompt and a seed -> a deterministic cartoon portrait with exact landmarks.

Why skia-python: it is Chrome's 2D engine, so paths are anti-aliased analytically (no
supersampling pass), it has linear/radial gradients and blur mask filters for soft shading, and
it ships as a self-contained wheel with no system libraries (pycairo needs libcairo; Pillow has
no anti-aliased paths). Rendering on the CPU raster backend is deterministic: the same prompt
and seed give identical bytes.

Layout: ``traits`` reads the prompt, ``geometry`` places every curve and the 68 landmarks on a
512 reference canvas, ``face``/``costume``/``scenery`` paint the layers, this module composes
them and returns a ``Portrait``.
"""

from __future__ import annotations

import numpy as np
import skia

from vortex.actors.portrait import Portrait
from vortex.actors.procedural.costume import draw_body, draw_facial_hair, draw_glasses, draw_hair_back, draw_hair_front, draw_headwear
from vortex.actors.procedural.face import draw_brows, draw_ears, draw_eyes, draw_head, draw_mouth, draw_nose, draw_wrinkles, palette
from vortex.actors.procedural.geometry import REF, FaceGeometry, build_geometry
from vortex.actors.procedural.scenery import draw_background
from vortex.actors.procedural.traits import Traits, parse_prompt, rng_for
from vortex.errors import InvalidInputError

MIN_SIZE, MAX_SIZE = 64, 2048
# Framing: the character is designed on the 512 canvas, then zoomed about the centre and moved
# down a little so the face matches what the photo path's LivePortrait-style crop produces
# (forehead-to-chin about half the height, eyes just below the middle).
FRAME_ZOOM = 1.1
FRAME_DROP = 12.0

__all__ = ["ProceduralActor", "ProceduralCharacter", "Traits", "draw_portrait", "parse_prompt"]


class ProceduralCharacter:
    """A character's traits and face geometry; ``render(size)`` paints it at any square size."""

    def __init__(self, prompt: str, seed: int = 0) -> None:
        if not isinstance(prompt, str):
            raise InvalidInputError(f"prompt must be text, got {type(prompt).__name__}")
        self.prompt = prompt
        self.seed = int(seed)
        self.traits: Traits = parse_prompt(prompt, self.seed)
        self.geometry: FaceGeometry = build_geometry(self.traits)
        self.palette = palette(self.traits)

    def render(self, size: int = 512) -> Portrait:
        if not MIN_SIZE <= int(size) <= MAX_SIZE:
            raise InvalidInputError(f"size must be {MIN_SIZE}..{MAX_SIZE} pixels, got {size}")
        size = int(size)
        t, g, pal = self.traits, self.geometry, self.palette
        # A separate generator for scenery details so they never shift the character's traits.
        rng = rng_for(self.prompt + "\x00scenery", self.seed)
        pixels = np.zeros((size, size, 4), np.uint8)
        surface = skia.Surface(pixels, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)
        canvas = surface.getCanvas()
        canvas.scale(size / REF, size / REF)
        canvas.translate(REF / 2, REF / 2 + FRAME_DROP)
        canvas.scale(FRAME_ZOOM, FRAME_ZOOM)
        canvas.translate(-REF / 2, -REF / 2)
        draw_background(canvas, t.background, t.background_rgb, rng)
        draw_hair_back(canvas, g, t, pal, rng)
        draw_body(canvas, g, t, pal)
        draw_ears(canvas, g, t, pal)
        draw_head(canvas, g, t, pal)
        draw_wrinkles(canvas, g, t, pal)
        draw_facial_hair(canvas, g, t, pal)
        draw_nose(canvas, g, t, pal)
        draw_eyes(canvas, g, t, pal)
        draw_brows(canvas, g, t, pal)
        draw_mouth(canvas, g, t, pal)
        draw_facial_hair(canvas, g, t, pal, over_mouth=True)
        draw_hair_front(canvas, g, t, pal, rng)
        draw_glasses(canvas, g, t, pal)
        draw_headwear(canvas, g, t, pal, rng)
        del canvas, surface
        image = np.ascontiguousarray(pixels[:, :, :3])
        k = size / REF * FRAME_ZOOM  # lengths

        def place(points) -> np.ndarray:  # reference-canvas points -> output pixels
            pts = (np.asarray(points, np.float64) - REF / 2) * FRAME_ZOOM + np.array([REF / 2, REF / 2 + FRAME_DROP])
            return pts * (size / REF)

        landmarks = place(g.landmarks).astype(np.float32)
        x0, y0, x1, y1 = g.face_box
        (x0, y0), (x1, y1) = place([[x0, y0], [x1, y1]])
        eyes = [
            {"centre": place(e["centre"]).round(3).tolist(), "half_width": round(e["half_w"] * k, 3),
             "open_height": round(e["open_h"] * k, 3), "iris_radius": round(e["iris_r"] * k, 3)}
            for e in g.eyes
        ]
        details = {
            "prompt": self.prompt, "seed": self.seed, "traits": t.as_dict(),
            **{key: list(value) for key, value in pal.items()},
            "eyes": eyes,
            "mouth": {"seam_y": round(float(place([[0.0, g.mouth["seam_y"]]])[0, 1]), 3), "half_width": round(g.mouth["half_w"] * k, 3)},
            "lips_closed": True,
        }
        return Portrait(image=image, landmarks=landmarks, face_box=(float(x0), float(y0), float(x1), float(y1)),
                        source="procedural", mesh=None, details=details)


def draw_portrait(prompt: str, seed: int = 0, size: int = 512) -> Portrait:
    """Paint the character a prompt describes; same prompt + seed + size -> identical pixels.

    ``details`` carries the prompt, seed, parsed traits and the colours an animator needs
    (skin, lids, lips, mouth interior, teeth, tongue) plus eye and mouth geometry in pixels.
    """
    return ProceduralCharacter(prompt, seed).render(size)


class ProceduralActor:
    """The embedded prompt actor (``vortex.stages.Actor``): ``draw_portrait`` behind the interface
    every actor backend shares, so the pipeline and ``vortex cast`` treat it like Flux."""

    name = "procedural"

    def __call__(self, description: str, seed: int = 0, size: int | None = None) -> Portrait:
        return draw_portrait(description, seed=seed, size=512 if size is None else size)
