"""What the character wears and grows: body and clothing, hair, facial hair, glasses, hats, antennae.

None of these cover the eyes, brows or lips (the hairline stays above the brows, moustaches
stop above the upper lip, beards leave the lips clear), so the face stays readable to people
and to the face mesh that measures lip sync.
"""

from __future__ import annotations

import numpy as np
import skia

from vortex.actors.procedural.geometry import CX, EYE_Y, FaceGeometry
from vortex.actors.procedural.paint import INK, fill, linear, mix, oval, path, radial, shade, smooth_path, stroke
from vortex.actors.procedural.traits import Traits

LINE = 3.5


def _hair_fill(canvas, shape, t: Traits, top: float = 60.0, bottom: float = 260.0) -> None:
    c = t.hair_rgb
    fill(canvas, shape, c, shader=linear((0, top), (0, bottom), [shade(c, 1.15), c, shade(c, 0.8)], [0, 0.5, 1]))
    stroke(canvas, shape, INK, LINE)


def _hairline(g: FaceGeometry, t: Traits, y_mid: float) -> np.ndarray:
    a = float(np.abs(g.jaw[:, 0] - CX).max())
    return np.array([
        [CX - a * 1.0, EYE_Y - 6], [CX - a * 0.88, 172], [CX - a * 0.55, y_mid + 8], [CX - 10, y_mid],
        [CX + a * 0.4, y_mid + 4], [CX + a * 0.85, 168], [CX + a * 1.0, EYE_Y - 6],
    ])


def _cap_shape(g: FaceGeometry, t: Traits, y_mid: float, puff: float = 1.06, lift: float = 0.0) -> skia.Path:
    """Hair over the cranium down to a hairline; ``lift`` raises a quiff over the front-right."""
    a = float(np.abs(g.jaw[:, 0] - CX).max())
    top = g.crown_top
    ts = np.linspace(0.0, -np.pi, 40)
    arc = np.stack([CX + a * puff * np.cos(ts), EYE_Y - 4 + (EYE_Y - 4 - top) * 1.04 * np.sin(ts) - 2], axis=1)
    if lift:
        arc[:, 1] -= lift * np.exp(-(((ts + np.pi * 0.42) / 0.55) ** 2))
    line = _hairline(g, t, y_mid)
    return smooth_path(np.concatenate([arc[::3], line[1:-1]]))


def draw_hair_back(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict, rng: np.random.Generator) -> None:
    style = t.hair_style
    a = float(np.abs(g.jaw[:, 0] - CX).max())
    top = g.crown_top
    if style == "long":
        shape = smooth_path(np.array([[CX - a - 28, 470], [CX - a - 34, 250], [CX - a * 0.7, top - 4], [CX, top - 14],
                                      [CX + a * 0.7, top - 4], [CX + a + 34, 250], [CX + a + 28, 470], [CX, 480]]))
        _hair_fill(canvas, shape, t, top, 470)
    elif style == "bob":
        shape = smooth_path(np.array([[CX - a - 22, 350], [CX - a - 26, 230], [CX - a * 0.7, top - 4], [CX, top - 12],
                                      [CX + a * 0.7, top - 4], [CX + a + 26, 230], [CX + a + 22, 350], [CX, 360]]))
        _hair_fill(canvas, shape, t, top, 350)
    elif style == "afro":
        _hair_fill(canvas, (CX, top + 70, a + 58), t, top - 60, 330)
        for ang in np.linspace(0, 2 * np.pi, 22, endpoint=False):
            fill(canvas, (CX + (a + 50) * np.cos(ang), top + 70 + (a + 50) * np.sin(ang), 16), shade(t.hair_rgb, 1.08), alpha=120)
    elif style == "curly":
        for ang in np.linspace(np.pi * 0.95, np.pi * 2.05, 13):
            x, y = CX + (a + 10) * np.cos(ang), EYE_Y - 20 + (EYE_Y - top + 10) * np.sin(ang)
            _hair_fill(canvas, (x, y, 26), t, top, 260)
    elif style == "spiky":
        n = 11
        pts = []
        for i in range(n * 2 + 1):
            ang = np.pi + np.pi * i / (n * 2)
            r = (a + 62 + rng.uniform(-12, 12)) if i % 2 == 1 else a + 5
            pts.append([CX + r * np.cos(ang) * 1.02, EYE_Y - 10 + r * 1.18 * np.sin(ang)])
        _hair_fill(canvas, path(pts), t, top - 60, 250)
    elif style == "bun":
        _hair_fill(canvas, (CX, top - 16, 34), t, top - 50, top + 20)


