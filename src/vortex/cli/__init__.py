"""The ``vortex`` command: one subcommand per job, each in its own module under ``vortex.cli``.

Exit codes: 0 success, 1 internal failure, 2 invalid input, 3 timeout or deadline,
4 measured but below target (``vortex eval``), 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (each stop
signal removes partial outputs the same way; see ``vortex.signals``).

``entry()`` is the process entry point (the ``vortex`` script, ``python -m vortex.cli``): it
runs ``main()`` and, if a stage thread that cannot be stopped is still computing, ends the
process at once instead of finalizing the interpreter under it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import sys

from vortex import __version__
from vortex.errors import VortexError

# Each module exposes ``register(subparsers, common)``; order here is the order in --help.
COMMAND_MODULES = (
    "generate",
    "serve",
    "submit",
    "models",
    "eval",
    "say",
    "voices",
    "cast",
    "motion",
    "workers",
)

DESCRIPTION = """\
Vortex turns a short script and an actor description into a talking-head video slot:
speech (Kokoro-82M), an actor portrait, and lip-synced animation, all offline on a CPU.
"""


def common_options() -> argparse.ArgumentParser:
    """Flags every subcommand accepts."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("output control")
    group.add_argument("--quiet", "-q", action="store_true", help="no progress bars or status lines")
    group.add_argument("--log-json", action="store_true", help="progress and events as JSON lines on stderr")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vortex",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'vortex COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"vortex {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = common_options()
    for name in COMMAND_MODULES:
        importlib.import_module(f"vortex.cli.{name}").register(subparsers, common)
    _one_line_errors(parser)
    return parser


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Usage mistakes as one line and exit 2 (argparse prints its usage block first), for the
    parser and every sub-command's parser."""

    def error(message: str) -> None:
        print(f"{parser.prog}: error: {message} (see '{parser.prog} --help')", file=sys.stderr)
        sys.exit(2)

    parser.error = error  # type: ignore[method-assign]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                _one_line_errors(sub)


def output_mode(args: argparse.Namespace) -> str:
    """``quiet`` (--quiet), ``json`` (--log-json) or ``bar``."""
    if getattr(args, "quiet", False):
        return "quiet"
    if getattr(args, "log_json", False):
        return "json"
    return "bar"


def progress_from_args(args: argparse.Namespace):
    from vortex.progress import Progress

    return Progress(output_mode(args))


def warn(progress, message: str, stage: str | None = None) -> None:
    """A warning the user must see: a JSON event with --log-json (with the stage that raised it),
    else one line, even with --quiet, which silences progress and status, not what went
    differently than asked."""
    if progress.mode == "json":
        progress.log("warning", **({"stage": stage} if stage else {}), message=message)
    else:
        print(f"vortex: warning: {message}", file=sys.stderr)


class _LogLines(logging.Handler):
    """Library log records as the command's own lines: JSON events with --log-json, else
    ``vortex: warning: ...``; written to whatever ``sys.stderr`` is when they happen."""

    def __init__(self, mode: str) -> None:
        super().__init__(logging.ERROR if mode == "quiet" else logging.WARNING)
        self.mode = mode

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().splitlines()[0] if record.getMessage() else record.levelname
            if self.mode == "json":
                line = json.dumps({"ts": round(record.created, 3), "event": "log", "level": record.levelname.lower(),
                                   "logger": record.name, "message": message})
            else:
                line = f"vortex: {record.levelname.lower()}: {message}"
            print(line, file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


def main(argv: list[str] | None = None) -> int:
    """Run one command in this process and return its exit code.

    A stop signal's process-wide state (garbage collection paused, ``stop_received()``) is undone
    before returning, so a long-lived caller goes on normally; ``entry``, the ``vortex`` command,
    keeps it to end the process without finalizing it."""
    from vortex.signals import end_stop

    try:
        return _main(argv)
    finally:
        end_stop()


def _main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from vortex.native_logs import NativeStderr

    mode = output_mode(args)
    handler = _LogLines(mode)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(min(level, handler.level) if level else handler.level)
    try:
        with NativeStderr(mode):
            return _run_command(args)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _run_command(args: argparse.Namespace) -> int:
    """The command, its failures as exit codes and one line each."""
    from vortex.signals import Interrupted, StopOnSignals

    if getattr(args, "own_signals", False):  # a server stops itself on a signal (vortex serve)
        stopper = contextlib.nullcontext()
    else:
        stopper = StopOnSignals()
    try:
        with stopper:
            return int(args.func(args) or 0)
    except VortexError as exc:
        print(f"vortex: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Interrupted as exc:
        print(f"vortex: interrupted ({exc.name}); no partial output was kept", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vortex: interrupted (Ctrl-C); no partial output was kept", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(f"vortex: internal error: {type(exc).__name__}: {detail}", file=sys.stderr)
        return 1


def entry() -> None:
    """Run the command line and exit; never wait on a stage thread that cannot stop."""
    code = _main()
    from vortex.reliability import stage_threads_alive
    from vortex.signals import stop_received

    # After a stop signal, never finalize the interpreter: tearing down a loaded pipeline's
    # modules took seconds on a loaded machine (with threads that started late still running).
    if stop_received() is not None or stage_threads_alive():
        from vortex.signals import exit_process

        exit_process(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
