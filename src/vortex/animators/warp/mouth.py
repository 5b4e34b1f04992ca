"""The mouth interior: what shows between parted lips, drawn in the output frame after the warp.

The warp can only move pixels that exist, and a closed-lip portrait has no cavity, teeth or
tongue to move, so the gap inside each frame's inner-lip contour is rendered here, lit like the
face: every colour comes from the face's own brightest skin (its brightness and colour
temperature) and lips, never from fixed constants, and teeth are capped at the brightest skin
plus ``WarpConfig.teeth_margin`` (never pure white).

Layers, back to front, all in a small box and anti-aliased under the lips (the lips themselves
are the warped photo, never painted):
- the cavity, darker with depth (distance in from the lips) and under the upper teeth;
- a tongue low in the mouth once the jaw opens past a middling gap (``TONGUE_FROM``);
- lower teeth rising from the lower lip when the mouth is wide open;
- upper teeth hanging from the upper lip on a dental arch (incisors widest, foreshortened towards
  the corners, where they fade into shadow), with dark separations, a gum line above them once
  the mouth is wide open (``GUMS_FROM``) and a slightly uneven biting edge; how much shows
  follows the opening and the lip shape;
- a photo that already shows its teeth (open at rest) lends them: its own teeth patch, carried by
  the upper lip, replaces the drawn upper teeth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from vortex.animators.warp.paintbox import blend_into, draw_soft_lines, paint_box

LUMA = np.array([0.299, 0.587, 0.114])
LUMA_ROW = LUMA.reshape(1, 3)
TOOTH_WIDTHS = (0.085, 0.068, 0.062, 0.058, 0.056)
"""Upper teeth from the midline outwards (incisors, lateral, canine, premolars), in IOD along the arch."""
LOWER_TOOTH_WIDTHS = (0.055, 0.05, 0.052, 0.054)
ARCH_RADIUS = 0.42
"""Radius of the dental arch in IOD (about 2.6 cm on a 6.3 cm eye distance)."""
GUMS_FROM = 0.24
"""Lip gap (IOD) past which the upper gums start to show (full 0.1 IOD later). In speech the upper
lip covers them; a lip-coloured band under it from the first parting moved the inner lip edge
that a viewer (and mediapipe) reads down by the band's height: at jaw_open 0.5 (gap ~0.18 IOD)
the same rig geometry read 6-19% narrower (procedural slots of bench_lipsync) than under the
interior before the photo-realism work, which had no gums."""
TONGUE_FROM = 0.14
"""Lip gap (IOD) past which the tongue starts to show (full 0.12 IOD later). Its lit top near
the lower lip, from a small opening on, read as part of the lower lip and narrowed middling gaps."""
CAVITY_FALLOFF = 0.03
"""Distance (IOD) in from the lips over which the cavity falls from its lit edge to its dark depth."""


@dataclass(frozen=True)
class MouthStyle:
    """Colours (RGB floats 0..255) lit like the portrait's face."""

    cavity: tuple[float, float, float]
    teeth: tuple[float, float, float]
    tongue: tuple[float, float, float]
    gums: tuple[float, float, float] = (150.0, 70.0, 72.0)
    teeth_cap: float = 235.0  # the brightest a tooth pixel may be (luminance)
    palette: np.ndarray = field(init=False, repr=False, compare=False)
    """float64 [3, 4]: the colours as columns (cavity, tongue, teeth, gums), for ``cv2.transform``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "palette", np.array([self.cavity, self.tongue, self.teeth, self.gums], np.float64).T.copy())


@dataclass(frozen=True)
class TeethPatch:
    """A photo's own teeth (mouth open at rest): its pixels, interior mask and inner-lip points."""

    pixels: np.ndarray  # uint8 [h, w, 3], the source mouth box
    mask: np.ndarray  # float32 [h, w], 1 on its teeth, fading out towards its lower lip
    inner: np.ndarray  # float64 [8, 2] the source inner lip in box coordinates


def _luma(rgb) -> float:
    return float(np.dot(np.asarray(rgb, np.float64), LUMA))


