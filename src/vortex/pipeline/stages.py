"""Small helpers of the slot's steps: running branches all-or-nothing,
the expression spec of a visual track, checking the caller's buffer, typing failures, stage logs."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from vortex.devices import is_cuda_oom
from vortex.errors import CudaOutOfMemoryError, InvalidInputError, StageStoppedError, VortexError
from vortex.progress import Progress
from vortex.recipe import VisualTrack


def log_stage(progress: Progress, stage: str, seconds: float, **fields: Any) -> None:
    if progress.mode == "json":
        progress.log("stage", stage=stage, seconds=seconds, **fields)
    elif progress.mode == "bar":
        extra = "".join(f", {v} {k}" for k, v in fields.items())
        progress.log(f"{stage} done in {seconds:.1f} s{extra}")


async def all_or_nothing(*awaitables) -> list:
    """Await all concurrently; on the first failure cancel the rest and raise that failure
    itself (``TaskGroup`` would wrap it in an ExceptionGroup, hiding its exit code). Every
    task's outcome is collected, so a second failure (both branches hitting the deadline at
    once) is never left to asyncio's "Task exception was never retrieved" on stderr."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    for task in tasks:
        if not task.done():
            task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)  # retrieves every exception
    failures = [o for t, o in zip(tasks, outcomes) if not t.cancelled() and isinstance(o, BaseException)]
    # The cause wins over stages that merely stopped because of it; then the first stage's error.
    for failure in sorted(failures, key=lambda f: isinstance(f, StageStoppedError)):
        raise failure
    return outcomes


def expression_spec(visual: VisualTrack):
    if visual.expression_sequence is None:
        return visual.expression_preset
    if visual.expression_starts is None:
        return list(visual.expression_sequence)
    return list(zip(visual.expression_sequence, visual.expression_starts))


def check_buffer(buffer: np.ndarray | None, frames: int, size: int, auto: bool) -> np.ndarray | None:
    if buffer is None:
        return None
    expected = f"float32 [{frames}, 3, {size}, {size}]"
    if not isinstance(buffer, np.ndarray) or buffer.dtype != np.float32 or buffer.ndim != 4 or buffer.shape[1:] != (3, size, size):
        got = f"{getattr(buffer, 'dtype', type(buffer).__name__)} {tuple(getattr(buffer, 'shape', ()))}"
        raise InvalidInputError(f"buffer must be {expected}, got {got}")
    if buffer.shape[0] < frames or (not auto and buffer.shape[0] != frames):
        raise InvalidInputError(f"buffer must be {expected} for this slot, got {buffer.shape[0]} frames")
    if not buffer.flags.c_contiguous or not buffer.flags.writeable:
        raise InvalidInputError("buffer must be a writable, C-contiguous array")
    return buffer[:frames]


def typed_error(error: BaseException) -> BaseException:
    """Failures as Vortex's typed errors: CUDA OOM named as such, the rest kept."""
    if isinstance(error, VortexError):
        return error
    if is_cuda_oom(error):
        wrapped = CudaOutOfMemoryError(f"CUDA out of memory: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        wrapped.__cause__ = error
        return wrapped
    if isinstance(error, MemoryError):
        return VortexError("out of memory (RAM); use a smaller --size or a shorter slot")
    return error
