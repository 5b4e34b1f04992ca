"""``vortex submit``: send a recipe to a ``vortex serve`` server, follow its progress, save the MP4."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  vortex submit --server http://127.0.0.1:8700 --recipe slot.json -o slot.mp4
  vortex submit --recipe slot.json --channel news                 append to a channel, do not wait
  vortex submit --recipe docs/examples/news.json --channel news   a list of recipes: the channel's programme
  vortex submit --server https://vortex.example --token-file token.txt --recipe ad.json -o ad.mp4

A recipe's photo_file/audio_file are uploaded (servers never read their own disk for a
recipe). The MP4 has the same bytes 'vortex generate --recipe' makes. Exit codes: 0 done,
2 refused as invalid (the server's one line), 3 the slot's deadline passed, 1 otherwise.
"""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    from vortex.service.server import DEFAULT_PORT

    p = subparsers.add_parser(
        "submit",
        parents=[common],
        help="send a recipe to a 'vortex serve' server and save the MP4",
        description="Send a slot recipe to a running 'vortex serve', follow its progress and "
        "download the finished MP4.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--server", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="the server's URL (default %(default)s)"
    )
    p.add_argument(
        "--recipe",
        metavar="R.json",
        required=True,
        help="the slot recipe (docs/recipe.schema.json); with --channel also a JSON list of recipes",
    )
    p.add_argument("-o", "--output", metavar="OUT.mp4", help="where to save the MP4 (default: do not download)")
    p.add_argument(
        "--channel", metavar="NAME", help="put the slot(s) on this channel (created if new) and print where to watch it"
    )
    p.add_argument("--token-file", metavar="F", help="a file holding the server's bearer token")
    p.add_argument("--idempotency-key", metavar="K", help="the same key returns the same job (safe retries)")
    p.add_argument("--no-wait", action="store_true", help="print the slot id and return once it is queued")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vortex.client import VortexClient
    from vortex.errors import InvalidInputError, VortexError
    from vortex.service.server import read_token

    if args.output is not None and Path(args.output).suffix.lower() != ".mp4":
        raise InvalidInputError(
            f"-o: the output is an MP4 file; give a name ending in .mp4, got {Path(args.output).name}"
        )
    token = read_token(args.token_file) if args.token_file else None
    import httpx

    try:
        with VortexClient(args.server, token=token) as client:
            quiet = args.quiet or args.log_json
            if args.channel is not None and args.output is None:
                return _program(client, args, quiet)
            slot_id = client.submit(args.recipe, idempotency_key=args.idempotency_key, channel=args.channel)
            if not quiet:
                print(f"vortex: queued slot {slot_id} on {args.server}", file=sys.stderr)
            if args.no_wait:
                print(slot_id)
                return 0
            last = None
            for status in client.events(slot_id):
                p = status["progress"]
                line = f"{status['status']} {p['stage']} {p['frames_done']}/{p['frames_total']}"
                if args.log_json:
                    import json

                    print(
                        json.dumps({"event": "status", "id": slot_id, "status": status["status"], **p}), file=sys.stderr
                    )
                elif not args.quiet and line != last:
                    print(f"vortex: {line}", file=sys.stderr)
                last = line
            final = client.wait(slot_id)
            if args.output is not None:
                client.download(slot_id, args.output)
                if not quiet:
                    print(f"wrote {args.output}: slot {slot_id}, {final['duration_sec']} s", file=sys.stdout)
            else:
                print(slot_id)
            return 0
    except httpx.HTTPError as exc:
        raise VortexError(
            f"--server {args.server}: cannot reach the server ({type(exc).__name__}: {exc}); is 'vortex serve' running?"
        ) from None


def _program(client, args: argparse.Namespace, quiet: bool) -> int:
    """``--channel`` without ``-o``: queue the recipe (or list of recipes) on the channel and say where to watch."""
    import json
    from pathlib import Path

    from vortex.client import load_recipe_file
    from vortex.errors import InvalidInputError

    try:
        document = json.loads(Path(args.recipe).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        document = None  # load_recipe_file says what is wrong in one line
    if isinstance(document, list):
        if not document:
            raise InvalidInputError(f"--recipe: {args.recipe} is an empty list; give at least one recipe")
        ids = client.program(args.channel, document)
    else:  # one recipe file (its local photo/audio uploaded): make sure the channel exists, then append
        load_recipe_file(args.recipe)  # an unreadable file is refused before the channel is created
        client.program(args.channel, [])
        ids = [client.submit(args.recipe, channel=args.channel)]
    base = client.base_url
    for slot_id in ids:
        print(slot_id)
    if not quiet:
        print(
            f"vortex: {len(ids)} slot(s) on channel {args.channel}; watch {base}/#channel={args.channel} "
            f"(the page) or {base}/channels/{args.channel}/index.m3u8 (any HLS player)",
            file=sys.stderr,
        )
    return 0
