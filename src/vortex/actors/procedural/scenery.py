"""Backgrounds: laboratory, studio, space, desert, city, plain colour; all on the 512 reference canvas."""

from __future__ import annotations

import numpy as np
import skia

from vortex.actors.procedural.paint import INK, fill, linear, mix, oval, path, radial, shade, stroke

R = 512.0


def draw_background(canvas: skia.Canvas, kind: str, colour, rng: np.random.Generator) -> None:
    {
        "laboratory": _laboratory, "studio": _studio, "space": _space, "desert": _desert,
        "city": _city, "plain": _plain,
    }[kind](canvas, colour, rng)


def _plain(canvas, colour, rng) -> None:
    fill(canvas, skia.Rect.MakeWH(R, R), colour, shader=radial((256, 230), 420, [shade(colour, 1.18), colour, shade(colour, 0.8)], [0, 0.6, 1]))


def _studio(canvas, colour, rng) -> None:
    base = mix(colour, (70, 80, 105), 0.6)
    fill(canvas, skia.Rect.MakeWH(R, R), base, shader=radial((256, 210), 380, [shade(base, 1.45), base, shade(base, 0.55)], [0, 0.55, 1]))
    # A soft-box reflection and the floor line behind the actor.
    fill(canvas, skia.Rect.MakeLTRB(0, 440, R, R), shade(base, 0.7), alpha=140)


def _space(canvas, colour, rng) -> None:
    fill(canvas, skia.Rect.MakeWH(R, R), (14, 12, 40), shader=linear((0, 0), (0, R), [(10, 8, 30), (40, 20, 80), (15, 30, 70)]))
    for _ in range(90):
        x, y, r = rng.uniform(0, R), rng.uniform(0, R), rng.uniform(0.6, 2.0)
        fill(canvas, (x, y, r), (255, 255, 235), alpha=int(rng.uniform(120, 255)))
    px, py, pr = (60.0, 90.0, 46.0) if rng.random() < 0.5 else (450.0, 100.0, 40.0)
    planet = mix(colour, (230, 120, 80), 0.5)
    fill(canvas, (px, py, pr), planet, shader=radial((px - pr * 0.4, py - pr * 0.4), pr * 1.6, [shade(planet, 1.3), shade(planet, 0.5)]))
    ring = oval(px - pr * 1.7, py - pr * 0.35, px + pr * 1.7, py + pr * 0.35)
    stroke(canvas, ring, (235, 215, 170), 4, alpha=200)


def _desert(canvas, colour, rng) -> None:
    fill(canvas, skia.Rect.MakeWH(R, R), (250, 200, 120), shader=linear((0, 0), (0, 330), [(245, 140, 80), (252, 214, 140)]))
    sx = float(rng.uniform(60, 450))
    fill(canvas, (sx, 110, 42), (255, 238, 170), alpha=235)
    xs = np.linspace(0, R, 40)
    for k, (y0, c) in enumerate(((330, (226, 170, 100)), (380, (208, 148, 82)), (440, (188, 128, 70)))):
        phase = rng.uniform(0, 6.28)
        ys = y0 + 14 * np.sin(xs / (90 + 20 * k) + phase)
        fill(canvas, path(list(zip(xs, ys)) + [(R, R), (0, R)]), c)
    cx = float(rng.choice([50.0, 460.0]))
    for x0, y0, x1, y1 in ((cx - 9, 250, cx + 9, 380), (cx - 34, 280, cx - 20, 330), (cx + 20, 270, cx + 34, 320)):
        rr = skia.RRect.MakeRectXY(skia.Rect.MakeLTRB(x0, y0, x1, y1), 8, 8)
        fill(canvas, rr, (70, 140, 80))
        stroke(canvas, rr, INK, 3)


def _city(canvas, colour, rng) -> None:
    fill(canvas, skia.Rect.MakeWH(R, R), (60, 60, 120), shader=linear((0, 0), (0, R), [(40, 40, 100), (200, 110, 140), (250, 180, 120)], [0, 0.65, 1]))
    x = -10.0
    while x < R:
        w = float(rng.uniform(40, 80))
        top = float(rng.uniform(150, 330))
        body = mix((40, 45, 80), (90, 70, 110), float(rng.random()))
        rect = skia.Rect.MakeLTRB(x, top, x + w - 4, R)
        fill(canvas, rect, body)
        stroke(canvas, rect, INK, 2.5)
        for wy in np.arange(top + 12, R, 22):
            for wx in np.arange(x + 8, x + w - 14, 16):
                if rng.random() < 0.55:
                    fill(canvas, skia.Rect.MakeXYWH(float(wx), float(wy), 7, 10), (255, 220, 120), alpha=220)
        x += w


def _laboratory(canvas, colour, rng) -> None:
    wall = mix(colour, (170, 215, 205), 0.7)
    fill(canvas, skia.Rect.MakeWH(R, R), wall, shader=linear((0, 0), (0, R), [shade(wall, 1.1), shade(wall, 0.85)]))
    for y in np.arange(20, R, 40):  # wall tiles
        stroke(canvas, path([(0, y), (R, y)], close=False), shade(wall, 0.9), 1.5)
    for x in np.arange(20, R, 40):
        stroke(canvas, path([(x, 0), (x, R)], close=False), shade(wall, 0.9), 1.5)
    for shelf_y in (150.0, 290.0):
        for side in (0.0, 392.0):
            board = skia.Rect.MakeLTRB(side + 8, shelf_y, side + 112, shelf_y + 9)
            fill(canvas, board, (140, 100, 70))
            stroke(canvas, board, INK, 2.5)
            for k in range(3):
                fx = side + 24 + 34 * k
                liquid = [(90, 220, 120), (230, 90, 160), (90, 170, 240), (250, 200, 70)][int(rng.integers(4))]
                h = float(rng.uniform(30, 55))
                flask = path([(fx - 6, shelf_y - h), (fx + 6, shelf_y - h), (fx + 6, shelf_y - h * 0.55),
                              (fx + 15, shelf_y - 2), (fx - 15, shelf_y - 2), (fx - 6, shelf_y - h * 0.55)])
                fill(canvas, flask, (235, 245, 250), alpha=200)
                fill(canvas, path([(fx - 11, shelf_y - h * 0.3), (fx + 11, shelf_y - h * 0.3), (fx + 15, shelf_y - 2), (fx - 15, shelf_y - 2)]), liquid)
                stroke(canvas, flask, INK, 2.5)