def drawn_mouth_style(bright_skin: np.ndarray, cavity: np.ndarray, teeth: np.ndarray, tongue: np.ndarray,
                      lip_rgb: np.ndarray, margin: float = 12.0) -> MouthStyle:
    """A drawn actor's own interior colours (it says them), under the same light cap as a photo's:
    its teeth as bright as the brightest skin plus ``margin`` allows, its cavity in shadow."""
    level = max(_luma(bright_skin), 1.0)
    cap = min(level + margin, 249.0)
    teeth = np.asarray(teeth, np.float64)
    teeth = teeth * min(1.0, cap / max(_luma(teeth), 1.0))
    return MouthStyle(cavity=tuple(0.6 * np.asarray(cavity, np.float64)), teeth=tuple(np.minimum(teeth, 249.0)),
                      tongue=tuple(np.asarray(tongue, np.float64)),
                      gums=tuple(np.asarray(lip_rgb, np.float64) * np.array([1.0, 0.82, 0.85])), teeth_cap=cap)


def mouth_style(bright_skin: np.ndarray, lip_rgb: np.ndarray | None = None, margin: float = 12.0) -> MouthStyle:
    """Interior colours lit like the face: ``bright_skin`` is its brightest skin RGB (the light's
    level and colour temperature), ``lip_rgb`` its lips (gums and tongue are the same tissue).

    Teeth are ivory tinted by the light, at 88% of the brightest skin's luminance (they sit
    inside the mouth), capped at that luminance plus ``margin`` and below 250.
    """
    bright_skin = np.asarray(bright_skin, np.float64)
    level = max(_luma(bright_skin), 1.0)
    light = bright_skin / level  # the light's colour on skin: warm under tungsten, cool in shade
    lip = np.asarray(lip_rgb if lip_rgb is not None else bright_skin * np.array([0.92, 0.58, 0.56]), np.float64)
    tint = np.array([1.0, 0.96, 0.86]) * light**0.35
    cap = min(level + margin, 249.0)
    teeth = tint / _luma(tint) * min(0.88 * level, cap)
    teeth = np.minimum(teeth, 249.0)
    cavity = bright_skin * np.array([0.30, 0.12, 0.12])
    return MouthStyle(cavity=tuple(cavity), teeth=tuple(teeth), tongue=tuple(lip * np.array([0.92, 0.78, 0.80])),
                      gums=tuple(lip * np.array([1.0, 0.82, 0.85])), teeth_cap=cap)


@lru_cache(maxsize=8)
def _catmull_rom(n: int, samples: int) -> np.ndarray:
    """float64 [n * samples, n]: the closed Catmull-Rom curve's samples as weights of its n points."""
    t = np.linspace(0, 1, samples, endpoint=False)
    # Weights of p[i-1], p[i], p[i+1], p[i+2] at each t of segment i.
    basis = 0.5 * np.stack([-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3, t + 4 * t**2 - 3 * t**3, -(t**2) + t**3], axis=1)
    weights = np.zeros((n, samples, n))
    for i in range(n):
        for k, j in enumerate((i - 1, i, i + 1, i + 2)):
            weights[i, :, j % n] += basis[:, k]
    return weights.reshape(n * samples, n)


def smooth_closed(points: np.ndarray, samples: int = 5) -> np.ndarray:
    """Closed Catmull-Rom curve through ``points`` [n, 2] -> [n * samples, 2] (one small product)."""
    p = np.asarray(points, np.float64)
    return np.einsum("ij,jk->ik", _catmull_rom(len(p), samples), p)


def _fill(shape: tuple[int, int], polys: list[np.ndarray], origin: np.ndarray) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    pts = [np.round((p - origin) * 16).astype(np.int32) for p in polys]
    cv2.fillPoly(canvas, pts, 255, lineType=cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) * (1.0 / 255.0)


def _lip_curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """y of the polyline through ``points`` (sorted by x) at each x (held flat beyond the ends)."""
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])


