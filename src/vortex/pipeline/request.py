"""``SlotRequest``: everything one slot needs, typed (what to make, where it goes, its limits),
and ``SlotProgress``, what an observer is told while it is made."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from vortex.errors import InvalidInputError
from vortex.progress import Progress
from vortex.recipe import Recipe


@dataclass(frozen=True)
class SlotInputs:
    """In-memory inputs that replace a recipe's files (the ``animate`` call).

    waveform: float32 [N] mono speech at 24 kHz; image: uint8 [H, W, 3] RGB with a face.
    """

    waveform: np.ndarray | None = None
    image: np.ndarray | None = None


@dataclass(frozen=True)
class SlotProgress:
    """One observation of a running slot.

    stage: what moved last: ``speech`` (a chunk was synthesized), ``actor``, ``animation`` (a
    frame reached the sinks) or ``done``. frames_total is 0 while an ``auto`` slot is still
    speaking (its length is not known yet).
    """

    slot_id: str
    stage: str
    frames_done: int = 0
    frames_total: int = 0
    speech_chunks_done: int = 0
    speech_chunks_total: int = 0
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class SlotRequest:
    """One slot to make.

    recipe: what is said, by whom, how long (a dict is validated by the run, so a bad one
    becomes a failed result with its report); ``inputs`` replace its files for ``animate``.
    output: MP4 path; frames_dir: folder of PNG frames; hls_dir: folder for an HLS playlist and its
    segments, written while the slot renders; buffer: the caller's float32 [T, 3, H, W] array,
    filled in place; return_frames: allocate such an array into ``SlotResult.frames_buffer``.
    report: JSON summary path (written for failures too). deadline: seconds for the whole slot.
    progress: the status lines / JSON events; on_progress: called (from worker threads) with a
    ``SlotProgress`` whenever a chunk of speech or frames moved. cancel: set it to stop the slot
    at its next chunk; it then fails with ``SlotCancelledError`` and leaves nothing behind.
    """

    recipe: Recipe | dict
    slot_id: str = "slot"
    inputs: SlotInputs = field(default_factory=SlotInputs)
    output: str | os.PathLike[str] | None = None
    frames_dir: str | os.PathLike[str] | None = None
    hls_dir: str | os.PathLike[str] | None = None
    buffer: np.ndarray | None = None
    return_frames: bool = False
    report: str | os.PathLike[str] | None = None
    deadline: float | None = None
    progress: Progress | None = None
    on_progress: Callable[[SlotProgress], None] | None = None
    cancel: threading.Event | None = None
    overwrite: bool = False
    """Let ``frames_dir`` replace a folder that already holds files (refused otherwise)."""

    def check(self) -> None:
        """Refuse a request that would produce nothing, or replace a folder of the user's files."""
        if self.output is None and self.frames_dir is None and self.hls_dir is None and self.buffer is None and not self.return_frames:
            raise InvalidInputError("nothing to produce: give an output MP4, a frames folder, an HLS folder or a buffer")
        if self.frames_dir is not None:  # before any work: never discover a full folder at the end
            from pathlib import Path

            from vortex.media.transaction import check_folder_target

            check_folder_target(Path(self.frames_dir), self.overwrite, "--frames")

    @property
    def from_memory(self) -> bool:
        return self.inputs.waveform is not None or self.inputs.image is not None
