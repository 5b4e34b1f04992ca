"""Small skia helpers: colours, paths from point arrays, fills, strokes and gradients."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import skia

RGB = tuple[int, int, int]
INK: RGB = (28, 24, 32)


def mix(a: Sequence[float], b: Sequence[float], t: float) -> RGB:
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def shade(c: Sequence[float], f: float) -> RGB:
    """f < 1 darkens towards black, f > 1 lightens towards white."""
    if f <= 1:
        return tuple(int(round(x * f)) for x in c)  # type: ignore[return-value]
    return mix(c, (255, 255, 255), min(f - 1, 1.0))


def argb(c: Sequence[float], alpha: int = 255) -> int:
    return skia.ColorSetARGB(int(alpha), int(c[0]), int(c[1]), int(c[2]))


def path(points: Iterable[Sequence[float]], close: bool = True) -> skia.Path:
    p = skia.Path()
    for i, (x, y) in enumerate(points):
        if i == 0:
            p.moveTo(float(x), float(y))
        else:
            p.lineTo(float(x), float(y))
    if close:
        p.close()
    return p


def smooth_path(points: np.ndarray, close: bool = True) -> skia.Path:
    """Catmull-Rom through the points as cubic Beziers: few control points, smooth curves."""
    pts = np.asarray(points, float)
    n = len(pts)
    p = skia.Path()
    p.moveTo(*map(float, pts[0]))
    last = n if close else n - 1
    for i in range(last):
        p0 = pts[(i - 1) % n] if (close or i > 0) else pts[i]
        p1, p2 = pts[i], pts[(i + 1) % n]
        p3 = pts[(i + 2) % n] if (close or i + 2 < n) else pts[(i + 1) % n]
        c1 = p1 + (p2 - p0) / 6.0
        c2 = p2 - (p3 - p1) / 6.0
        p.cubicTo(float(c1[0]), float(c1[1]), float(c2[0]), float(c2[1]), float(p2[0]), float(p2[1]))
    if close:
        p.close()
    return p


def fill(canvas: skia.Canvas, shape, colour: Sequence[float], alpha: int = 255, shader=None, blur: float = 0.0) -> None:
    paint = skia.Paint(AntiAlias=True, Color=argb(colour, alpha))
    if shader is not None:
        paint.setShader(shader)
        paint.setAlphaf(alpha / 255.0)
    if blur > 0:
        paint.setMaskFilter(skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, blur))
    _draw(canvas, shape, paint)


def stroke(canvas: skia.Canvas, shape, colour: Sequence[float], width: float, alpha: int = 255, blur: float = 0.0) -> None:
    paint = skia.Paint(
        AntiAlias=True, Color=argb(colour, alpha), Style=skia.Paint.kStroke_Style, StrokeWidth=float(width),
        StrokeCap=skia.Paint.kRound_Cap, StrokeJoin=skia.Paint.kRound_Join,
    )
    if blur > 0:
        paint.setMaskFilter(skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, blur))
    _draw(canvas, shape, paint)


def _draw(canvas: skia.Canvas, shape, paint: skia.Paint) -> None:
    if isinstance(shape, skia.Path):
        canvas.drawPath(shape, paint)
    elif isinstance(shape, skia.Rect):
        canvas.drawRect(shape, paint)
    elif isinstance(shape, skia.RRect):
        canvas.drawRRect(shape, paint)
    elif isinstance(shape, tuple) and len(shape) == 3:  # circle (x, y, r)
        canvas.drawCircle(float(shape[0]), float(shape[1]), float(shape[2]), paint)
    else:
        raise TypeError(f"cannot draw {type(shape).__name__}")


def oval(x0: float, y0: float, x1: float, y1: float) -> skia.Path:
    p = skia.Path()
    p.addOval(skia.Rect.MakeLTRB(x0, y0, x1, y1))
    return p


def linear(p0, p1, colours: Sequence[Sequence[float]], stops: Sequence[float] | None = None):
    return skia.GradientShader.MakeLinear(
        [skia.Point(*map(float, p0)), skia.Point(*map(float, p1))], [argb(c) for c in colours],
        None if stops is None else list(map(float, stops)),
    )


def radial(centre, radius: float, colours: Sequence[Sequence[float]], stops: Sequence[float] | None = None):
    return skia.GradientShader.MakeRadial(
        skia.Point(*map(float, centre)), float(radius), [argb(c) for c in colours],
        None if stops is None else list(map(float, stops)),
    )