@lru_cache(maxsize=16)
def _arch_positions(widths: tuple[float, ...], iod: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """(x offsets from the midline, line widths) of every tooth boundary on both sides of the arch,
    float32 [n] each: the midline once, then each boundary left and right, narrower towards the corners."""
    angles = np.cumsum((0.0,) + widths) * iod / (ARCH_RADIUS * iod)
    edges = ARCH_RADIUS * iod * np.sin(np.minimum(angles, np.pi / 2))
    offsets, line_widths = [], []
    for k, e in enumerate(edges):
        w = max(width * (1.0 - 0.1 * k), 0.35)
        for x in ((0.0,) if e == 0 else (-e, e)):
            offsets.append(x)
            line_widths.append(w)
    return np.asarray(offsets, np.float32)[:, None], np.asarray(line_widths, np.float32)[:, None]


def _separations(xs: np.ndarray, centre: float, widths: tuple[float, ...], iod: float, width: float) -> np.ndarray:
    """float32 [1, w] 0..1: soft dark lines at the tooth boundaries of an arch of tooth ``widths``
    (IOD) round ``centre``, each ``width`` px wide (narrower towards the corners), along ``xs`` [1, w]."""
    offsets, line_widths = _arch_positions(widths, iod, width)
    d = (xs - (offsets + np.float32(centre))) / line_widths  # [n, w]
    return np.exp(-0.5 * d * d).max(axis=0, keepdims=True)


def draw_mouth_interior(frame: np.ndarray, inner: np.ndarray, iod: float, style: MouthStyle,
                        teeth_patch: TeethPatch | None = None, blur: float = 0.012) -> None:
    """Paint the cavity inside the inner-lip contour ``inner`` [8, 2] (iBUG 60..67) of ``frame``, in place.

    Every drawn layer is lit by the same four colours (cavity, tongue, teeth, gums), so the
    layers are composed as four weight fields [h, w] (each layer moves weight from the ones under
    it to its own colours) and turned into RGB once (``cv2.transform``): a few dozen operations
    on single-channel fields of the small box instead of a hundred on RGB ones (speed, #15).
    A photo's own teeth patch is the one layer with colours of its own, added after.
    """
    p = inner.tolist()
    gap = math.hypot(p[6][0] - p[2][0], p[6][1] - p[2][1])
    side_gap = min(math.hypot(p[7][0] - p[1][0], p[7][1] - p[1][1]), math.hypot(p[5][0] - p[3][0], p[5][1] - p[3][1]))
    if max(gap, side_gap) < 0.8:
        return
    box = paint_box(inner, frame.shape, 3, pad_after=4, min_height=2)
    if box is None:
        return
    x0, y0, x1, y1 = box.bounds
    origin, shape = box.origin, box.shape
    opening = _fill(shape, [smooth_closed(inner)], origin)
    opening = cv2.GaussianBlur(opening, (0, 0), max(0.5, blur * iod))

    local = inner - origin
    xs = np.arange(shape[1], dtype=np.float32)[None, :]  # [1, w]: what depends on x alone stays a row
    ys = np.arange(shape[0], dtype=np.float32)[:, None]  # [h, 1]
    cx = 0.5 * (p[2][0] + p[6][0]) - x0  # the midline between the lips' middles
    half = max(abs(p[4][0] - p[0][0]) / 2, 1.0)
    across = np.clip(np.abs(xs - cx) / half, 0, 1)
    across2 = across * across
    upper = _lip_curve(local[[0, 1, 2, 3, 4]], xs[0]).astype(np.float32)[None, :]
    lower = _lip_curve(local[[0, 7, 6, 5, 4]], xs[0]).astype(np.float32)[None, :]
    below_upper = ys - upper  # [h, w]: distance down from the upper lip
    above_lower = lower - ys  # distance up from the lower lip

    # Cavity: darker with depth (distance in from the lips) and in the upper back, under the teeth
    # and palate. The light falls off within CAVITY_FALLOFF of the lips whatever the opening:
    # a ramp over half the gap drew the lower lip's inner edge as a long soft gradient that read
    # as lip, narrowing the gap a viewer (and mediapipe) sees.
    depth = np.clip(np.minimum(below_upper, above_lower) * (1.0 / max(CAVITY_FALLOFF * iod, 1.0)), 0, 1)
    cavity = (1.0 - 0.65 * depth) * (1.0 - 0.35 * across2)
    tongue_w = teeth_w = gums_w = None

    if gap >= 0.03 * iod:  # below it a parting: only the dark line of the cavity
        open_share = min(max((gap - TONGUE_FROM * iod) / (0.12 * iod), 0.0), 1.0)
        if open_share > 0:  # the tongue, low in the mouth, its back in shadow
            mouth_w = math.hypot(p[4][0] - p[0][0], p[4][1] - p[0][1])
            bottom = float(lower[0, int(np.clip(round(cx), 0, shape[1] - 1))])
            tongue = np.zeros(shape, np.float32)
            axes = (max(1, int(0.3 * mouth_w)), max(1, int(0.45 * gap)))
            cv2.ellipse(tongue, (int(round(cx)), int(round(bottom + 0.12 * gap))), axes, 0, 180, 360, 1.0, -1, cv2.LINE_AA)
            alpha = cv2.GaussianBlur(tongue, (0, 0), max(0.8, 0.02 * iod)) * (0.85 * open_share)
            lit = np.clip(1.0 - above_lower / np.maximum(lower - upper, 1.0), 0.35, 1.0)  # lighter near the lips
            # In the mouth's shadow: clearly darker than the lips, which must still read as the edge.
            cavity *= 1.0 - alpha
            tongue_w = lit * (0.38 * (1.0 - 0.3 * across)) * alpha

        # Lower teeth: only past a wide opening, their tips a little above the lower lip, in the
        # upper teeth's shadow.
        low_h = min(max(gap - 0.26 * iod, 0.0), 0.035 * iod)
        if low_h > 0.5:
            top = lower - low_h * (1.0 - across2)
            alpha = np.clip(ys - top + 0.5, 0, 1) * (np.clip(1.0 - across2 / 0.49, 0, 1) * min(1.0, low_h / (0.02 * iod)))
            seps = _separations(xs, cx, LOWER_TOOTH_WIDTHS, iod * 0.85, 0.004 * iod)
            shade = 0.6 * (1.0 - 0.45 * across2) * (1.0 - 0.15 * seps)  # [1, w]
            keep = 1.0 - alpha
            cavity *= keep
            if tongue_w is not None:
                tongue_w *= keep
            teeth_w = shade * alpha
            gums_w = (0.3 * (1.0 - shade)) * alpha  # the warm light bounced off gums (``_in_mouth_light``)

        # Upper teeth: from under the upper lip down to a biting edge that follows the lip's curve,
        # longer as the mouth opens and where the lip lifts; the arch's ends vanish into the corners.
        if teeth_patch is not None:  # the photo's own teeth instead of drawn ones
            patch_rgb, alpha = _place_patch(teeth_patch, local, shape)
        else:
            patch_rgb = None
            tooth_len = min(0.11 * iod, 0.5 * gap + 0.2)
            notch = _separations(xs, cx, TOOTH_WIDTHS, iod, 0.012 * iod)
            # rounded tooth corners leave small notches at the edge
            edge = upper + tooth_len * (1.0 - across**2.2) - 0.12 * tooth_len * notch
            alpha = np.clip(edge - ys + 0.5, 0.0, 1.0) * np.clip(1.0 - across2 * across, 0.0, 1.0)
            seps = _separations(xs, cx, TOOTH_WIDTHS, iod, 0.005 * iod)
            # The upper lip's shadow on the teeth, kept light: at 25% it dimmed the teeth right under
            # the lip towards the lip's own brightness and the edge read lower (0.060 vs 0.063 face
            # heights on bench_lipsync slot 0's "and").
            down = np.maximum(below_upper, 0.0)
            lip_shadow = 1.0 - 0.1 * np.exp(down * (-1.0 / max(0.02 * iod, 0.5)))
            tone = lip_shadow * ((1.0 - 0.45 * across2) * (1.0 - 0.35 * seps))
            tone *= 1.0 - 0.08 * np.minimum(down * (1.0 / max(tooth_len, 1.0)), 1.0)
            gum_share = min(max((gap - GUMS_FROM * iod) / (0.1 * iod), 0.0), 1.0)
            teeth_upper = tone * alpha
            gums_upper = (0.3 * (1.0 - tone)) * alpha
            if gum_share > 0:
                gum = np.clip(1.0 - below_upper * (1.0 / max(0.012 * iod, 0.6)), 0, 1) * (np.clip(1.0 - across2, 0, 1) * gum_share)
                teeth_upper *= 1.0 - gum
                gums_upper = (gums_upper * (1.0 - gum)) + (0.8 * gum) * alpha
        keep = 1.0 - alpha
        cavity *= keep
        for w in (tongue_w, teeth_w, gums_w):
            if w is not None:
                w *= keep
        if patch_rgb is None:
            teeth_w = teeth_upper if teeth_w is None else teeth_w + teeth_upper
            gums_w = gums_upper if gums_w is None else gums_w + gums_upper

    zero = np.zeros(shape, np.float32)
    layer = cv2.transform(cv2.merge([cavity] + [zero if w is None else w for w in (tongue_w, teeth_w, gums_w)]),
                          style.palette)
    if gap >= 0.03 * iod and patch_rgb is not None:
        layer += patch_rgb * alpha[..., None]

    # Light: nothing inside the mouth outshines the face.
    lum = cv2.transform(layer, LUMA_ROW)
    if float(lum.max()) > style.teeth_cap:  # (dividing by 1 everywhere else changes nothing)
        over = np.maximum(lum * (1.0 / style.teeth_cap), 1.0)
        layer = cv2.divide(layer, cv2.merge([over, over, over]))
    np.minimum(layer, 249.0, out=layer)
    blend_into(frame[y0:y1, x0:x1], layer, opening)


def teeth_patch(image: np.ndarray, inner: np.ndarray, iod: float, skin_luma: float) -> TeethPatch | None:
    """The photo's own upper teeth when its mouth is open at rest and shows them (bright inside), else None."""
    gap = float(np.linalg.norm(inner[6] - inner[2]))
    if gap < 0.05 * iod:
        return None
    box = paint_box(inner, image.shape, int(np.ceil(0.02 * iod)) + 2)
    if box is None:
        return None
    x0, y0, x1, y1 = box.bounds
    pixels = image[y0:y1, x0:x1].copy()
    local = inner - box.origin
    inside = _fill(box.shape, [smooth_closed(local)], np.zeros(2)) > 0.5
    if inside.sum() < 20 or _luma(np.median(pixels[inside].astype(np.float64), axis=0)) < 0.6 * skin_luma:
        return None  # a dark open mouth: nothing to lend
    ys, xs = np.mgrid[0 : box.shape[0], 0 : box.shape[1]].astype(np.float32)
    lower = _lip_curve(np.stack([local[0], local[7], local[6], local[5], local[4]]), xs[0])[None, :]
    fade = np.clip((lower - 0.03 * iod - ys) / max(0.03 * iod, 1.0), 0.0, 1.0)  # off the lower lip's edge
    mask = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.7) * fade
    return TeethPatch(pixels=pixels, mask=mask.astype(np.float32), inner=local)


