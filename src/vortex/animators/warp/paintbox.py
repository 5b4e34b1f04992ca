"""The small frame region a painted part (mouth interior, lip seam, lid) is drawn in.

Painting works on a padded, frame-clipped box around the feature's points, so each frame
touches a few hundred pixels instead of the whole image.
"""

from __future__ import annotations

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
    x0 = int(max(0, np.floor(points[:, 0].min()) - pad))
    y0 = int(max(0, np.floor(points[:, 1].min()) - pad))
    x1 = int(min(width, np.ceil(points[:, 0].max()) + after))
    y1 = int(min(height, np.ceil(points[:, 1].max()) + after))
    if x1 - x0 < min_width or y1 - y0 < min_height:
        return None
    return PaintBox(x0, y0, x1, y1)


def draw_soft_line(frame: np.ndarray, points: np.ndarray, colour: np.ndarray, width: int, sigma: float,
                   alpha: float, pad: int) -> None:
    """Blend an anti-aliased, blurred polyline through ``points`` [n, 2] of ``colour`` into ``frame``, in place."""
    box = paint_box(points, frame.shape, pad)
    if box is None or alpha <= 0.0:
        return
    x0, y0, x1, y1 = box.bounds
    line = np.zeros(box.shape, np.uint8)
    cv2.polylines(line, [np.round((points - box.origin) * 16).astype(np.int32)], False, 255, max(1, int(width)),
                  cv2.LINE_AA, shift=4)
    mask = cv2.GaussianBlur(line.astype(np.float32) / 255.0, (0, 0), sigma) * alpha
    roi = frame[y0:y1, x0:x1]
    out = roi.astype(np.float32)
    out += (np.asarray(colour, np.float32) - out) * mask[..., None]
    roi[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
