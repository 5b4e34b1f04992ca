"""The face layers animation moves or reads: head and skin shading, eyes with lids, brows, nose, lips.

Each layer draws exactly the curves in ``FaceGeometry``, so the landmarks sit on the pixels.
Shading (a soft radial gradient, a nose shadow, lip highlights) is there for two reasons: it
reads better, and it gives mediapipe's face mesh the light-and-shadow cues it was trained on.
"""

from __future__ import annotations

import numpy as np
import skia

from vortex.actors.procedural.geometry import CX, EYE_Y, FaceGeometry
from vortex.actors.procedural.paint import INK, fill, mix, oval, path, radial, shade, smooth_path, stroke
from vortex.actors.procedural.traits import Traits

OUTLINE_W = 4.0


def palette(t: Traits) -> dict:
    """Colours derived from the skin; the animator gets these to paint lids, mouth interior and teeth."""
    skin = t.skin_rgb
    if t.species == "robot":
        lip = (120, 96, 104)
        interior = (40, 30, 36)
    elif t.species == "alien":
        lip = mix(shade(skin, 0.55), (140, 40, 80), 0.5)
        interior = (70, 20, 45)
    else:
        # Lips must stand out from the skin for every tone (people and the face mesh both need
        # to see them): rosy on light skin, deeper rose on brown, lighter rose on dark skin.
        lum = sum(skin) / 3
        if lum > 150:
            lip = mix(shade(skin, 0.8), (196, 86, 92), 0.55)
        elif lum > 95:
            lip = mix(skin, (90, 30, 45), 0.5)
        else:
            lip = mix(skin, (200, 90, 110), 0.6)
        interior = (88, 24, 32)
    return {
        "skin_rgb": skin, "skin_shadow_rgb": shade(skin, 0.78), "skin_light_rgb": shade(skin, 1.12),
        "outline_rgb": INK if t.species != "robot" else (36, 40, 48),
        "lip_rgb": lip, "lip_upper_rgb": shade(lip, 0.86), "lip_lower_rgb": lip,
        "mouth_interior_rgb": interior, "teeth_rgb": (246, 244, 236) if t.species != "robot" else (210, 216, 222),
        "tongue_rgb": (205, 90, 100), "sclera_rgb": (250, 250, 246), "iris_rgb": t.iris_rgb,
        "pupil_rgb": (18, 16, 20), "lid_rgb": shade(skin, 0.92), "brow_rgb": _brow_colour(t),
    }


def _brow_colour(t: Traits):
    if t.species == "robot":
        return (60, 64, 72)
    if t.hair_style == "bald" and t.species == "alien":
        return shade(t.skin_rgb, 0.45)
    return shade(t.hair_rgb, 0.7) if sum(t.hair_rgb) > 450 else shade(t.hair_rgb, 0.85)


