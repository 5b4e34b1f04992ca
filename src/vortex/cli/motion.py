"""``vortex motion``: plan the Controls track (lip sync, expressions, idle life) for a timeline or audio."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vortex.errors import InvalidInputError

EPILOG = """\
examples:
  vortex say "Bob may play bamboo music." -o bob.wav --timeline bob.json
  vortex motion --timeline bob.json -o bob_controls.npz
  vortex motion --timeline bob.json --expression "neutral@0,excited@1.2" --seed 7 -o bob.csv
  vortex motion --audio speech.mp3 --transcript "Hello there, general." -o hello.npz --timeline-out hello.json
  vortex motion --audio speech.wav --duration 45 --expression neutral,excited,manic,calm -o slot.npz

Expressions: neutral, calm, excited, manic; a comma list splits the slot evenly, NAME@SECONDS
starts each preset at a time (the first at 0); presets crossfade over 0.8 s.
User audio: with --transcript the words are force-aligned (frame-accurate); without one,
Whisper tiny.en transcribes them first when faster-whisper is installed (about 94 % of lip
closures within 2 frames), else phone recognition (rhythm only). Output by suffix: .npz
(values, channels, fps), .csv (one row per frame) or .json.
"""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    from vortex.motion.expressions import PRESETS
    from vortex.speech.external import RECOGNIZERS

    parser = subparsers.add_parser(
        "motion",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="plan lip sync, expressions, blinks and head motion as a Controls track",
        description="Turn a phone timeline (from `vortex say --timeline`) or an audio file into the Controls\n"
        "track the animators render: one row of named channels per video frame.",
        epilog=EPILOG,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--timeline", metavar="T.json", help="phone timeline JSON (vortex say --timeline)")
    source.add_argument("--audio", metavar="FILE", help="speech audio (wav, flac, mp3, m4a...)")
    parser.add_argument("--transcript", metavar="TEXT", help="words spoken in --audio (best lip sync)")
    parser.add_argument("--transcript-file", metavar="F", help="read the transcript from file F")
    parser.add_argument("--recognizer", choices=RECOGNIZERS, default="auto", help="without a transcript: auto (Whisper if installed, else phones), whisper or phones")
    parser.add_argument("--fps", type=int, default=24, metavar="N", help="video frame rate (default 24)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--frames", type=int, metavar="N", help="number of frames (default: the speech's length)")
    length.add_argument("--duration", type=float, metavar="S", help="slot length in seconds; frames past the speech idle")
    parser.add_argument("--expression", "-x", default="neutral", metavar="SPEC", help=f"preset ({', '.join(PRESETS)}) or sequence (default neutral)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed for blinks, sway and gaze (default 0)")
    parser.add_argument("--output", "-o", required=True, metavar="OUT", help="controls file: .npz, .csv or .json")
    parser.add_argument("--timeline-out", metavar="T.json", help="with --audio: also write the recovered phone timeline")
    parser.set_defaults(func=_motion)


def _motion(args: argparse.Namespace) -> int:
    import math

    from vortex.cli import progress_from_args, warn
    from vortex.media.audio import MAX_AUDIO_BYTES, audio_seconds
    from vortex.media.paths import check_distinct, check_input_file, check_writable, read_text_input, uses
    from vortex.media.transaction import OutputTransaction
    from vortex.motion.expressions import as_sequence
    from vortex.recipe import DURATION_RANGE, MAX_SCRIPT_CHARS
    from vortex.motion.io import CONTROLS_SUFFIXES, load_timeline, save_controls
    from vortex.motion.planner import plan_motion_detailed

    # Cheap checks first, so a typo fails before any model loads.
    if Path(args.output).suffix.lower() not in CONTROLS_SUFFIXES:
        raise InvalidInputError(f"--output must end in {', '.join(CONTROLS_SUFFIXES)}, got {args.output!r}")
    expression = as_sequence(args.expression)
    if args.fps <= 0 or args.fps > 240:
        raise InvalidInputError(f"--fps must be from 1 to 240, got {args.fps}")
    longest = DURATION_RANGE[1]  # the slot limit: also what keeps a typo from allocating gigabytes
    if args.duration is not None and not (math.isfinite(args.duration) and 0 < args.duration <= longest):
        raise InvalidInputError(f"--duration must be from 0 to {longest:g} seconds, got {args.duration:g}")
    if args.frames is not None and not 1 <= args.frames <= longest * args.fps:
        raise InvalidInputError(f"--frames must be from 1 to {int(longest * args.fps)} ({longest:g} s at {args.fps} fps), got {args.frames}")
    outputs = uses("output", {"--output": args.output, "--timeline-out": args.timeline_out})
    for use in outputs:
        check_writable(use)
    check_distinct(uses("input", {"--timeline": args.timeline, "--audio": args.audio, "--transcript-file": args.transcript_file})
                   + outputs)
    if args.audio is not None:
        check_input_file("--audio", args.audio, MAX_AUDIO_BYTES)
        seconds = audio_seconds(args.audio)
        if seconds is not None and seconds > longest:
            raise InvalidInputError(f"--audio: the recording lasts {seconds:.0f} s; at most {longest:g} s")
    if args.timeline and (args.transcript or args.transcript_file or args.timeline_out):
        raise InvalidInputError("--transcript, --transcript-file and --timeline-out go with --audio, not --timeline")
    if args.transcript and args.transcript_file:
        raise InvalidInputError("give the transcript either with --transcript or --transcript-file, not both")
    progress = progress_from_args(args)

    if args.timeline:
        phones, duration = load_timeline(args.timeline)
        source = phones
    else:
        from vortex.speech.external import speech_from_audio

        transcript = args.transcript
        if args.transcript_file:
            transcript = read_text_input("--transcript-file", args.transcript_file, 4 * MAX_SCRIPT_CHARS)
        speech = speech_from_audio(args.audio, transcript, recognizer=args.recognizer)
        for warning in speech.metadata.get("warnings", []):
            warn(progress, warning)
        source, duration = speech, speech.duration

    if args.frames is not None:
        frames = args.frames
    elif args.duration is not None:
        frames = max(1, int(round(args.duration * args.fps)))
    else:
        frames = int(math.ceil(duration * args.fps - 1e-9))
        if frames > longest * args.fps:
            raise InvalidInputError(f"the timeline lasts {duration:.0f} s; at most {longest:g} s")
    plan = plan_motion_detailed(source, frames, args.fps, expression, args.seed)
    with OutputTransaction() as published:  # controls and the timeline appear together or not at all
        save_controls(plan.controls, published.stage_file(args.output))
        if args.timeline_out:
            payload = speech.timeline_dict() | {"source": speech.metadata.get("timeline_source")}
            text = json.dumps(payload, ensure_ascii=False, indent=1) + "\n"
            published.stage_file(args.timeline_out).write_text(text, encoding="utf-8")
    progress.log("wrote", output=args.output, frames=frames, fps=args.fps, closures=len(plan.closures),
                 blinks=len(plan.blinks), nods=len(plan.nods))
    return 0
