"""Eyes: closing lids over a blink, and the dense field that shifts the iris for gaze.

The rig already pulls the upper lid down (the warp stretches the real lid skin and lash line
over the eye); what is left of the eye opening near full closure is covered here with skin
colour sampled just above the eye, plus a soft lash line, so a closed eye reads as closed.
"""

from __future__ import annotations

import cv2
import numpy as np

from vortex.animators.warp.fields import Grid, polygon_mask
from vortex.animators.warp.paintbox import paint_box


def lid_skin(image: np.ndarray, eye: np.ndarray, brow: np.ndarray) -> np.ndarray:
    """RGB of the upper-lid skin: the brighter half of the band between the eye's upper lid and the brow."""
    top = float(brow[:, 1].mean())
    lid = float(eye[[1, 2], 1].mean())
    y0 = int(round(top + 0.5 * (lid - top)))
    y1 = int(round(top + 0.85 * (lid - top)))
    x0 = int(round(eye[0, 0] + 0.2 * (eye[3, 0] - eye[0, 0])))
    x1 = int(round(eye[0, 0] + 0.8 * (eye[3, 0] - eye[0, 0])))
    x0, x1 = sorted((x0, x1))
    patch = image[max(0, y0) : max(y0 + 1, y1 + 1), max(0, x0) : max(x0 + 1, x1 + 1)].reshape(-1, 3)
    if patch.size == 0:
        return np.array([180.0, 140.0, 120.0])
    patch = patch.astype(np.float64)
    lum = patch @ np.array([0.299, 0.587, 0.114])
    return np.median(patch[lum >= np.percentile(lum, 25)], axis=0)  # brow hairs and lashes are the darkest quarter


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


LID_FROM = 0.15
"""Blink level from which the lid is painted (below it the warp alone moves the lid)."""


def draw_closed_lid(frame: np.ndarray, open_eye: np.ndarray, eye: np.ndarray, closure: float,
                    skin: np.ndarray, line_rgb: np.ndarray, iod: float, painted: bool = True) -> None:
    """Paint the lid that a blink pulls down, in place.

    ``open_eye`` is this frame's [6, 2] eye contour without the blink, ``eye`` the contour with
    it. The band between the open upper lid and the moving lid edge is filled with lid colour
    (it hides the squeezed lash line of the warp), the edge gets a lash line, and near full
    closure the whole opening is covered so a closed eye reads as closed.

    ``painted=False`` (photos, whose detected eye contours are only approximately on the real
    lids) leaves the moving lid to the warp and only covers the last sliver near full closure,
    softly and with a faint seam, so a misplaced polygon never shows as a painted patch.
    """
    if painted:
        band_alpha = _smoothstep((closure - LID_FROM) / 0.35)
        full_alpha = _smoothstep((closure - 0.6) / 0.3)
        lash_alpha, grow_share, blur_share = 0.85 * band_alpha, 0.025, 0.012
    else:
        band_alpha = 0.0
        full_alpha = _smoothstep((closure - 0.7) / 0.25)
        lash_alpha, grow_share, blur_share = 0.65 * full_alpha, 0.03, 0.03
    if band_alpha <= 0.0 and full_alpha <= 0.0:
        return
    box = paint_box(np.concatenate([open_eye, eye]), frame.shape, int(np.ceil(0.08 * iod)) + 2)
    if box is None:
        return
    x0, y0, x1, y1 = box.bounds
    origin, shape = box.origin, box.shape

    def fill(poly: np.ndarray) -> np.ndarray:
        canvas = np.zeros(shape, np.uint8)
        cv2.fillPoly(canvas, [np.round((poly - origin) * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
        grow = max(1, int(round(grow_share * iod)))
        canvas = cv2.dilate(canvas, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        return cv2.GaussianBlur(canvas.astype(np.float32) / 255.0, (0, 0), max(0.6, blur_share * iod))

    mask = np.zeros(shape, np.float32)
    if band_alpha > 0:
        mask = fill(np.concatenate([open_eye[[0, 1, 2, 3]], eye[[2, 1]]])) * band_alpha
    if full_alpha > 0:
        # Photos: 15% larger than the detected contour, which stops short of the outer lashes.
        cover = open_eye if painted else open_eye.mean(axis=0) + (open_eye - open_eye.mean(axis=0)) * 1.15
        mask = np.maximum(mask, fill(cover) * full_alpha)

    edge = eye[[0, 1, 2, 3]]  # the moving lid edge
    lash = np.zeros(shape, np.uint8)
    cv2.polylines(lash, [np.round((edge - origin) * 16).astype(np.int32)], False, 255,
                  max(1, int(round((0.03 if painted else 0.02) * iod))), cv2.LINE_AA, shift=4)
    lash_mask = cv2.GaussianBlur(lash.astype(np.float32) / 255.0, (3, 3), 0.6) * lash_alpha

    roi = frame[y0:y1, x0:x1]
    out = roi.astype(np.float32)
    lid = skin.astype(np.float32) * (1.0 if painted else 0.94)  # a photo's closed lid sits in light shadow
    out += (lid - out) * mask[..., None]
    out += (line_rgb.astype(np.float32) - out) * lash_mask[..., None]
    roi[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


def gaze_fields(rest: np.ndarray, iod: float, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Backward displacement [h, w, 2] for gaze_x = 1 and gaze_y = 1: the eye contents slide inside each eye.

    A feathered mask of each eye opening times a constant shift (0.1 IOD sideways, 0.05 IOD
    down); the eye corners and lids stay, so the iris moves within the white.
    """
    mask = np.zeros((grid.height, grid.width), np.float32)
    for start in (36, 42):
        eye = rest[start : start + 6]
        center = eye.mean(axis=0)
        shrunk = center + (eye - center) * np.array([0.8, 0.7])
        mask = np.maximum(mask, polygon_mask(shrunk, grid, feather=0.06 * iod))
    gx = np.zeros((grid.height, grid.width, 2), np.float32)
    gy = np.zeros_like(gx)
    gx[..., 0] = -0.10 * iod * mask  # backward: to show the iris further right, sample from the left
    gy[..., 1] = -0.05 * iod * mask
    return gx, gy
