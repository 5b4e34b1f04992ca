"""The ``vortex`` command: one subcommand per job, each in its own module under ``vortex.cli``.

Exit codes: 0 success, 1 internal failure, 2 invalid input, 3 timeout or deadline,
4 measured but below target (``vortex eval``), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
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
    return parser


def progress_from_args(args: argparse.Namespace):
    from vortex.progress import Progress

    if getattr(args, "quiet", False):
        return Progress("quiet")
    if getattr(args, "log_json", False):
        return Progress("json")
    return Progress("bar")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.ERROR if getattr(args, "quiet", False) else logging.WARNING,
        format="%(levelname)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except VortexError as exc:
        print(f"vortex: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vortex: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        print(f"vortex: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
