"""``vortex voices``: list the speech voices (hibari's, Kokoro's packs and character blends) and emotions."""

from __future__ import annotations

import argparse
import json

EPILOG = """\
examples:
  vortex voices            a table of voices and emotions
  vortex voices --json     the same as JSON
  vortex voices --all      also the packs not offered (Whisper misunderstands them more often)

Use an id with `vortex say --voice ID --emotion E`.
"""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "voices",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="list speech voices and emotions",
        description="List the voices: heart (hibari, the English default), the embedded Kokoro-82M voice\n"
        "packs and the character voices blended from them, and the emotions with their prosody.",
        epilog=EPILOG,
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--all", action="store_true", help="also list voices that are not offered (above 2%% Whisper "
                        "word error rate; they still speak when named)")
    parser.set_defaults(func=_voices)


def _voices(args: argparse.Namespace) -> int:
    from vortex.speech.voices import EMOTIONS, VOICES

    shown = [v for v in VOICES.values() if v.offered or args.all]

    if args.json:
        print(json.dumps({
            "voices": [{"id": v.id, "kind": v.kind, "engine": v.engine, "recipe": v.recipe, "speed": v.speed,
                        "description": v.description, "offered": v.offered} for v in shown],
            "emotions": [{"id": e.id, "speed": e.speed, "sentence_pause": e.sentence_pause, "phrase_pause": e.phrase_pause, "gain": e.gain, "description": e.description} for e in EMOTIONS.values()],
        }, indent=1))
        return 0
    print(f"{'voice':<14} {'kind':<10} {'speed':>5}  recipe / description")
    for v in shown:
        note = "" if v.offered else "; not offered"
        print(f"{v.id:<14} {v.kind:<10} {v.speed:>5.2f}  {v.recipe}  ({v.description}{note})")
    print()
    print(f"{'emotion':<10} {'speed':>6} {'sentence':>9} {'phrase':>7} {'gain':>5}  effect")
    for e in EMOTIONS.values():
        print(f"{e.id:<10} {e.speed:>5.2f}x {e.sentence_pause:>8.2f}s {e.phrase_pause:>6.2f}s {e.gain:>5.2f}  {e.description}")
    return 0
