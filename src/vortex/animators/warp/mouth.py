"""The mouth interior: what shows between parted lips, drawn in the output frame after the warp.

The warp can only stretch pixels that exist; a portrait with closed lips has no cavity, teeth or
tongue to stretch. So once the inner-lip contour of a frame is known, the gap inside it is
painted: a dark cavity (darker in the middle), an upper teeth band hanging from the upper lip,
a hint of tongue low in a wide-open mouth, all anti-aliased and feathered, and scaled with the
opening so a small gap is just a dark line.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vortex.animators.warp.paintbox import paint_box


@dataclass(frozen=True)
class MouthStyle:
    """Colours (RGB floats 0..255) tuned to the portrait's lighting."""

    cavity: tuple[float, float, float]
    teeth: tuple[float, float, float]
    tongue: tuple[float, float, float]


def mouth_style(skin_rgb: np.ndarray) -> MouthStyle:
    """Shade the interior with the portrait's light: darker faces and dim photos get dimmer teeth."""
    light = float(np.clip(np.dot(skin_rgb, [0.299, 0.587, 0.114]) / 175.0, 0.55, 1.1))
    return MouthStyle(
        cavity=(52 * light, 20 * light, 24 * light),
        teeth=(min(240.0, 226 * light), min(232.0, 214 * light), min(212.0, 190 * light)),
        tongue=(165 * light, 78 * light, 82 * light),
    )


def smooth_closed(points: np.ndarray, samples: int = 5) -> np.ndarray:
    """Closed Catmull-Rom curve through ``points`` [n, 2] -> [n * samples, 2]."""
    p = np.asarray(points, np.float64)
    p0, p1, p2, p3 = np.roll(p, 1, axis=0), p, np.roll(p, -1, axis=0), np.roll(p, -2, axis=0)
    t = np.linspace(0, 1, samples, endpoint=False)[None, :, None]
    p0, p1, p2, p3 = (q[:, None, :] for q in (p0, p1, p2, p3))
    curve = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
    return curve.reshape(-1, 2)


def _fill(shape: tuple[int, int], polys: list[np.ndarray], origin: np.ndarray) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    pts = [np.round((p - origin) * 16).astype(np.int32) for p in polys]
    cv2.fillPoly(canvas, pts, 255, lineType=cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) * (1.0 / 255.0)


def draw_mouth_interior(frame: np.ndarray, inner: np.ndarray, iod: float, style: MouthStyle) -> None:
    """Paint the cavity inside the inner-lip contour ``inner`` [8, 2] (iBUG 60..67) of ``frame``, in place."""
    gap = float(np.linalg.norm(inner[6] - inner[2]))
    side_gap = min(float(np.linalg.norm(inner[7] - inner[1])), float(np.linalg.norm(inner[5] - inner[3])))
    if max(gap, side_gap) < 0.8:
        return
    box = paint_box(inner, frame.shape, 3, pad_after=4, min_height=2)
    if box is None:
        return
    x0, y0, x1, y1 = box.bounds
    origin, shape = box.origin, box.shape
    contour = smooth_closed(inner)
    cavity = _fill(shape, [contour], origin)
    cavity = cv2.GaussianBlur(cavity, (3, 3), 0.6)

    mouth_w = float(np.linalg.norm(inner[4] - inner[0]))
    cx = float(inner[[0, 4], 0].mean()) - x0
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    across = np.clip(np.abs(xs - cx) / max(mouth_w / 2, 1.0), 0, 1)

    # Upper teeth: from above the upper lip down to a smooth biting edge, a parabola through the
    # corners that sits one tooth height below the middle of the upper lip.
    tooth_h = min(0.5 * gap, 0.1 * iod)
    left, right = inner[0] - origin, inner[4] - origin
    mid_x = 0.5 * (left[0] + right[0])
    mid_y = float(inner[[1, 2, 3], 1].mean()) - y0 + tooth_h
    half = max(abs(right[0] - left[0]) / 2, 1.0)
    rim = 0.5 * (left[1] + right[1]) + 0.35 * tooth_h
    edge_y = rim + (mid_y - rim) * (1.0 - ((xs - mid_x) / half) ** 2)
    teeth = np.clip(edge_y - ys + 0.5, 0.0, 1.0) * cavity
    teeth *= np.clip(1.0 - across**3, 0.0, 1.0)  # the back teeth vanish into the corners
    top = float(inner[[1, 2, 3], 1].min()) - y0

    depth = np.clip(1.0 - 0.55 * (1 - across), 0.2, 1.0)  # the middle of the cavity is deepest
    layer = np.empty(shape + (3,), np.float32)
    layer[:] = style.cavity
    layer *= depth[..., None]

    open_share = float(np.clip((gap - 0.08 * iod) / (0.12 * iod), 0.0, 1.0))
    if open_share > 0:
        bottom = 0.5 * (inner[5] + inner[7]) * 0.5 + inner[6] * 0.5 - origin
        tongue = np.zeros(shape, np.float32)
        axes = (max(1, int(0.28 * mouth_w)), max(1, int(0.4 * gap)))
        cv2.ellipse(tongue, (int(round(cx)), int(round(bottom[1] + 0.15 * gap))), axes, 0, 180, 360, 1.0, -1, cv2.LINE_AA)
        tongue = cv2.GaussianBlur(tongue, (3, 3), 0.8) * (0.75 * open_share)
        layer += (np.asarray(style.tongue, np.float32) * (0.7 + 0.3 * (1 - across))[..., None] - layer) * tongue[..., None]
    shade = ((1.0 - 0.22 * across**2) * (1.0 - 0.08 * np.clip((ys - top) / max(tooth_h, 1.0), 0, 1)))[..., None]
    layer += (np.asarray(style.teeth, np.float32) * shade - layer) * teeth[..., None]

    roi = frame[y0:y1, x0:x1]
    blended = roi.astype(np.float32)
    blended += (layer - blended) * cavity[..., None]
    roi[:] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


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
    pixel-thin remnant of its teeth would stay visible along the seam; lip colour with a darker
    centre line covers it, fading out as the lips part (the interior takes over).
    """
    gap = float(np.linalg.norm(inner[6] - inner[2]))
    alpha = float(np.clip(1.0 - gap / max(0.06 * iod, 1.0), 0.0, 1.0))
    if alpha <= 0.0:
        return
    box = paint_box(inner, frame.shape, int(np.ceil(0.05 * iod)) + 3)
    if box is None:
        return
    x0, y0, x1, y1 = box.bounds
    origin, shape = box.origin, box.shape
    mid = np.stack([inner[0], (inner[1] + inner[7]) / 2, (inner[2] + inner[6]) / 2, (inner[3] + inner[5]) / 2, inner[4]])
    line = np.round((mid - origin) * 16).astype(np.int32)
    band = np.zeros(shape, np.uint8)
    cv2.polylines(band, [line], False, 255, max(2, int(round(0.07 * iod))), cv2.LINE_AA, shift=4)
    core = np.zeros(shape, np.uint8)
    cv2.polylines(core, [line], False, 255, 1, cv2.LINE_AA, shift=4)
    band_mask = cv2.GaussianBlur(band.astype(np.float32) / 255.0, (3, 3), 0.8) * alpha
    core_mask = cv2.GaussianBlur(core.astype(np.float32) / 255.0, (3, 3), 0.6) * (0.7 * alpha)
    roi = frame[y0:y1, x0:x1]
    out = roi.astype(np.float32)
    out += (lip_rgb.astype(np.float32) - out) * band_mask[..., None]
    out += (lip_rgb.astype(np.float32) * 0.45 - out) * core_mask[..., None]
    roi[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