def draw_hair_front(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict, rng: np.random.Generator) -> None:
    style = t.hair_style
    a = float(np.abs(g.jaw[:, 0] - CX).max())
    top = g.crown_top
    c = t.hair_rgb
    if style == "bald":
        if t.age == "old" and t.species == "human":  # side tufts
            for sx in (-1, 1):
                tuft = smooth_path(np.array([[CX + sx * a * 0.98, EYE_Y - 2], [CX + sx * (a + 16), EYE_Y - 40],
                                             [CX + sx * (a + 6), EYE_Y - 74], [CX + sx * a * 0.86, EYE_Y - 40]]))
                _hair_fill(canvas, tuft, t)
        return
    if style == "mohawk":
        fill(canvas, _cap_shape(g, t, 150, 1.0), c, alpha=70)
        # A crest from the crown to the hairline, never down the forehead.
        shape = smooth_path(np.array([[CX - 16, top + 46], [CX - 34, top - 10], [CX - 10, top - 62], [CX + 14, top - 70],
                                      [CX + 26, top - 20], [CX + 16, top + 46], [CX, top + 52]]))
        _hair_fill(canvas, shape, t, top - 70, top + 50)
        return
    y_mid = {"short": 150, "spiky": 160, "long": 148, "curly": 150, "afro": 152, "bun": 142, "bob": 168, "pompadour": 150}[style]
    cap = _cap_shape(g, t, y_mid, 1.07, lift=46.0 if style == "pompadour" else 0.0)
    _hair_fill(canvas, cap, t, top, y_mid + 40)
    if style == "spiky":  # a jagged fringe
        for i, x in enumerate(np.linspace(CX - a * 0.6, CX + a * 0.6, 6)):
            spike = path([[x - 16, y_mid - 4], [x + rng.uniform(-6, 10), y_mid + 24 + rng.uniform(-4, 8)], [x + 16, y_mid - 4]])
            fill(canvas, spike, c)
            stroke(canvas, spike, INK, LINE * 0.8)
    elif style == "curly":
        for x in np.linspace(CX - a * 0.75, CX + a * 0.75, 7):
            fill(canvas, (x, y_mid + 2, 15), shade(c, 1.05))
            stroke(canvas, (x, y_mid + 2, 15), INK, 2.5)
    elif style == "pompadour":  # the quiff's sweep lines
        for k in range(3):
            sweep = np.array([[CX - a * 0.55, y_mid + 2 - 8 * k], [CX - a * 0.1, top - 20 - 8 * k], [CX + a * 0.55, top - 6 - 4 * k]])
            stroke(canvas, smooth_path(sweep, close=False), shade(c, 0.7), 2.2, 170)
    # A few strands for texture.
    for k in range(5):
        x = CX - a * 0.5 + k * a * 0.25
        stroke(canvas, smooth_path(np.array([[x - 8, top + 16], [x, (top + y_mid) / 2], [x + 4, y_mid - 6]]), close=False),
               shade(c, 0.72), 2.0, 150)


def _beard_shape(g: FaceGeometry, m: dict, lo_idx: int, hi_idx: int, top_y: float, side_x: float) -> skia.Path:
    jaw = g.jaw[lo_idx:hi_idx + 1:4]
    lip_bottom = m["lower"][24, 1]
    mw = m["half_w"]
    inner = np.array([
        [CX + side_x, top_y], [CX + mw + 10, m["seam_y"] - 4], [CX + mw + 6, lip_bottom + 6], [CX, lip_bottom + 10],
        [CX - mw - 6, lip_bottom + 6], [CX - mw - 10, m["seam_y"] - 4], [CX - side_x, top_y],
    ])
    return smooth_path(np.concatenate([jaw, inner]))


