"""PNG frame sink: ``frame_000001.png``, ... in a folder that appears whole or not at all.

Frames are written into a hidden staged folder beside the destination (``OutputTransaction``)
and moved into place on close, so an interrupted run never leaves a half-filled folder that
looks finished. An existing folder that holds files is refused unless ``overwrite=True``: it may
hold the user's own files. Given a caller's ``transaction``, the folder is published with the
caller's other outputs (all together or none) instead of on close.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vortex.errors import InvalidInputError, MissingResourceError
from vortex.media.sink import SinkContext, frame_batch
from vortex.media.transaction import OutputTransaction

FRAME_NAME = "frame_{:06d}.png"
"""File name of frame ``i`` (1-based), so a shell glob lists frames in order."""


class PngFramesSink(SinkContext):
    """Write RGB uint8 frames as numbered PNG files into ``directory``, atomically.

    ``write(chunk)`` takes uint8 [n, H, W, 3] (or one [H, W, 3] frame); ``close()`` finishes the
    folder (and publishes it unless a ``transaction`` will). As a context manager, an exception
    (KeyboardInterrupt included) removes everything written.
    """

    def __init__(self, directory: str | os.PathLike[str], compression: int = 3, overwrite: bool = False,
                 transaction: OutputTransaction | None = None) -> None:
        try:
            import cv2
        except ImportError as exc:  # pragma: no cover - opencv is a core dependency
            raise MissingResourceError("opencv-contrib-python==4.11.0.86 is required to write PNG frames") from exc
        self._cv2 = cv2
        self.directory = Path(directory)
        self._own_transaction = transaction is None
        self._transaction = transaction if transaction is not None else OutputTransaction(overwrite=overwrite)
        self._tmp = self._transaction.stage_dir(self.directory, flag="--frames")
        self._params = [cv2.IMWRITE_PNG_COMPRESSION, int(compression)]
        self.frames_written = 0
        self._closed = False

    def write(self, chunk: np.ndarray) -> None:
        if self._closed:
            raise InvalidInputError(f"{self.directory} is already closed")
        try:
            frames = frame_batch(chunk)
        except InvalidInputError:
            self.abort()
            raise
        for image in frames:
            self.frames_written += 1
            target = self._tmp / FRAME_NAME.format(self.frames_written)
            if not self._cv2.imwrite(str(target), np.ascontiguousarray(image[:, :, ::-1]), self._params):
                self.abort()
                raise OSError(f"could not write {target}")

    def write_audio(self, samples: np.ndarray) -> None:
        """PNG frames carry no audio; accepted and ignored (see ``vortex.media.sink.FrameSink``)."""

    def close(self) -> Path:
        """Finish the folder; publish it now unless the caller's transaction publishes it."""
        if self._closed:
            return self.directory
        if self._own_transaction:
            try:
                self._transaction.commit()  # undoes itself and removes the staged folder on failure
            finally:
                self._closed = True
        self._closed = True
        return self.directory

    def abort(self) -> None:
        """Remove everything written; ``directory`` is left as it was."""
        if not self._closed:
            self._closed = True
            if self._own_transaction:
                self._transaction.abort()
