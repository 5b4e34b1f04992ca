"""Weighted sums of fields in a fixed order, so a frame depends only on its inputs.

A matrix-vector product through BLAS (``weights @ basis``) is split across BLAS's threads, and
the split changes the rounding: the same slot rendered with ``OPENBLAS_NUM_THREADS=1`` and with
2 threads gave different frames, so a slot's bytes depended on the machine's cores (a Ray
worker sets its thread count from its CPUs). Elementwise numpy runs on one thread in one order.
The rows are few (a dozen blend shapes, a few turn fields) and a field is small; each row is one
``cv2.scaleAdd`` pass (``total = weight * row + total``, vectorised, never split across threads),
about a third of NumPy's multiply-then-add through a temporary.

Most blend shapes move only part of the face (a blink its eye, gaze the irises, the jaw the
lower face), and a frame is memory-bound, so ``CroppedRows`` keeps each row as the box round
its non-zero samples and adds only that box: the same sum, a quarter of the memory traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def weighted_sum(weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``sum_i weights[i] * rows[i]`` over the first axis, row by row in order, in ``rows``' float dtype.

    weights: [K]; rows: [K, ...]; returns an array of shape ``rows.shape[1:]``. Rows whose weight
    is zero are skipped (they add exactly zero to finite fields).
    """
    dtype = np.result_type(rows.dtype, np.float32)
    rows = np.ascontiguousarray(rows, dtype)
    total = np.zeros(rows.shape[1:], dtype)
    flat = total.reshape(-1)  # cv2 takes any row as one long column
    for weight, row in zip(np.asarray(weights, np.float64), rows):
        if weight:
            cv2.scaleAdd(row.reshape(-1), float(dtype.type(weight)), flat, dst=flat)
    return total


@dataclass(frozen=True)
class CroppedRows:
    """Rows [K, h, w, c] (float32) kept as each row's bounding box of non-zero samples."""

    shape: tuple[int, ...]  # (h, w, c) of one row
    boxes: tuple[tuple[int, int, int, int], ...]  # (r0, r1, c0, c1) per row; r0 == r1 when all zero
    crops: tuple[np.ndarray, ...]  # float32 [r1 - r0, c1 - c0, c] per row, C-contiguous

    @classmethod
    def from_dense(cls, rows: np.ndarray) -> CroppedRows:
        rows = np.asarray(rows, np.float32)
        boxes, crops = [], []
        for row in rows:
            ys, xs = np.nonzero(np.any(row != 0, axis=-1))
            if ys.size == 0:
                box = (0, 0, 0, 0)
            else:
                box = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
            boxes.append(box)
            crops.append(np.ascontiguousarray(row[box[0] : box[1], box[2] : box[3]]))
        return cls(tuple(rows.shape[1:]), tuple(boxes), tuple(crops))

    def union_box(self, weights, extra: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int] | None:
        """The box (r0, r1, c0, c1) round every row with a non-zero weight (and ``extra``); None when empty."""
        boxes = [box for weight, box in zip(np.asarray(weights).tolist(), self.boxes) if weight and box[1] > box[0]]
        if extra is not None:
            boxes.append(extra)
        if not boxes:
            return None
        r0s, r1s, c0s, c1s = zip(*boxes)
        return min(r0s), max(r1s), min(c0s), max(c1s)

    def add_into(self, total: np.ndarray, weights, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
        """``total += sum_i weights[i] * rows[i]`` in place, row by row in order, zero weights skipped;
        ``total`` (float32) holds the rows' samples from (row, column) ``origin`` on and must cover
        every row in use. Returns ``total``."""
        oy, ox = origin
        for weight, (r0, r1, c0, c1), crop in zip(np.asarray(weights, np.float64).tolist(), self.boxes, self.crops):
            if weight and r1 > r0:
                view = total[r0 - oy : r1 - oy, c0 - ox : c1 - ox]
                cv2.scaleAdd(crop, float(np.float32(weight)), view, dst=view)
        return total