def draw_facial_hair(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict, over_mouth: bool = False) -> None:
    kind = t.facial_hair
    m = g.mouth
    if not over_mouth:
        if kind == "beard":
            a = float(np.abs(g.jaw[:, 0] - CX).max())
            shape = _beard_shape(g, m, 14, 146, g.nose["base_y"] - 16, a * 0.86)
            c = t.hair_rgb
            fill(canvas, shape, c, shader=linear((0, 280), (0, 400), [shade(c, 1.1), shade(c, 0.85)]))
            canvas.save()
            canvas.clipPath(shape, skia.ClipOp.kIntersect, True)
            for k, x in enumerate(np.linspace(CX - a * 0.8, CX + a * 0.8, 17)):  # strands
                y0 = m["seam_y"] + 18 + 8 * (k % 3)
                stroke(canvas, path([[x, y0], [x + (CX - x) * 0.15, y0 + 30]], close=False), shade(c, 0.7), 2.0, 170)
            canvas.restore()
            stroke(canvas, smooth_path(g.jaw[14:147:4], close=False), INK, LINE)  # outline only along the jaw
        elif kind == "goatee":
            lip_bottom = m["lower"][24, 1]
            chin = g.jaw[80, 1]
            shape = path([[CX - 20, lip_bottom + 7], [CX + 20, lip_bottom + 7], [CX + 14, chin - 10], [CX, chin + 14], [CX - 14, chin - 10]])
            _hair_fill(canvas, shape, t, lip_bottom, g.jaw[80, 1])
        elif kind == "stubble":
            a = float(np.abs(g.jaw[:, 0] - CX).max())
            shape = _beard_shape(g, m, 14, 146, g.nose["base_y"] - 10, a * 0.82)
            canvas.save()
            canvas.clipPath(shape, skia.ClipOp.kIntersect, True)
            fill(canvas, skia.Rect.MakeWH(512, 512), mix(pal["skin_rgb"], t.hair_rgb, 0.35), alpha=150)
            canvas.restore()
        return
    if kind in ("mustache", "beard"):
        upper_top = m["upper"][:, 1].min()
        mw = m["half_w"]
        base = g.nose["base_y"] + 5
        # A handlebar right under the nose with skin showing above the lip: a moustache that
        # touches the lip reads as a second upper lip to the face mesh (an "open" mouth).
        y = upper_top - 7
        top_y = min(base + 1, y - 8)
        shape = smooth_path(np.array([[CX - mw - 14, y - 14], [CX - mw * 0.55, y], [CX, y - 3], [CX + mw * 0.55, y],
                                      [CX + mw + 14, y - 14], [CX + mw * 0.5, top_y + 2], [CX, top_y], [CX - mw * 0.5, top_y + 2]]))
        _hair_fill(canvas, shape, t, base, upper_top)


