"""Dense displacement fields: piecewise-affine maps between landmark meshes, and the head mask.

Why piecewise-affine on a Delaunay mesh (not thin-plate splines): the lips need a near
discontinuity (the upper lip stays while the lower lip drops a few pixels below it) and TPS
rings and overshoots when two control points that close move apart; a triangle mesh is exact at
every landmark, strictly local, and costs one barycentric lookup per grid point, once per
portrait. The fields are built *backwards* (output pixel -> source pixel) by triangulating the
target landmark positions, so each unit-strength basis field is an exact inverse warp rather
than a first-order guess; a frame blends them linearly.

Grids here are "low resolution": sample ``(j, i)`` sits at full-resolution pixel
``(x0 + step * j + (step - 1) / 2, y0 + step * i + (step - 1) / 2)``, which is exactly the
pixel-centre convention ``cv2.resize(..., INTER_LINEAR)`` uses when upsampling by ``step``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay


@dataclass(frozen=True)
class Grid:
    """A low-resolution sampling of the full-resolution region [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    width: int  # low-res samples
    height: int
    step: int

    @property
    def full_shape(self) -> tuple[int, int]:
        return self.height * self.step, self.width * self.step

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution (x, y) of every sample, float64 [h, w] each."""
        off = (self.step - 1) / 2
        xs = self.x0 + self.step * np.arange(self.width) + off
        ys = self.y0 + self.step * np.arange(self.height) + off
        return np.meshgrid(xs, ys)

    def to_low(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution pixel coordinates -> low-res sample coordinates (for cv2.remap)."""
        off = (self.step - 1) / 2
        return (x - self.x0 - off) / self.step, (y - self.y0 - off) / self.step


def region_grid(box: tuple[float, float, float, float], size: int, step: int) -> Grid:
    """A grid covering ``box`` (clipped to the image), its full-res size a multiple of ``step``."""
    x0 = int(max(0, np.floor(box[0])))
    y0 = int(max(0, np.floor(box[1])))
    x1 = int(min(size, np.ceil(box[2])))
    y1 = int(min(size, np.ceil(box[3])))
    width = max(1, (x1 - x0) // step)
    height = max(1, (y1 - y0) // step)
    return Grid(x0, y0, width, height, step)


def backward_field(target: np.ndarray, source: np.ndarray, grid: Grid) -> np.ndarray:
    """Displacement float32 [h, w, 2] that sends each output sample to where it comes from in the source.

    ``target`` and ``source`` are matching point sets [N, 2]; the target set is triangulated
    and each triangle maps affinely onto the same vertices in the source. Outside the target
    hull the displacement is zero (the anchors put the hull well outside the face).
    """
    tri = Delaunay(target)
    return mesh_backward_field(target, source, tri.simplices, grid)


def mesh_backward_field(target: np.ndarray, source: np.ndarray, simplices: np.ndarray, grid: Grid) -> np.ndarray:
    """Like ``backward_field`` over given triangles [M, 3], drawn in order: where triangles overlap
    (a turned face hides its far cheek), the one drawn last wins, so pass them far to near."""
    gx, gy = grid.coords()
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    simplex = triangle_index(target, simplices, grid).ravel()
    inside = simplex >= 0
    verts = simplices[simplex[inside]]  # [n, 3]
    a, b, c = (target[verts[:, i]] for i in range(3))
    # Barycentric coordinates in closed form (qhull's ``transform`` goes through LAPACK, whose
    # thread pool stalls badly on a busy 2-core machine).
    v0, v1, v2 = b - a, c - a, pts[inside] - a
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    l1 = (v2[:, 0] * v1[:, 1] - v2[:, 1] * v1[:, 0]) / det
    l2 = (v0[:, 0] * v2[:, 1] - v0[:, 1] * v2[:, 0]) / det
    bary = np.stack([1 - l1 - l2, l1, l2], axis=1)
    # Rasterizing claims samples up to half a sample outside a triangle, where extrapolating its
    # map is exact enough, except across a sliver (a lid closed down to a line): that far out of
    # a triangle squeezed to a fifth of its source area, the map would fetch pixels from far
    # away, so such samples take the nearest point of their triangle instead.
    s0, s1 = source[verts[:, 1]] - source[verts[:, 0]], source[verts[:, 2]] - source[verts[:, 0]]
    squeezed = np.abs(det) < 0.2 * np.abs(s0[:, 0] * s1[:, 1] - s0[:, 1] * s1[:, 0])
    clamped = np.clip(bary[squeezed], 0.0, None)
    bary[squeezed] = clamped / clamped.sum(axis=1, keepdims=True)
    src = np.einsum("nk,nkd->nd", bary, source[verts])
    disp = np.zeros_like(pts)
    disp[inside] = src - pts[inside]
    return disp.reshape(grid.height, grid.width, 2).astype(np.float32)


def triangle_index(points: np.ndarray, simplices: np.ndarray, grid: Grid) -> np.ndarray:
    """int32 [h, w]: the triangle under each grid sample (-1 outside), by rasterizing the mesh.

    Drawing ~300 triangles with OpenCV is deterministic and ~100x faster here than qhull's
    point location; a sample on a shared edge takes the triangle drawn last, which is exact
    there anyway because neighbouring affine maps agree on their common edge.
    """
    ids = np.full((grid.height, grid.width), -1, np.int32)
    lx, ly = grid.to_low(points[:, 0], points[:, 1])
    low = np.round(np.stack([lx, ly], axis=1) * 16).astype(np.int32)
    for index, simplex in enumerate(simplices):
        cv2.fillConvexPoly(ids, low[simplex], int(index), lineType=cv2.LINE_8, shift=4)
    return ids


def polygon_mask(points: np.ndarray, grid: Grid, feather: float) -> np.ndarray:
    """float32 [h, w] in [0, 1]: 1 inside the polygon, fading out over ``feather`` full-res pixels."""
    lx, ly = grid.to_low(points[:, 0], points[:, 1])
    canvas = np.zeros((grid.height, grid.width), np.uint8)
    shift = 4
    poly = np.round(np.stack([lx, ly], axis=1) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(canvas, [poly], 255, lineType=cv2.LINE_AA, shift=shift)
    mask = canvas.astype(np.float32) / 255.0
    sigma = max(feather / grid.step, 0.3)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def head_mask(rest: np.ndarray, iod: float, v: np.ndarray, grid: Grid, frame_size: int) -> np.ndarray:
    """float32 [h, w]: 1 on the head (face, hair), fading to 0 over the neck and background.

    An ellipse round the face contour widened for hair and ears; the fade is a smoothstep
    over about one inter-ocular distance so the neck stretches instead of tearing.
    """
    jaw = rest[0:17]
    brows = rest[17:27]
    top = brows - v * 1.35 * iod
    hull = np.concatenate([jaw, top]).astype(np.float32)
    center = hull.mean(axis=0)
    grown = center + (hull - center) * 1.12
    lx, ly = grid.to_low(grown[:, 0], grown[:, 1])
    canvas = np.full((grid.height, grid.width), 255, np.uint8)
    cv2.fillConvexPoly(canvas, np.round(np.stack([lx, ly], 1) * 16).astype(np.int32), 0, lineType=cv2.LINE_AA, shift=4)
    dist = cv2.distanceTransform(canvas, cv2.DIST_L2, 5) * grid.step  # full-res px outside the head
    fade = 0.9 * iod
    t = np.clip(1.0 - dist / fade, 0.0, 1.0)
    # The frame's outer 5% never moves (no smeared edges, a steady background in the corners);
    # the mask fades in over the next 6%.
    gx, gy = grid.coords()
    edge = np.minimum.reduce([gx, gy, frame_size - 1 - gx, frame_size - 1 - gy])
    b = np.clip((edge - 0.05 * frame_size) / (0.06 * frame_size), 0.0, 1.0)
    return (t * t * (3 - 2 * t) * b * b * (3 - 2 * b)).astype(np.float32)