def draw_ears(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> None:
    x0, x1 = g.jaw[0, 0], g.jaw[-1, 0]
    h = 46 * t.ear_scale
    w = 22 * t.ear_scale
    for side, x in ((-1, x0), (1, x1)):
        if t.species == "robot":
            bolt = skia.RRect.MakeRectXY(skia.Rect.MakeLTRB(x - 14 if side < 0 else x - 6, g.ear_y - 22, x + 6 if side < 0 else x + 14, g.ear_y + 24), 5, 5)
            fill(canvas, bolt, shade(pal["skin_rgb"], 0.75))
            stroke(canvas, bolt, pal["outline_rgb"], 3)
            continue
        cx = x + side * w * 0.35
        ear = oval(cx - w * 0.6, g.ear_y - h * 0.35, cx + w * 0.6, g.ear_y + h * 0.65)
        if t.species == "alien":  # pointed alien ears
            tip = (x + side * w * 1.6, g.ear_y - h * 0.55)
            ear = path([(x, g.ear_y - h * 0.2), tip, (x + side * w * 0.8, g.ear_y + h * 0.5), (x, g.ear_y + h * 0.55)])
        fill(canvas, ear, pal["skin_rgb"])
        stroke(canvas, ear, pal["outline_rgb"], OUTLINE_W * 0.8)
        inner = oval(cx - w * 0.25, g.ear_y - h * 0.1, cx + w * 0.25, g.ear_y + h * 0.4)
        fill(canvas, inner, pal["skin_shadow_rgb"], alpha=200)


def draw_head(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> skia.Path:
    head = smooth_path(g.outline[::4])
    skin = pal["skin_rgb"]
    light = shade(skin, 1.1)
    dark = shade(skin, 0.74)
    fill(canvas, head, skin, shader=radial((CX - 18, EYE_Y + 10), 190, [light, skin, dark], [0.0, 0.6, 1.0]))
    canvas.save()
    canvas.clipPath(head, skia.ClipOp.kIntersect, True)
    # Side shadows give the head volume; a cheek blush reads as "face" to people and detectors.
    fill(canvas, oval(CX + 70, EYE_Y - 40, CX + 190, g.jaw[:, 1].max() + 10), dark, alpha=70, blur=18)
    blush = mix(skin, (230, 110, 110), 0.5) if t.species == "human" else shade(skin, 0.9)
    for sx in (-1, 1):
        fill(canvas, (CX + sx * 62, EYE_Y + 52, 20), blush, alpha=70, blur=9)
    if t.species == "robot":
        _robot_panels(canvas, g, pal)
    if t.freckles:
        dots = np.random.default_rng(int(t.face_half_width * 1e6) % 2**32)
        for sx in (-1, 1):
            for _ in range(9):
                x = CX + sx * (58 + dots.normal(0, 10))
                y = EYE_Y + 36 + dots.normal(0, 7)
                fill(canvas, (x, y, dots.uniform(1.2, 2.0)), shade(skin, 0.68), alpha=190)
    canvas.restore()
    stroke(canvas, head, pal["outline_rgb"], OUTLINE_W)
    return head


def _robot_panels(canvas, g: FaceGeometry, pal: dict) -> None:
    line = shade(pal["skin_rgb"], 0.62)
    top = g.crown_top
    stroke(canvas, path([(g.jaw[0, 0], EYE_Y - 62), (g.jaw[-1, 0], EYE_Y - 62)], close=False), line, 2.5)
    stroke(canvas, path([(CX, top), (CX, EYE_Y - 62)], close=False), line, 2.5)
    for x in np.linspace(CX - 80, CX + 80, 6):
        fill(canvas, (float(x), EYE_Y - 72, 3.5), shade(pal["skin_rgb"], 1.25))
        stroke(canvas, (float(x), EYE_Y - 72, 3.5), line, 1.5)
    for x in (g.jaw[20, 0] + 8, g.jaw[-21, 0] - 8):
        fill(canvas, (float(x), g.jaw[20, 1] + 8, 3.5), shade(pal["skin_rgb"], 1.25))


def draw_wrinkles(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> None:
    if t.age != "old" and t.age != "middle":
        return
    c = shade(pal["skin_rgb"], 0.62)
    alpha = 200 if t.age == "old" else 110
    rows = (0, 1, 2) if t.age == "old" else (0,)
    for k in rows:  # forehead lines
        y = g.brows[0][2, 1] - 22 - 9 * k
        stroke(canvas, smooth_path(np.array([[CX - 48 + 6 * k, y + 3], [CX, y - 2], [CX + 48 - 6 * k, y + 3]]), close=False), c, 2.2, alpha)
    if t.age == "old":
        for eye, side in ((g.eyes[0], -1), (g.eyes[1], 1)):  # crow's feet
            ox = eye["centre"][0] + side * (eye["half_w"] + 5)
            for dy in (-6, 0, 6):
                stroke(canvas, path([(ox, EYE_Y + dy * 0.4), (ox + side * 10, EYE_Y + dy * 1.4)], close=False), c, 1.8, alpha)
            under = eye["lower"][8:-8] + np.array([0, 8])
            stroke(canvas, smooth_path(under[::4], close=False), c, 1.6, 140)
        m = g.mouth
        for side in (-1, 1):  # nasolabial folds
            nx = CX + side * (g.nose["half_w"] + 8)
            stroke(canvas, smooth_path(np.array([[nx, g.nose["base_y"] - 14], [nx + side * 10, m["seam_y"] - 10], [CX + side * (m["half_w"] + 8), m["seam_y"] + 10]]), close=False), c, 2.2, alpha)


def draw_eyes(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> None:
    for eye in g.eyes:
        # Soft eye sockets: the dark-eyes-over-light-cheeks pattern face detectors look for first.
        ex, ey = eye["centre"]
        hw, oh = eye["half_w"], eye["open_h"]
        fill(canvas, oval(ex - hw * 1.35, ey - oh * 1.2, ex + hw * 1.35, ey + oh * 0.75), shade(pal["skin_rgb"], 0.55), alpha=110, blur=7)
        almond = path(np.concatenate([eye["upper"], eye["lower"][::-1]]))
        # Socket shadow above the eye and a lid crease: the "eye with lid" look.
        crease = eye["upper"][6:-6] + np.array([0, -eye["open_h"] * 0.32])
        fill(canvas, path(np.concatenate([eye["upper"], crease[::-1]])), pal["lid_rgb"], alpha=255)
        stroke(canvas, smooth_path(crease[::5], close=False), shade(pal["skin_rgb"], 0.66), 2.0, 200)
        fill(canvas, almond, pal["sclera_rgb"])
        canvas.save()
        canvas.clipPath(almond, skia.ClipOp.kIntersect, True)
        ix, iy = eye["iris"]
        fill(canvas, (ix, iy, eye["iris_r"]), pal["iris_rgb"], shader=radial((ix, iy), eye["iris_r"], [shade(pal["iris_rgb"], 1.25), pal["iris_rgb"], shade(pal["iris_rgb"], 0.6)], [0, 0.7, 1]))
        stroke(canvas, (ix, iy, eye["iris_r"]), shade(pal["iris_rgb"], 0.45), 1.6)
        fill(canvas, (ix, iy, eye["pupil_r"]), pal["pupil_rgb"])
        fill(canvas, (ix - eye["iris_r"] * 0.35, iy - eye["iris_r"] * 0.35, eye["pupil_r"] * 0.55), (255, 255, 255), alpha=235)
        # Shadow of the upper lid on the eyeball.
        fill(canvas, path(np.concatenate([eye["upper"], eye["upper"][::-1] + np.array([0, 5])])), (60, 40, 40), alpha=70, blur=2)
        canvas.restore()
        stroke(canvas, smooth_path(eye["upper"][::4], close=False), pal["outline_rgb"], 4.2)
        stroke(canvas, smooth_path(eye["lower"][::4], close=False), pal["outline_rgb"], 1.8, 220)


def draw_brows(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> None:
    for brow in g.brows:
        stroke(canvas, smooth_path(brow, close=False), pal["brow_rgb"], t.brow_thickness)
        stroke(canvas, smooth_path(brow, close=False), shade(pal["brow_rgb"], 0.7), t.brow_thickness * 0.35, 120)


def draw_nose(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> None:
    n = g.nose
    tip_x, tip_y = n["tip"]
    hw = n["half_w"]
    base = n["base_y"]
    dark = pal["skin_shadow_rgb"]
    # Soft shadow down the shaded side and under the tip.
    fill(canvas, path([(CX + 4, EYE_Y - 4), (CX + 12, EYE_Y - 4), (CX + hw * 0.8, tip_y), (CX + 4, tip_y)]), dark, alpha=120, blur=5)
    fill(canvas, oval(CX - hw * 0.9, base - 2, CX + hw * 0.9, base + 9), dark, alpha=170, blur=4)
    shadow_line = shade(pal["skin_rgb"], 0.6)
    if t.nose_kind == "long":  # a long hooked line, the mad-scientist nose
        hook = np.array([[CX + 5, EYE_Y - 6], [CX + hw * 0.45, tip_y - 22], [CX + hw * 0.75, tip_y - 2],
                         [CX + hw * 0.3, tip_y + 6], [CX - hw * 0.2, tip_y + 4]])
        fill(canvas, oval(CX - hw * 0.5, tip_y - 12, CX + hw * 0.6, base + 1), shade(pal["skin_rgb"], 1.05))
        stroke(canvas, smooth_path(hook, close=False), pal["outline_rgb"], 2.8, 230)
    elif t.nose_kind == "bulb":  # a round bulb tip
        side = np.array([[CX + 7, EYE_Y + 2], [CX + 9, tip_y - 22]])
        stroke(canvas, smooth_path(side, close=False), shadow_line, 2.6, 220)
        r = hw * 0.62
        fill(canvas, (CX, tip_y - 3, r), shade(pal["skin_rgb"], 1.04),
             shader=radial((CX - r * 0.3, tip_y - r * 0.5), r * 1.3, [shade(pal["skin_rgb"], 1.12), shade(pal["skin_rgb"], 0.9)]))
        arc = np.array([[CX - r * 0.95, tip_y - 2], [CX - r * 0.5, tip_y + r * 0.8], [CX + r * 0.5, tip_y + r * 0.8], [CX + r * 0.95, tip_y - 2]])
        stroke(canvas, smooth_path(arc, close=False), pal["outline_rgb"], 2.4, 200)
    else:  # button: one side of the bridge and a round tip
        side = np.array([[CX + 7, EYE_Y + 2], [CX + 9, tip_y - 20], [CX + hw * 0.55, tip_y - 6]])
        stroke(canvas, smooth_path(side, close=False), shadow_line, 2.6, 220)
        fill(canvas, oval(CX - hw * 0.55, tip_y - 11, CX + hw * 0.55, base + 1), shade(pal["skin_rgb"], 1.06))
    fill(canvas, (CX - hw * 0.1, tip_y - 5, hw * 0.18), (255, 255, 255), alpha=90, blur=2)
    wing = np.array([[CX - hw, base - 10], [CX - hw * 1.05, base - 2], [CX - hw * 0.55, base + 1], [CX - hw * 0.2, base + 2]])
    for sx in (1, -1):
        w = wing.copy()
        w[:, 0] = CX + sx * (w[:, 0] - CX)
        stroke(canvas, smooth_path(w, close=False), pal["outline_rgb"], 2.6, 230)
        fill(canvas, oval(CX + sx * hw * 0.48 - 4.5, base - 4, CX + sx * hw * 0.48 + 4.5, base + 1), shade(pal["skin_rgb"], 0.45), alpha=210)


def draw_mouth(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> None:
    m = g.mouth
    upper = path(np.concatenate([m["upper"], m["seam"][::-1]]))
    lower = path(np.concatenate([m["seam"], m["lower"][::-1]]))
    # A soft shadow under the lower lip separates lip from chin.
    fill(canvas, oval(CX - m["half_w"] * 0.6, m["lower"][24, 1] - 2, CX + m["half_w"] * 0.6, m["lower"][24, 1] + 9), pal["skin_shadow_rgb"], alpha=160, blur=4)
    fill(canvas, lower, pal["lip_lower_rgb"], shader=radial((CX, m["seam_y"] + 6), m["half_w"], [pal["lip_lower_rgb"], pal["lip_lower_rgb"], shade(pal["lip_lower_rgb"], 0.8)], [0, 0.6, 1]))
    fill(canvas, upper, pal["lip_upper_rgb"])
    hx = CX + m["half_w"] * 0.3  # a small off-centre gloss, so the lip keeps its colour where the landmarks are
    fill(canvas, oval(hx - m["half_w"] * 0.16, m["seam_y"] + 4, hx + m["half_w"] * 0.16, m["seam_y"] + 7), (255, 255, 255), alpha=70, blur=1.5)
    outline = path(np.concatenate([m["upper"], m["lower"][::-1]]))
    stroke(canvas, outline, shade(pal["lip_rgb"], 0.55), 1.8, 200)
    stroke(canvas, smooth_path(m["seam"][::4], close=False), pal["mouth_interior_rgb"], 2.6)
