"""Keep native libraries' log lines out of the command's own stderr.

Why: mediapipe and TensorFlow Lite write straight to file descriptor 2 from C++ ("INFO: Created
TensorFlow Lite XNNPACK delegate", absl "W0000 ..." lines), bypassing Python. With ``--quiet``
that breaks the promise of silence, and with ``--log-json`` it breaks the promise that every
stderr line is JSON. ``NativeStderr`` points fd 2 at a pipe for the duration of a command and
moves Python's ``sys.stderr`` to a duplicate of the original descriptor, so Vortex's own lines
are unaffected; a reader thread hands each native line on as the mode says: ``bar`` forwards it
unchanged, ``json`` wraps it as a ``{"event": "native_log"}`` line, ``quiet`` drops it.

The new ``sys.stderr`` escapes what it cannot encode (``backslashreplace``), so echoing a
user's malformed text (a lone surrogate) in a message can never raise.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time


_END = b"\x00vortex-native-log-end\x00\n"
"""Written by ``__exit__`` after everything else in the pipe: the reader stops there."""


class NativeStderr:
    """Context manager: native writes to fd 2 are forwarded per ``mode`` ("bar", "json", "quiet")."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._saved_fd: int | None = None
        self._saved_stream = None
        self._reader: threading.Thread | None = None
        self._read_fd: int | None = None
        self._write_fd: int | None = None

    def __enter__(self) -> "NativeStderr":
        try:
            sys.stderr.flush()
            owns_fd2 = sys.stderr.fileno() == 2
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            owns_fd2 = False  # a test's capture object: it does not write to fd 2 anyway
        try:
            self._read_fd, write_fd = os.pipe()
            self._saved_fd = os.dup(2)
        except OSError:
            return self
        if owns_fd2:
            self._saved_stream = sys.stderr
            sys.stderr = io.TextIOWrapper(io.FileIO(os.dup(self._saved_fd), "w"), encoding="utf-8",
                                          errors="backslashreplace", line_buffering=True)
        os.dup2(write_fd, 2)
        self._write_fd = write_fd  # kept to send the end marker: a library may hold its own copy of fd 2
        self._reader = threading.Thread(target=self._forward, name="vortex-native-log", daemon=True)
        self._reader.start()
        return self

    def _forward(self) -> None:
        with io.open(self._read_fd, "rb", closefd=True) as pipe:
            for raw in pipe:
                done = raw.endswith(_END)  # after a native line left without its newline, too
                line = raw[: -len(_END)] if done else raw
                self._emit(line.decode("utf-8", "backslashreplace").rstrip("\n"))
                if done:
                    return

    def _emit(self, line: str) -> None:
        if self.mode == "quiet" or not line.strip():
            return
        try:
            if self.mode == "json":
                sys.stderr.write(json.dumps({"ts": round(time.time(), 3), "event": "native_log", "message": line}) + "\n")
            else:
                sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass

    def __exit__(self, *exc: object) -> None:
        if self._saved_fd is None:
            return
        os.dup2(self._saved_fd, 2)
        os.close(self._saved_fd)
        if self._write_fd is None:
            return
        # Not EOF: a native library may have duplicated fd 2, keeping the pipe open for ever.
        try:
            os.set_blocking(self._write_fd, False)  # a reader that has stopped must not block the exit
            os.write(self._write_fd, _END)
        except OSError:
            pass
        os.close(self._write_fd)
        from vortex.signals import stop_received

        # The reader needs the GIL to drain the pipe; after a stop signal, stage threads that
        # cannot stop may hold it, and the process must end within 2 s: a late native line is lost.
        if self._reader is not None and stop_received() is None:
            self._reader.join(timeout=1.0)
        if self._saved_stream is not None:
            replaced, sys.stderr = sys.stderr, self._saved_stream
            try:
                replaced.flush()
                replaced.close()
            except (OSError, ValueError):
                pass
