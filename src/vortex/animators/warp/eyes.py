"""Eyes: closing lids over a blink, and the dense field that shifts the iris for gaze.

Photos (a portrait with mediapipe's mesh): a blink is the photo's own lid. ``mesh_blink``
moves the 478-point mesh's upper lid margin down to just above the lower lid (which rises a
little), the lid crease part of the way, the brow not at all; the warp then stretches the real
lid skin over the eye and carries the lash line down with the margin. Nothing is painted.

Drawn actors (procedural, who know their lid colour): the rig pulls the 68-landmark lid down
and ``draw_closed_lid`` paints the lid band with its lash line, as the actor drew it.
"""

from __future__ import annotations

import cv2
import numpy as np

from vortex.animators.warp.fields import Grid, polygon_mask
from vortex.animators.warp.paintbox import draw_soft_line, paint_box


# Mediapipe eye rings, corner to corner: the lid margins, then the ring above (lid crease).
# Subject's right eye (image left), then left eye; lower and upper margins run the same way.
MESH_EYES = (
    {"lower": (33, 7, 163, 144, 145, 153, 154, 155, 133), "upper": (33, 246, 161, 160, 159, 158, 157, 173, 133),
     "crease": (247, 30, 29, 27, 28, 56, 190), "fold": (113, 225, 224, 223, 222, 221, 189)},
    {"lower": (263, 249, 390, 373, 374, 380, 381, 382, 362), "upper": (263, 466, 388, 387, 386, 385, 384, 398, 362),
     "crease": (467, 260, 259, 257, 258, 286, 414), "fold": (342, 445, 444, 443, 442, 441, 413)},
)


def mesh_blink(mesh_xy: np.ndarray, v: np.ndarray, eye: int, close: float, rise: float, crease: float,
               fold: float) -> np.ndarray:
    """Displacement [478, 2] of the mesh for one eye fully closed (``eye`` 0: subject's right, 1: left).

    Each upper-margin point travels ``close`` of the way to the lower margin below it (measured
    along the face's down axis ``v``), each lower-margin point rises ``rise`` of the way, and the
    crease follows ``crease`` of its nearest margin point's travel and the ring above it ``fold``;
    corners and all else stay.
    """
    ring = MESH_EYES[eye]
    lower, upper = mesh_xy[list(ring["lower"])], mesh_xy[list(ring["upper"])]
    along = (lower - lower[0]) @ (lower[-1] - lower[0]) / max(float(np.sum((lower[-1] - lower[0]) ** 2)), 1e-9)
    along_u = (upper - lower[0]) @ (lower[-1] - lower[0]) / max(float(np.sum((lower[-1] - lower[0]) ** 2)), 1e-9)
    order = np.argsort(along)
    down_l = lower @ v
    down_u = upper @ v
    lower_at_upper = np.interp(along_u, along[order], down_l[order])
    upper_at_lower = np.interp(along, np.sort(along_u), down_u[np.argsort(along_u)])
    d = np.zeros_like(mesh_xy, dtype=np.float64)
    gap_u = np.maximum(lower_at_upper - down_u, 0.0)
    gap_l = np.maximum(down_l - upper_at_lower, 0.0)
    for k, idx in enumerate(ring["upper"][1:-1], start=1):
        d[idx] = v * close * gap_u[k]
    for k, idx in enumerate(ring["lower"][1:-1], start=1):
        d[idx] = -v * rise * gap_l[k]
    margin = mesh_xy[list(ring["upper"][1:-1])]
    for key, share in (("crease", crease), ("fold", fold)):
        for idx in ring[key]:
            nearest = int(np.argmin(np.sum((margin - mesh_xy[idx]) ** 2, axis=1)))
            d[idx] = d[ring["upper"][1 + nearest]] * share
    return d


def lash_colour(image: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """RGB of the lash line: the darkest fifth of the pixels along the upper lid margin [n, 2]."""
    samples = []
    height, width = image.shape[:2]
    for a, b in zip(margin[:-1], margin[1:]):
        for t in np.linspace(0.0, 1.0, 6, endpoint=False):
            x, y = np.round(a + (b - a) * t).astype(int)
            for dy in (-1, 0, 1):
                if 0 <= x < width and 0 <= y + dy < height:
                    samples.append(image[y + dy, x])
    if not samples:
        return np.array([60.0, 45.0, 40.0])
    pixels = np.asarray(samples, np.float64)
    lum = pixels @ np.array([0.299, 0.587, 0.114])
    return np.median(pixels[lum <= np.percentile(lum, 20)], axis=0)


def draw_lash_seam(frame: np.ndarray, lid_edge: np.ndarray, closure: float, lash_rgb: np.ndarray, iod: float) -> None:
    """Darken the line where a photo's closed lids meet with its own lash colour, in place.

    The warp closes the lid down to a sliver, but its map is interpolated at half resolution,
    so the last pixel or two of the squeezed eye (white, iris) would still glint there; in a real
    closed eye that line is the lashes: a soft line ~0.02 IOD wide in the photo's own lash colour
    (sampled along its upper lid margin), fading in from closure 0.6.
    """
    alpha = _smoothstep((closure - 0.6) / 0.3)
    if alpha <= 0.0:
        return
    draw_soft_line(frame, lid_edge, lash_rgb, max(1, int(round(0.02 * iod))), max(0.6, 0.006 * iod), alpha,
                   int(np.ceil(0.04 * iod)) + 2)


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
