"""Checks on the files a command reads and writes, made before any work starts.

Why: an output that names an input (``--photo face.png -o face.png``), another output
(``-o x.mp4 --report x.mp4``) or a folder holding an input (``--frames .``) would overwrite the
user's own file, and an unwritable destination would be found only after minutes of work.
Paths are compared resolved (symlinks and ``..`` followed) and, where both exist, by identity
(``os.path.samefile``: hard links too). Every failure is one ``InvalidInputError`` line naming
the flags involved (exit 2).

Files are size-checked before they are read, so a 3 GB "photo" is refused without reading it,
and text from stdin is read with a cap.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

from vortex.errors import InvalidInputError

MB = 1024 * 1024


@dataclass(frozen=True)
class PathUse:
    """One path a command uses: the flag (or recipe field) that named it and how it is used."""

    flag: str
    path: Path
    role: str  # "input", "output" (a file) or "folder" (an output folder)


def uses(role: str, named: dict[str, str | os.PathLike[str] | None]) -> list[PathUse]:
    """``PathUse`` entries for every flag -> path given (None skipped; ``-`` is stdin, not a file)."""
    return [PathUse(flag, Path(p), role) for flag, p in named.items() if p is not None and str(p) != "-"]


def _resolved(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve(strict=False)


def _same(a: PathUse, b: PathUse) -> bool:
    if _resolved(a.path) == _resolved(b.path):
        return True
    try:
        return a.path.exists() and b.path.exists() and os.path.samefile(a.path, b.path)
    except OSError:
        return False


def _inside(inner: PathUse, folder: PathUse) -> bool:
    return _resolved(inner.path).is_relative_to(_resolved(folder.path))


def check_distinct(paths: Iterable[PathUse]) -> None:
    """Refuse an output that is an input or another output, or an output folder holding either."""
    entries = list(paths)
    for i, a in enumerate(entries):
        for b in entries[i + 1 :]:
            if a.role == "input" and b.role == "input":
                continue  # reading one file twice harms nothing
            if _same(a, b):
                raise InvalidInputError(f"{b.flag} and {a.flag} name the same file ({b.path}); give the output another name")
            for outer, inner in ((a, b), (b, a)):
                if outer.role == "folder" and _inside(inner, outer):
                    raise InvalidInputError(f"{outer.flag} {outer.path} would hold {inner.flag} {inner.path}; choose a separate folder")


def check_writable(use: PathUse) -> None:
    """Refuse an output whose destination cannot be created: checked now, not after the work."""
    path = use.path
    if use.role == "output" and path.is_dir():
        raise InvalidInputError(f"{use.flag}: {path} is a folder; give a file name")
    if use.role == "folder" and path.exists() and not path.is_dir():
        raise InvalidInputError(f"{use.flag}: {path} exists and is not a folder")
    parent = Path(os.path.abspath(path)).parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InvalidInputError(f"{use.flag}: cannot create {path}: {parent} is not a folder")
    # A real probe, not os.access: root passes every permission check, yet /proc or a read-only
    # mount still refuses the file. The probe is a hidden empty file, removed at once.
    try:
        fd, probe = tempfile.mkstemp(prefix=".vortex-write-check.", dir=parent)
    except OSError as exc:
        raise InvalidInputError(f"{use.flag}: cannot write {path}: {exc.strerror} in {parent}") from None
    os.close(fd)
    os.unlink(probe)


def check_input_file(flag: str, path: str | os.PathLike[str], max_bytes: int) -> Path:
    """An existing regular file no larger than ``max_bytes`` (read nothing yet)."""
    p = Path(path)
    if p.is_dir():
        raise InvalidInputError(f"{flag}: {p} is a folder, not a file")
    if not p.exists():
        raise InvalidInputError(f"{flag}: file not found: {p}")
    if not p.is_file():
        raise InvalidInputError(f"{flag}: {p} is not a regular file")
    size = p.stat().st_size
    if size > max_bytes:
        raise InvalidInputError(f"{flag}: {p} is {size / MB:.1f} MB; the limit is {max_bytes / MB:g} MB")
    return p


def read_capped(stream: BinaryIO, max_bytes: int, flag: str) -> bytes:
    """At most ``max_bytes`` from a stream; more is refused without reading it all."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidInputError(f"{flag}: more than {max_bytes / MB:g} MB of input; the limit is {max_bytes / MB:g} MB")
    return data


def decode_utf8(data: bytes, flag: str, where: str) -> str:
    """UTF-8 text, or one line saying where the first undecodable byte is."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{flag}: cannot read {where} as UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def read_text_input(flag: str, name: str, max_bytes: int) -> str:
    """UTF-8 text from a file or, for ``-``, from stdin; size-capped before reading."""
    if name == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream (an embedding program's): characters, with the same cap
            text = sys.stdin.read(max_bytes + 1)
            if len(text) > max_bytes:
                raise InvalidInputError(f"{flag}: more than {max_bytes / MB:g} MB of input; the limit is {max_bytes / MB:g} MB")
            return text
        return decode_utf8(read_capped(stream, max_bytes, flag), flag, "stdin")
    path = check_input_file(flag, name, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"{flag}: cannot read {path}: {exc.strerror}") from None
    return decode_utf8(data, flag, str(path))