def _place_patch(patch: TeethPatch, inner: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The teeth patch carried by the upper lip: scaled and turned with the mouth corners, its upper
    middle on this frame's (a similarity: teeth never stretch taller as the jaw drops)."""
    (sx, sy), (dx, dy) = (patch.inner[4] - patch.inner[0]).tolist(), (inner[4] - inner[0]).tolist()
    scale = math.hypot(dx, dy) / max(math.hypot(sx, sy), 1e-6)
    angle = math.atan2(dy, dx) - math.atan2(sy, sx)
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    (px, py), (qx, qy) = patch.inner[2].tolist(), inner[2].tolist()
    m = np.array([[c, -s, qx - (c * px - s * py)], [s, c, qy - (s * px + c * py)]])
    size = (shape[1], shape[0])
    pixels = cv2.warpAffine(patch.pixels, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(patch.mask, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return pixels.astype(np.float32), mask


def lip_colour(image: np.ndarray, outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Median RGB of the lips: inside the outer contour and outside the inner one."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(outer).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 0)
    pixels = image[mask > 0]
    if len(pixels) == 0:
        return np.array([170.0, 90.0, 90.0])
    return np.median(pixels.astype(np.float64), axis=0)


def draw_lip_seam(frame: np.ndarray, inner: np.ndarray, iod: float, lip_rgb: np.ndarray) -> None:
    """Paint closed lips' meeting line over what is left of a photo's open-mouth teeth, in place.

    A photo whose mouth is open at rest is closed by the warp, but the map is interpolated, so a
    pixel-thin remnant of its teeth would stay visible along the seam; a narrow line of lip colour
    (0.06 IOD) with a darker centre covers it, fading out as the lips part (the interior takes over).
    """
    gap = float(np.linalg.norm(inner[6] - inner[2]))
    alpha = float(np.clip(1.0 - gap / max(0.06 * iod, 1.0), 0.0, 1.0))
    if alpha <= 0.0:
        return
    mid = np.stack([inner[0], (inner[1] + inner[7]) / 2, (inner[2] + inner[6]) / 2, (inner[3] + inner[5]) / 2, inner[4]])
    pad = int(np.ceil(0.05 * iod)) + 3
    lip = np.asarray(lip_rgb, np.float32)
    draw_soft_lines(frame, mid, [(lip, max(2, int(round(0.06 * iod))), 0.8, alpha), (lip * 0.55, 1, 0.6, 0.5 * alpha)], pad)