def draw_body(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> None:
    skin = pal["skin_rgb"]
    kind = t.clothing
    cloth = t.clothing_rgb
    if kind == "labcoat":
        main = (238, 240, 244)
    elif kind == "suit":
        main = mix(cloth, (25, 25, 35), 0.65)
    else:
        main = cloth
    neck_top = g.jaw[80, 1] - 60
    shoulders = smooth_path(np.array([[-30, 560], [-20, 478], [70, 438], [CX - 62, 420], [CX + 62, 420],
                                      [442, 438], [532, 478], [542, 560]]))
    if kind == "hoodie":
        hood = smooth_path(np.array([[CX - 110, 470], [CX - 100, 400], [CX, 380], [CX + 100, 400], [CX + 110, 470]]))
        fill(canvas, hood, shade(main, 0.8))
        stroke(canvas, hood, INK, LINE)
    neck = path([[CX - 40, neck_top], [CX + 40, neck_top], [CX + 44, 440], [CX - 44, 440]])
    fill(canvas, neck, skin, shader=linear((CX - 44, 0), (CX + 44, 0), [shade(skin, 0.8), skin, shade(skin, 0.72)]))
    stroke(canvas, neck, pal["outline_rgb"], LINE)
    chin_y = float(g.jaw[:, 1].max())
    fill(canvas, oval(CX - 48, chin_y - 30, CX + 48, chin_y + 16), shade(skin, 0.6), alpha=150, blur=8)  # chin shadow
    fill(canvas, shoulders, main, shader=linear((0, 420), (0, 512), [shade(main, 1.08), shade(main, 0.85)]))
    stroke(canvas, shoulders, INK, LINE)
    collar_y = 428.0
    if kind in ("suit", "labcoat"):
        shirt = (250, 250, 250) if kind == "suit" else mix(cloth, (255, 255, 255), 0.35)
        v = path([[CX - 46, collar_y - 10], [CX + 46, collar_y - 10], [CX, 520]])
        fill(canvas, v, shirt)
        stroke(canvas, v, INK, LINE * 0.8)
        for sx in (-1, 1):  # lapels
            lapel = path([[CX + sx * 46, collar_y - 12], [CX + sx * 74, collar_y + 4], [CX + sx * 40, 470], [CX + sx * 8, 520]])
            fill(canvas, lapel, shade(main, 0.9))
            stroke(canvas, lapel, INK, LINE * 0.8)
        if kind == "suit":
            tie = path([[CX - 8, collar_y + 2], [CX + 8, collar_y + 2], [CX + 14, 500], [CX, 514], [CX - 14, 500]])
            fill(canvas, tie, cloth if sum(cloth) > 200 else (190, 40, 50))
            stroke(canvas, tie, INK, 2.5)
            knot = path([[CX - 10, collar_y - 10], [CX + 10, collar_y - 10], [CX + 7, collar_y + 4], [CX - 7, collar_y + 4]])
            fill(canvas, knot, shade(cloth if sum(cloth) > 200 else (190, 40, 50), 0.85))
            stroke(canvas, knot, INK, 2.5)
        else:
            pocket = skia.Rect.MakeLTRB(CX - 150, 462, CX - 100, 512)
            stroke(canvas, pocket, (150, 155, 165), 2.5)
            for k, pc in enumerate(((40, 80, 200), (200, 50, 50))):
                fill(canvas, skia.Rect.MakeLTRB(CX - 142 + 12 * k, 446, CX - 136 + 12 * k, 470), pc)
    elif kind == "uniform":
        band = path([[CX - 46, collar_y - 14], [CX + 46, collar_y - 14], [CX + 50, collar_y + 8], [CX - 50, collar_y + 8]])
        fill(canvas, band, shade(main, 0.7))
        stroke(canvas, band, INK, 2.5)
        for y in (452, 482, 510):
            fill(canvas, (CX, float(y), 6), (240, 200, 70))
            stroke(canvas, (CX, float(y), 6), INK, 2)
        for sx in (-1, 1):
            ep = skia.RRect.MakeRectXY(skia.Rect.MakeLTRB(CX + sx * 150 - 32, 428, CX + sx * 150 + 32, 444), 6, 6)
            fill(canvas, ep, (240, 200, 70))
            stroke(canvas, ep, INK, 2)
        star = [(CX + 95 + 12 * np.cos(-np.pi / 2 + k * np.pi / 5) * (1 if k % 2 == 0 else 0.45),
                 472 + 12 * np.sin(-np.pi / 2 + k * np.pi / 5) * (1 if k % 2 == 0 else 0.45)) for k in range(10)]
        fill(canvas, path(star), (240, 200, 70))
        stroke(canvas, path(star), INK, 2)
    elif kind == "hoodie":
        for sx in (-1, 1):
            stroke(canvas, path([[CX + sx * 22, 436], [CX + sx * 26, 500]], close=False), (240, 240, 240), 4)
        stroke(canvas, smooth_path(np.array([[CX - 50, collar_y], [CX, collar_y + 18], [CX + 50, collar_y]]), close=False), shade(main, 0.7), 8)
    elif kind == "sweater":
        stroke(canvas, smooth_path(np.array([[CX - 50, collar_y - 4], [CX, collar_y + 16], [CX + 50, collar_y - 4]]), close=False), shade(main, 0.75), 12)
        for y in (470.0, 495.0):
            stroke(canvas, path([[0, y], [512, y]], close=False), shade(main, 1.25), 7, 200)
    else:  # t-shirt
        stroke(canvas, smooth_path(np.array([[CX - 48, collar_y - 6], [CX, collar_y + 14], [CX + 48, collar_y - 6]]), close=False), shade(main, 0.75), 7)


def draw_glasses(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict) -> None:
    kind = t.glasses
    if kind == "none":
        return
    frame = (35, 30, 40) if kind != "goggles" else (120, 80, 40)
    width = 4.0 if kind != "goggles" else 8.0
    a = float(np.abs(g.jaw[:, 0] - CX).max())
    rims = []
    for eye in g.eyes:
        ex, ey = eye["centre"]
        hw = eye["half_w"] + 10
        hh = eye["open_h"] * 0.62 + 10
        if kind in ("round", "goggles"):
            r = max(hw, hh)
            rim = oval(ex - r, ey - r * 0.92, ex + r, ey + r * 0.92)
        else:
            rim = skia.Path()
            rim.addRRect(skia.RRect.MakeRectXY(skia.Rect.MakeLTRB(ex - hw, ey - hh, ex + hw, ey + hh), 8, 8))
        rims.append((rim, ex, hw))
    lens = (40, 40, 60) if kind == "shades" else (220, 240, 255)
    lens_alpha = 120 if kind == "shades" else 50
    for rim, ex, hw in rims:
        fill(canvas, rim, lens, alpha=lens_alpha)
        stroke(canvas, rim, frame, width)
    (r0, x0, w0), (r1, x1, w1) = rims
    stroke(canvas, smooth_path(np.array([[x0 + w0 - 2, EYE_Y - 6], [CX, EYE_Y - 14], [x1 - w1 + 2, EYE_Y - 6]]), close=False), frame, width * 0.8)
    stroke(canvas, path([[x0 - w0 - 2, EYE_Y - 6], [CX - a - 2, EYE_Y - 10]], close=False), frame, width * 0.8)
    stroke(canvas, path([[x1 + w1 + 2, EYE_Y - 6], [CX + a + 2, EYE_Y - 10]], close=False), frame, width * 0.8)


def draw_headwear(canvas: skia.Canvas, g: FaceGeometry, t: Traits, pal: dict, rng: np.random.Generator) -> None:
    kind = t.headwear
    a = float(np.abs(g.jaw[:, 0] - CX).max())
    top = g.crown_top
    hat = t.clothing_rgb if t.clothing not in ("labcoat",) else (60, 60, 80)
    if kind == "antennae":
        for sx in (-1, 1):
            stalk = smooth_path(np.array([[CX + sx * 36, top + 14], [CX + sx * 50, top - 40], [CX + sx * 82, top - 70]]), close=False)
            stroke(canvas, stalk, INK, 9)
            stroke(canvas, stalk, shade(pal["skin_rgb"], 0.9), 5)
            ball = (CX + sx * 84, top - 74, 13)
            fill(canvas, ball, (250, 90, 120) if t.species != "robot" else (90, 230, 120),
                 shader=radial((CX + sx * 80, top - 79), 14, [(255, 230, 230), (240, 80, 110) if t.species != "robot" else (60, 200, 100)]))
            stroke(canvas, ball, INK, 3)
    elif kind == "cap":
        dome = smooth_path(np.array([[CX - a - 6, 168], [CX - a * 0.85, top + 10], [CX, top - 12], [CX + a * 0.85, top + 10], [CX + a + 6, 168]]))
        fill(canvas, dome, hat, shader=linear((0, top), (0, 168), [shade(hat, 1.15), shade(hat, 0.85)]))
        stroke(canvas, dome, INK, LINE)
        brim = oval(CX - a * 0.95, 150, CX + a * 0.95, 182)
        fill(canvas, brim, shade(hat, 0.75))
        stroke(canvas, brim, INK, LINE)
        fill(canvas, (CX, top - 8, 7), shade(hat, 0.7))
    elif kind == "beanie":
        dome = smooth_path(np.array([[CX - a - 8, 170], [CX - a * 0.9, top + 4], [CX, top - 16], [CX + a * 0.9, top + 4], [CX + a + 8, 170]]))
        fill(canvas, dome, hat)
        stroke(canvas, dome, INK, LINE)
        band = skia.RRect.MakeRectXY(skia.Rect.MakeLTRB(CX - a - 10, 140, CX + a + 10, 174), 10, 10)
        fill(canvas, band, shade(hat, 0.8))
        stroke(canvas, band, INK, LINE)
        for x in np.arange(CX - a, CX + a, 14):
            stroke(canvas, path([[x, 146], [x, 168]], close=False), shade(hat, 0.6), 2)
        fill(canvas, (CX, top - 22, 18), (245, 245, 240))
        stroke(canvas, (CX, top - 22, 18), INK, LINE)
    elif kind in ("fedora", "tophat", "wizard"):
        brim_y = 150.0
        if kind == "wizard":
            cone = path([[CX - a - 10, brim_y], [CX + 40, -30], [CX + a + 10, brim_y]])
            fill(canvas, cone, (80, 60, 160))
            stroke(canvas, cone, INK, LINE)
            for k in range(4):
                x, y = CX - 40 + rng.uniform(0, 90), brim_y - 20 - rng.uniform(0, 110)
                fill(canvas, (x, y, 5), (250, 220, 90))
        else:
            height = 80 if kind == "fedora" else 140
            crown = smooth_path(np.array([[CX - 70, brim_y], [CX - 66, brim_y - height], [CX, brim_y - height + (10 if kind == "fedora" else 0)],
                                          [CX + 66, brim_y - height], [CX + 70, brim_y]]))
            colour = (40, 40, 48) if kind == "tophat" else shade(hat, 0.8)
            fill(canvas, crown, colour, shader=linear((CX - 70, 0), (CX + 70, 0), [shade(colour, 1.3), colour, shade(colour, 0.7)]))
            stroke(canvas, crown, INK, LINE)
            band = path([[CX - 70, brim_y - 6], [CX + 70, brim_y - 6], [CX + 69, brim_y - 24], [CX - 69, brim_y - 24]])
            fill(canvas, band, (190, 40, 50) if kind == "tophat" else shade(hat, 0.5))
            stroke(canvas, band, INK, 2.5)
        brim_w = a + (45 if kind == "fedora" else 25)
        brim = oval(CX - brim_w, brim_y - 12, CX + brim_w, brim_y + 14)
        fill(canvas, brim, (40, 40, 48) if kind == "tophat" else ((80, 60, 160) if kind == "wizard" else shade(hat, 0.7)))
        stroke(canvas, brim, INK, LINE)
    elif kind == "crown":
        pts = [[CX - 72, 150], [CX - 80, 78], [CX - 50, 112], [CX - 26, 66], [CX, 104], [CX + 26, 66], [CX + 50, 112], [CX + 80, 78], [CX + 72, 150]]
        shape = path(pts)
        fill(canvas, shape, (235, 190, 60), shader=linear((0, 60), (0, 150), [(255, 230, 120), (210, 160, 40)]))
        stroke(canvas, shape, INK, LINE)
        for x, c in ((CX - 36, (200, 40, 60)), (CX, (40, 120, 220)), (CX + 36, (40, 170, 90))):
            fill(canvas, (x, 134, 7), c)
