"""Helpers every animator shares; the ``Animator`` interface itself lives with the other stage
interfaces in ``vortex.stages`` (re-exported here)."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from vortex.stages import Animator

__all__ = ["Animator", "write_chunks_into"]


def write_chunks_into(chunks: Iterator[np.ndarray], buffer: np.ndarray) -> int:
    """Copy uint8 [n, H, W, 3] chunks into a float32 [T, 3, H, W] buffer in [0, 1] without a second full-video array.

    Returns the number of frames written. Only one chunk is ever converted at a time.
    """
    if buffer.dtype != np.float32 or buffer.ndim != 4 or buffer.shape[1] != 3:
        raise ValueError(f"buffer must be float32 [T, 3, H, W], got {buffer.dtype} {buffer.shape}")
    written = 0
    for chunk in chunks:
        n = chunk.shape[0]
        if written + n > buffer.shape[0]:
            raise ValueError(f"buffer holds {buffer.shape[0]} frames; animator produced more")
        target = buffer[written : written + n]
        np.multiply(chunk.transpose(0, 3, 1, 2), np.float32(1.0 / 255.0), out=target, casting="unsafe")
        written += n
    return written
