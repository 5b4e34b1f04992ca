"""``vortex eval``: measure finished media with tools independent of the code that made it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vortex.errors import InvalidInputError

LIPSYNC_DESCRIPTION = """\
Measure the lip sync of a video from its pixels and its sound alone.

The mouth is measured on every frame with mediapipe's face mesh (inner-lip gap / face height).
Phone timings come from the audio track with pocketsphinx: forced alignment when you give the
transcript (--text, more accurate), phone recognition otherwise. The phones become an expected
mouth-opening curve, and the report gives:

  offset             frames between sound and mouth (searched over ±10); POSITIVE = the video
                     LAGS the audio, negative = it leads. Target |offset| <= 1.
  bilabial closures  share of p/b/m where the lips close within ±2 frames. Target >= 95%.
  open vowels        share of open vowels (a, ɑ, æ, ʌ, ɔ...) where the mouth opens. Target >= 90%.
  silence jitter     RMS frame-to-frame mouth change while nobody speaks (face heights).
  frames w/o face    frames where the detector found no face. Target <= 1%.

Exit code 0 when every target is met, 4 when the video was measured but misses a target.
"""

LIPSYNC_EPILOG = """\
examples:
  vortex eval lipsync slot.mp4 --text "Hello there, my name is Vortex."
  vortex eval lipsync slot.mp4 --text-file script.txt --json > lipsync.json
  vortex eval lipsync external.mp4            # no transcript: phone recognition
"""

EXIT_TARGET_MISSED = 4


def register(subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "eval",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="measure a finished video (lip sync)",
        description="Measure finished media with tools independent of the code that made it.",
        epilog="examples:\n  vortex eval lipsync slot.mp4 --text \"Hello there.\"\n",
    )
    kinds = parser.add_subparsers(dest="eval_kind", metavar="KIND")
    lipsync = kinds.add_parser(
        "lipsync",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="audio-video offset, bilabial closures, open vowels, jitter",
        description=LIPSYNC_DESCRIPTION,
        epilog=LIPSYNC_EPILOG,
    )
    lipsync.add_argument("video", type=Path, metavar="VIDEO.mp4", help="the video to measure (with its audio track)")
    text = lipsync.add_mutually_exclusive_group()
    text.add_argument("--text", help="the spoken transcript (enables forced alignment)")
    text.add_argument("--text-file", type=Path, metavar="FILE", help="read the transcript from a UTF-8 file")
    lipsync.add_argument("--json", action="store_true", help="print the report as one JSON object")
    lipsync.set_defaults(func=_lipsync)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _lipsync(args: argparse.Namespace) -> int:
    from vortex.cli import progress_from_args
    from vortex.evaluation.lipsync import evaluate_lipsync

    from vortex.media.paths import read_text_input
    from vortex.recipe import MAX_SCRIPT_CHARS

    text = args.text
    if args.text_file is not None:
        text = read_text_input("--text-file", str(args.text_file), 4 * MAX_SCRIPT_CHARS)
    if text is not None and not text.strip():
        raise InvalidInputError("--text is empty; leave it out to use phone recognition")
    report = evaluate_lipsync(args.video, text=text, progress=progress_from_args(args))
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(report.to_text())
    return 0 if report.passed else EXIT_TARGET_MISSED
