"""The small frame region a painted part (mouth interior, lip seam, lid) is drawn in.

Painting works on a padded, frame-clipped box around the feature's points, so each frame
touches a few hundred pixels instead of the whole image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PaintBox:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    @property
    def origin(self) -> np.ndarray:
        """Top-left corner as float64 (x, y): subtract it from points to draw in box coordinates."""
        return np.array([self.x0, self.y0], np.float64)

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


def paint_box(points: np.ndarray, frame_shape: tuple[int, ...], pad: int, pad_after: int | None = None,
              min_width: int = 3, min_height: int = 3) -> PaintBox | None:
    """Box around ``points`` [n, 2] grown by ``pad`` (``pad_after`` on the right/bottom), clipped to the frame.

    None when what is left is too small to paint (the feature is off-frame or degenerate).
    """
    after = pad if pad_after is None else pad_after
    height, width = frame_shape[:2]
    (lo_x, lo_y), (hi_x, hi_y) = points.min(axis=0).tolist(), points.max(axis=0).tolist()
    x0 = int(max(0, math.floor(lo_x) - pad))
    y0 = int(max(0, math.floor(lo_y) - pad))
    x1 = int(min(width, math.ceil(hi_x) + after))
    y1 = int(min(height, math.ceil(hi_y) + after))
    if x1 - x0 < min_width or y1 - y0 < min_height:
        return None
    return PaintBox(x0, y0, x1, y1)


def blend_into(roi: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> None:
    """``roi`` (uint8 [h, w, 3], a view into a frame) <- ``roi + (layer - roi) * alpha``, rounded, in place.

    ``layer`` is float32 [h, w, 3], ``alpha`` float32 [h, w] in [0, 1]. One ``cv2.blendLinear``
    instead of NumPy broadcasting ``alpha[..., None]`` over the colour axis (whose three-element
    inner loops made it about four times slower on these small boxes).
    """
    write_rounded(roi, cv2.blendLinear(layer, roi.astype(np.float32), alpha, 1.0 - alpha))


def write_rounded(roi: np.ndarray, values: np.ndarray) -> None:
    """``roi`` (uint8 view) <- ``values`` (float32, same shape) rounded half up and clipped to 0..255."""
    values += 0.5
    np.clip(values, 0, 255, out=values)
    roi[:] = values  # the cast truncates: with the +0.5, rounds


def solid(shape: tuple[int, int], colour: np.ndarray) -> np.ndarray:
    """float32 [h, w, 3] filled with ``colour`` (RGB)."""
    return cv2.merge([np.full(shape, float(c), np.float32) for c in colour])


def draw_soft_line(frame: np.ndarray, points: np.ndarray, colour: np.ndarray, width: int, sigma: float,
                   alpha: float, pad: int) -> None:
    """Blend an anti-aliased, blurred polyline through ``points`` [n, 2] of ``colour`` into ``frame``, in place."""
    draw_soft_lines(frame, points, [(colour, width, sigma, alpha)], pad)


def draw_soft_lines(frame: np.ndarray, points: np.ndarray, strokes: list[tuple[np.ndarray, int, float, float]],
                    pad: int) -> None:
    """Blend soft polylines through ``points`` [n, 2] into ``frame`` in place, one over the other:
    each stroke is (RGB colour, width px, blur sigma px, opacity); one box, rounded once."""
    strokes = [stroke for stroke in strokes if stroke[3] > 0.0]
    box = paint_box(points, frame.shape, pad)
    if box is None or not strokes:
        return
    x0, y0, x1, y1 = box.bounds
    poly = [np.round((points - box.origin) * 16).astype(np.int32)]
    roi = frame[y0:y1, x0:x1]
    out = roi.astype(np.float32)
    for colour, width, sigma, alpha in strokes:
        line = np.zeros(box.shape, np.uint8)
        cv2.polylines(line, poly, False, 255, max(1, int(width)), cv2.LINE_AA, shift=4)
        mask = cv2.GaussianBlur(line.astype(np.float32), (0, 0), sigma)
        mask *= alpha / 255.0
        out = cv2.blendLinear(solid(box.shape, colour), out, mask, 1.0 - mask)
    write_rounded(roi, out)
