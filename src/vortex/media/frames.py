"""PNG frame sink: ``frame_000001.png``, ... in a folder that appears whole or not at all.

Frames are written into a hidden temporary folder beside the destination and renamed into place
on close, so an interrupted run never leaves a half-filled folder that looks finished.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from vortex.errors import InvalidInputError, MissingResourceError
from vortex.media.atomic import publish_mode
from vortex.media.sink import SinkContext, frame_batch

FRAME_NAME = "frame_{:06d}.png"
"""File name of frame ``i`` (1-based), so a shell glob lists frames in order."""


class PngFramesSink(SinkContext):
    """Write RGB uint8 frames as numbered PNG files into ``directory``, atomically.

    ``write(chunk)`` takes uint8 [n, H, W, 3] (or one [H, W, 3] frame); ``close()`` moves the
    finished folder into place, replacing an existing folder of the same name. As a context
    manager, an exception (KeyboardInterrupt included) removes everything written.
    """

    def __init__(self, directory: str | os.PathLike[str], compression: int = 3) -> None:
        try:
            import cv2
        except ImportError as exc:  # pragma: no cover - opencv is a core dependency
            raise MissingResourceError("opencv-contrib-python==4.11.0.86 is required to write PNG frames") from exc
        self._cv2 = cv2
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise InvalidInputError(f"--frames target exists and is not a folder: {self.directory}")
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.", suffix=".partial", dir=self.directory.parent))
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
        """Move the finished folder over ``directory`` (an older folder there is replaced)."""
        if self._closed:
            return self.directory
        self._closed = True
        old = None
        if self.directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.", suffix=".old", dir=self.directory.parent))
            os.replace(self.directory, old / "previous")
        publish_mode(self._tmp, directory=True)
        os.replace(self._tmp, self.directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.directory

    def abort(self) -> None:
        """Remove everything written; ``directory`` is left as it was."""
        if not self._closed:
            self._closed = True
            shutil.rmtree(self._tmp, ignore_errors=True)
