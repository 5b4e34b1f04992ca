"""Publish several outputs of one run together, or none of them.

Why: a slot writes an MP4, a frames folder and a report. Renaming each into place as it
finishes (``atomic_output``) keeps every file whole, but a failure between two renames leaves
some outputs published and others not, and a folder renamed over an existing one can destroy
what was there. ``OutputTransaction`` stages every output beside its destination (hidden
``.NAME.XXXX.partial`` files and folders, on the same filesystem so the final renames are
atomic), and ``commit()`` moves them all into place, keeping anything it replaces until every
rename has succeeded; if one fails, the ones already made are undone and the replaced files
put back. ``abort()`` (also on any exception in a ``with`` block) removes every staged path.

An existing non-empty folder is never replaced unless the transaction was made with
``overwrite=True``: a folder may hold the user's own files (``--frames .``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from vortex.errors import InvalidInputError
from vortex.media.atomic import publish_mode


@dataclass
class _Staged:
    final: Path
    staged: Path
    is_dir: bool


def _remove(path: Path) -> None:
    """Remove a file or a folder tree; missing is fine. A writer still finishing a file inside a
    folder being removed can make one pass fail, hence the second."""
    for _ in range(3):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except IsADirectoryError:
                continue
        if not os.path.lexists(path):
            return


def check_folder_target(final: Path, overwrite: bool, flag: str = "folder") -> None:
    """Refuse a destination folder that holds files unless ``overwrite`` (and a non-folder)."""
    if final.exists() and not final.is_dir():
        raise InvalidInputError(f"{flag}: {final} exists and is not a folder")
    if final.is_dir() and any(final.iterdir()) and not overwrite:
        raise InvalidInputError(f"{flag}: {final} is not empty; choose a new folder or pass --overwrite to replace it")


class OutputTransaction:
    """Stage outputs (``stage_file``, ``stage_dir``), then ``commit()`` all or ``abort()`` all."""

    def __init__(self, overwrite: bool = False) -> None:
        self.overwrite = overwrite
        self._entries: list[_Staged] = []
        self._lock = threading.Lock()
        self._done = False

    # -- staging ----------------------------------------------------------------------------

    def stage_file(self, final: str | os.PathLike[str]) -> Path:
        """A new empty hidden file beside ``final`` to write the output into (same suffix, so
        encoders that choose a format by name still do)."""
        target = Path(final)
        target.parent.mkdir(parents=True, exist_ok=True)

        def make() -> Path:
            fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".partial{target.suffix}", dir=target.parent)
            os.close(fd)
            return Path(name)

        return self._add(target, make, False)

    def stage_dir(self, final: str | os.PathLike[str], flag: str = "folder") -> Path:
        """A new empty hidden folder beside ``final``; refuses a non-empty ``final`` unless overwriting."""
        target = Path(final)
        check_folder_target(target, self.overwrite, flag)
        target.parent.mkdir(parents=True, exist_ok=True)
        return self._add(target, lambda: Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)), True)

    def _add(self, final: Path, make, is_dir: bool) -> Path:
        """``make()`` the staged path and record it in one step under the lock, so an ``abort``
        from another thread (a slot stopped while its sink thread opens its outputs) comes
        either before (nothing is made) or after (it is removed), never between the two: a
        process exiting right after ``abort`` leaves no staged path behind."""
        with self._lock:
            if self._done:
                raise InvalidInputError(f"{final}: the outputs were already published or discarded")
            staged = make()
            self._entries.append(_Staged(final, staged, is_dir))
        return staged

    @property
    def staged_paths(self) -> list[Path]:
        return [e.staged for e in self._entries]

    # -- ending -----------------------------------------------------------------------------

    def commit(self) -> None:
        """Move every staged output into place; on any failure undo all and re-raise."""
        with self._lock:
            if self._done:
                raise InvalidInputError("the outputs were already published or discarded")
            self._done = True
            entries = list(self._entries)
        for entry in entries:
            if entry.is_dir:
                check_folder_target(entry.final, self.overwrite)
        published: list[tuple[_Staged, Path | None]] = []
        try:
            for entry in entries:
                publish_mode(entry.staged, directory=entry.is_dir)
                backup = self._set_aside(entry)
                published.append((entry, backup))
                os.replace(entry.staged, entry.final)
        except BaseException:
            self._undo(published)
            for entry in entries:
                _remove(entry.staged)
            raise
        for _, backup in published:
            if backup is not None:
                _remove(backup.parent)

    def _set_aside(self, entry: _Staged) -> Path | None:
        """Keep what ``entry.final`` holds now in a hidden folder beside it, until the commit ends."""
        if not os.path.lexists(entry.final):
            return None
        if entry.final.is_dir() and not entry.is_dir:
            raise IsADirectoryError(f"{entry.final} is a folder; a file cannot replace it")
        holder = Path(tempfile.mkdtemp(prefix=f".{entry.final.name}.", suffix=".old", dir=entry.final.parent))
        backup = holder / "previous"
        if entry.is_dir:
            os.replace(entry.final, backup)
        else:
            # A hard link keeps the old file while os.replace swaps the new one in atomically,
            # so the destination never disappears; where links are impossible, a copy.
            try:
                os.link(entry.final, backup, follow_symlinks=False)
            except OSError:
                shutil.copy2(entry.final, backup, follow_symlinks=False)
        return backup

    def _undo(self, published: list[tuple[_Staged, Path | None]]) -> None:
        for entry, backup in reversed(published):
            if not os.path.lexists(entry.staged):  # renamed into place: take the new output away
                _remove(entry.final)
            if backup is not None:
                if not os.path.lexists(entry.final):
                    os.replace(backup, entry.final)
                _remove(backup.parent)

    def abort(self) -> None:
        """Remove every staged output; destinations are left exactly as they were."""
        with self._lock:
            self._done = True
            entries = list(self._entries)
        for entry in entries:
            _remove(entry.staged)

    def __enter__(self) -> "OutputTransaction":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            if not self._done:
                self.commit()
        else:
            self.abort()
