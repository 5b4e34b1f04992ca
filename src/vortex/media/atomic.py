"""Write-then-rename, so a failed, interrupted or timed-out run never leaves a half-written output."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def current_umask() -> int:
    """The process umask, read without changing it (Linux exposes it in /proc); 0o022 elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def publish_mode(path: Path, directory: bool = False) -> None:
    """Give a temporary output the permissions a plainly created file (or folder) would have.

    mkstemp/mkdtemp create 0600/0700 so nobody reads a half-written file; once complete, the
    result should be as readable as anything else the user writes.
    """
    base = 0o777 if directory else 0o666
    path.chmod(base & ~current_umask())


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    The temporary file keeps the destination's suffix so encoders that pick a format from the
    file name (``.mp4``, ``.wav``) still do. On any exception, KeyboardInterrupt included, it is
    removed and the exception propagates.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".partial{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        publish_mode(tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
