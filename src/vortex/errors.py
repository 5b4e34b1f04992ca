"""Typed errors for every stage, so the CLI can map them to exit codes and one-line messages.

Exit codes: 2 for input the user can fix, 3 for timeouts and deadlines, 130 for a cancelled slot,
1 for everything else.
"""

from __future__ import annotations


class VortexError(Exception):
    """Base class: anything Vortex raises on purpose derives from this."""

    exit_code = 1


class InvalidInputError(VortexError, ValueError):
    """The request itself is wrong (empty text, unknown voice, unreadable file...).

    Its message is always one line: messages quote what the user gave (a file name, a field's
    text), and a name with a newline or another control character in it must not split the
    line a script or a log reader takes as the error, so such characters are written escaped
    (``\\n``)."""

    exit_code = 2

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(_one_line(str(message)), *args)


def _one_line(text: str) -> str:
    """``text`` with control characters (newlines, tabs, escapes) written as Python escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class MissingResourceError(VortexError):
    """A backend needs a file or package that is not installed; the message says how to get it."""

    exit_code = 1


class ModelIntegrityError(VortexError):
    """A model file exists but does not match its expected hash or layout."""

    exit_code = 1


class TransientError(VortexError):
    """A failure worth retrying (a busy device, an interrupted read); never used for bad input."""

    exit_code = 1


class CudaOutOfMemoryError(VortexError):
    """The GPU ran out of memory; reported as such rather than as a generic crash."""

    exit_code = 1


class SlotCancelledError(VortexError):
    """The caller cancelled the slot (``SlotRequest.cancel``); it stopped at its next chunk, leaving nothing."""

    exit_code = 130


class DeadlineExceededError(VortexError, TimeoutError):
    """A stage timeout or the slot's overall deadline passed before the work finished."""

    exit_code = 3


class StageStoppedError(DeadlineExceededError):
    """A stage gave up because its slot was stopped by something else (another stage's timeout
    or failure, the deadline, a cancel): a consequence, never the slot's reported cause."""
