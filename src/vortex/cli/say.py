"""``vortex say``: speak a script (hibari, or Kokoro-82M for its voices); write a WAV and a phone timeline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vortex.errors import InvalidInputError

EPILOG = """\
examples:
  vortex say "Welcome back. Today: three quick wins." -o welcome.wav      (voice heart, hibari)
  vortex say "Wubba lubba dub dub!" --voice rick_c137 -o rick.wav
  vortex say "I can't believe it." --voice morty --emotion sad --speed 0.9 -o morty.wav --timeline morty.json
  vortex say --text-file script.txt --voice jf_alpha -o script.wav      (long scripts: chunked, with a progress bar)
  echo "Hello there." | vortex say - -o hello.wav                       ('-' reads the text from stdin)

The WAV is 16-bit mono 24 kHz. The timeline JSON holds every phone (IPA symbol, "_" for
pauses) and word with start/end seconds; it covers the audio exactly. `vortex voices`
lists voices and emotions.
"""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    from vortex.speech.voices import DEFAULT_EMOTION, DEFAULT_VOICE, EMOTIONS, SPEED_MAX, SPEED_MIN

    parser = subparsers.add_parser(
        "say",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="speak a script (hibari or Kokoro-82M) to a WAV file, with a phone timeline",
        description="Speak English text offline and write a 24 kHz WAV, optionally with the exact phone/word\n"
        "timeline as JSON. The default voice, heart, is hibari (a small model distilled from Kokoro-82M's\n"
        "af_heart); the other voices are Kokoro-82M (the official PyTorch weights when present, else the\n"
        "embedded int8 ONNX; --speech chooses).",
        epilog=EPILOG,
    )
    parser.add_argument("text", nargs="?", metavar="TEXT", help="the script; '-' reads it from stdin")
    parser.add_argument("--text-file", metavar="F", help="read the script from file F ('-' for stdin)")
    parser.add_argument("--voice", "-v", default=DEFAULT_VOICE, metavar="V", help=f"voice id (default {DEFAULT_VOICE}; see `vortex voices`)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X", help=f"speaking rate, {SPEED_MIN}-{SPEED_MAX} (default 1.0)")
    parser.add_argument("--emotion", "-e", default=DEFAULT_EMOTION, metavar="E", help=f"one of {', '.join(EMOTIONS)} (default {DEFAULT_EMOTION})")
    parser.add_argument("--output", "-o", required=True, metavar="OUT.wav", help="WAV file to write")
    parser.add_argument("--timeline", metavar="OUT.json", help="also write the phone/word timeline as JSON")
    from vortex.backends import names

    parser.add_argument("--speech", choices=names("speech"), default="auto",
                        help="speech backend, chosen as 'vortex generate' chooses it: auto (default: the voice's engine; "
                             "hibari for heart, for Kokoro's voices kokoro-torch when its official files are "
                             "present, else the embedded kokoro-onnx) or a name that speaks the voice")
    parser.add_argument("--models-dir", metavar="D", help="official model files (default: $VORTEX_MODELS_DIR or the user cache)")
    parser.set_defaults(func=_say)


def _read_text(args: argparse.Namespace) -> str:
    if args.text is not None and args.text_file is not None:
        raise InvalidInputError("give the script either as TEXT or with --text-file, not both")
    source = args.text_file if args.text_file is not None else args.text
    if source is None:
        raise InvalidInputError("no script given; pass TEXT, --text-file F, or '-' to read stdin")
    from vortex.media.paths import read_text_input
    from vortex.recipe import MAX_SCRIPT_CHARS

    flag = "--text-file" if args.text_file is not None else "TEXT"
    if source == "-" or args.text_file is not None:
        text = read_text_input(flag, source, 4 * MAX_SCRIPT_CHARS)  # UTF-8: at most 4 bytes a character
    else:
        text = source
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # bytes that are not UTF-8 on the command line arrive as lone surrogates
        raise InvalidInputError(f"{flag}: is not valid UTF-8 text (character {exc.start})") from None
    if len(text) > MAX_SCRIPT_CHARS:
        raise InvalidInputError(f"{flag}: is {len(text)} characters long, over the limit of {MAX_SCRIPT_CHARS}")
    return text


def _say(args: argparse.Namespace) -> int:
    from vortex.backends import load, select
    from vortex.cli import progress_from_args, warn
    from vortex.media.audio import write_wav
    from vortex.media.paths import check_distinct, check_writable, uses
    from vortex.media.transaction import OutputTransaction
    from vortex.speech.voices import check_speed, check_text, get_emotion, get_voice

    outputs = uses("output", {"--output": args.output, "--timeline": args.timeline})
    for use in outputs:
        check_writable(use)
    check_distinct(uses("input", {"--text-file": args.text_file}) + outputs)
    text = _read_text(args)
    check_text(text)
    # Validate before loading the model, so a typo fails in milliseconds.
    get_voice(args.voice)
    get_emotion(args.emotion)
    check_speed(args.speed)
    progress = progress_from_args(args)
    if Path(args.output).suffix.lower() != ".wav":
        warn(progress, f"--output {Path(args.output).name}: the file is WAV audio whatever its name says; name it .wav")
    if args.timeline is not None and Path(args.timeline).suffix.lower() != ".json":
        warn(progress, f"--timeline {Path(args.timeline).name}: the timeline is JSON whatever its name says; name it .json")
    engine = load(select("speech", args.speech, args.models_dir, voice=args.voice), args.models_dir)
    speech = engine.synthesize(text, voice=args.voice, speed=args.speed, emotion=args.emotion, progress=progress)
    with OutputTransaction() as published:  # the WAV and its timeline appear together or not at all
        write_wav(published.stage_file(args.output), speech.waveform, speech.sample_rate)
        if args.timeline:
            payload = speech.timeline_dict()
            payload["text"] = speech.text
            payload["emotion"] = args.emotion
            payload["speed"] = args.speed
            published.stage_file(args.timeline).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    progress.log("wrote", output=args.output, backend=engine.name, seconds=round(speech.duration, 3), phones=len(speech.phones), words=len(speech.words))
    return 0
