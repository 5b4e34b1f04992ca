"""``vortex cast``: make an actor portrait from a prompt (procedural) or a photo, with its landmarks."""

from __future__ import annotations

import argparse
from pathlib import Path

from vortex.errors import InvalidInputError

EPILOG = """\
examples:
  vortex cast --prompt "old scientist, spiky grey hair, lab coat, laboratory" -o rick.png --landmarks rick.json
  vortex cast --prompt "green alien with antennae in space" --seed 7 -o zorp.png
  vortex cast --photo me.jpg -o me_actor.png --landmarks me_actor.json --size 768

Prompt words steer species and skin (human, pale/tan/dark, alien, green/blue/purple skin,
robot), age (young, old), hair (bald, short, spiky, long, curly, afro, mohawk, bun, bob,
pompadour + a colour), facial hair (beard, mustache, goatee, stubble), glasses/goggles,
hats (cap, beanie, fedora, top hat, wizard hat, crown) and antennae, clothing (lab coat, suit,
t-shirt, uniform, hoodie, sweater + a colour), nose (long, big, button), freckles and
background (laboratory, studio, space, desert, city, or "<colour> background"). Anything
else still varies the character through the seed; the same prompt and seed always give the
same picture.

Photos: PNG/JPEG/WebP with a clear face. EXIF rotation, grayscale, alpha (over white), CMYK and
16-bit are converted; the largest face is used; the crop is aligned with the eyes level.
The JSON holds 68 iBUG landmarks (pixels), the face box, the 478-point mesh for photos, and
details (prompt, seed, traits, colours for the animator, warnings).
"""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "cast",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="make an actor portrait from a prompt or a photo, with face landmarks",
        description="Make an actor: a square portrait PNG and (optionally) its face landmarks as JSON,\n"
        "either drawn from a text prompt (deterministic cartoon) or cropped from a photo.",
        epilog=EPILOG,
    )
    source = parser.add_argument_group("source (exactly one)")
    source.add_argument("--prompt", "-p", metavar="TEXT", help="describe a character to draw")
    source.add_argument("--photo", metavar="FILE", help="a PNG/JPEG/WebP photo with a face")
    from vortex.backends import names

    parser.add_argument("--actor", choices=names("actor"), default="auto",
                        help="who draws a --prompt, chosen as 'vortex generate' chooses it: auto (default), procedural or flux")
    parser.add_argument("--models-dir", metavar="D", help="official model files (default: $VORTEX_MODELS_DIR or the user cache)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="variation for --prompt (default 0)")
    parser.add_argument("--size", type=int, default=512, metavar="N", help="output square size in pixels, 256..1024 (default 512)")
    parser.add_argument("--output", "-o", required=True, metavar="OUT.png", help="portrait PNG to write")
    parser.add_argument("--landmarks", metavar="OUT.json", help="also write landmarks, face box, mesh and details as JSON")
    parser.set_defaults(func=_cast)


def _cast(args: argparse.Namespace) -> int:
    from vortex.actors.images import MAX_IMAGE_BYTES, save_portrait
    from vortex.cli import progress_from_args, warn
    from vortex.media.paths import check_distinct, check_input_file, check_writable, uses

    if (args.prompt is None) == (args.photo is None):
        raise InvalidInputError("give exactly one of --prompt TEXT or --photo FILE")
    if not 256 <= args.size <= 1024:
        raise InvalidInputError(f"--size must be 256..1024, got {args.size}")
    if Path(args.output).suffix.lower() != ".png":
        raise InvalidInputError(f"--output: the portrait is a PNG; give a name ending in .png, got {Path(args.output).name}")
    if args.landmarks is not None and Path(args.landmarks).suffix.lower() != ".json":
        raise InvalidInputError(f"--landmarks: the landmarks are JSON; give a name ending in .json, got {Path(args.landmarks).name}")
    outputs = uses("output", {"--output": args.output, "--landmarks": args.landmarks})
    for use in outputs:
        check_writable(use)
    check_distinct(uses("input", {"--photo": args.photo}) + outputs)
    if args.photo is not None:
        check_input_file("--photo", args.photo, MAX_IMAGE_BYTES)
    progress = progress_from_args(args)
    if args.prompt is not None:
        if not args.prompt.strip():
            raise InvalidInputError("--prompt is empty; describe the character, e.g. 'old scientist in a lab coat'")
        from vortex.backends import load, select

        actor = load(select("actor", args.actor, args.models_dir), args.models_dir)
        portrait = actor(args.prompt, seed=args.seed, size=args.size)
    else:
        from vortex.actors.photo import photo_actor

        portrait = photo_actor(args.photo, size=args.size)
    save_portrait(portrait, args.output, args.landmarks)
    for warning in portrait.warnings:
        warn(progress, warning, stage="actor")
    progress.log("wrote", output=args.output, landmarks=args.landmarks, source=portrait.source, warnings=len(portrait.warnings))
    return 0
