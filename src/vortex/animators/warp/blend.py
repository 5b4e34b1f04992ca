"""Weighted sums of fields in a fixed order, so a frame depends only on its inputs.

A matrix-vector product through BLAS (``weights @ basis``) is split across BLAS's threads, and
the split changes the rounding: the same slot rendered with ``OPENBLAS_NUM_THREADS=1`` and with
2 threads gave different frames, so a slot's bytes depended on the machine's cores (a Ray
worker sets its thread count from its CPUs). Elementwise numpy runs on one thread in one order.
The rows are few (a dozen blend shapes, a few turn fields) and a field is small; each row is one
``cv2.scaleAdd`` pass (``total = weight * row + total``, vectorised, never split across threads),
about a third of NumPy's multiply-then-add through a temporary.
"""

from __future__ import annotations

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
