"""Weighted sums of fields in a fixed order, so a frame depends only on its inputs.

A matrix-vector product through BLAS (``weights @ basis``) is split across BLAS's threads, and
the split changes the rounding: the same slot rendered with ``OPENBLAS_NUM_THREADS=1`` and with
2 threads gave different frames, so a slot's bytes depended on the machine's cores (a Ray
worker sets its thread count from its CPUs). Elementwise numpy runs on one thread in one order.
The rows are few (a dozen blend shapes, a few turn fields) and a field is small, so this costs
about what the BLAS call did.
"""

from __future__ import annotations

import numpy as np


def weighted_sum(weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``sum_i weights[i] * rows[i]`` over the first axis, row by row in order, in ``rows``' float dtype.

    weights: [K]; rows: [K, ...]; returns an array of shape ``rows.shape[1:]``. Rows whose weight
    is zero are skipped (they add exactly zero to finite fields).
    """
    dtype = np.result_type(rows.dtype, np.float32)
    weights = np.asarray(weights, dtype)
    total = np.zeros(rows.shape[1:], dtype)
    term = np.empty_like(total)
    for weight, row in zip(weights, rows):
        if weight:
            np.multiply(row, weight, out=term)
            total += term
    return total
