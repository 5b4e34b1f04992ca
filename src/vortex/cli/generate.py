"""``vortex generate``: a script (or a recipe, or recorded audio) and an actor in, a finished slot out."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from vortex.errors import InvalidInputError

DESCRIPTION = """\
Make one talking-head slot: speech (hibari or Kokoro-82M) or your recorded audio, an actor (drawn from a
prompt, or a photo), lip-synced animation, and an MP4 with H.264 video and AAC audio.

What is said:   --script TEXT | --script-file F | --audio A.wav [--script TRANSCRIPT] | --recipe R.json
Who says it:    --prompt "description" (a procedural character) | --photo FILE (a face photo)
How:            --expression PRESET | --expressions a,b,c (splits the slot evenly; a@0,b@10 at times)
Backends:       --actor, --animator: auto (default) picks the production model when its official
                files (see 'vortex models list') and a CUDA GPU are present, else the embedded one;
                speech: the default voice, heart, is hibari; Kokoro's voices use kokoro-torch when
                the official Kokoro-82M files are present, else kokoro-onnx. One status line says what each stage used and why; naming a backend
                that cannot run here fails at once (exit 1) with what is missing.

The slot is made as a pipeline: each sentence is animated and encoded while the next ones are
still being spoken, so the first frames are written long before the last word is synthesized.
The slot lasts as long as the speech plus a short tail (--duration auto, the default: it ends
0.5 s after the last word, rounded up to whole frames), or
exactly S seconds with --duration S: shorter speech is padded with silence while the face
idles, longer speech is cut at a word boundary with a warning (more than 20% too long is an
error that says by how much). A 45 s slot at 24 fps has exactly 1080 frames.
"""

EPILOG = """\
examples:
  vortex generate --script "Wubba lubba dub dub! Science is about asking the right questions." \\
      --voice rick_c137 --prompt "old scientist, grey spiky hair, lab coat, laboratory" -o slot.mp4
  vortex generate --script-file ad.txt --photo face.jpg --expressions neutral,excited,calm \\
      --duration 45 --seed 7 -o ad.mp4 --report ad.json
  vortex generate --audio take.wav --script "the words spoken in take.wav" --prompt "green alien" -o take.mp4
  vortex generate --recipe slot.json -o slot.mp4 --frames frames/ --deadline 60
  vortex generate --recipe slot.json -o slot.mp4 --hls live/     # live/index.m3u8 plays while it renders
  vortex generate --script "Hello." --prompt "astronaut, studio" --actor flux --animator liveportrait \
      --models-dir /data/vortex-models -o gpu.mp4

Recipes follow docs/recipe.schema.json. Exit codes: 0 done, 2 invalid input (one line that says
what to fix), 3 a stage timeout or the --deadline passed, 1 internal failure, 130 Ctrl-C,
143 SIGTERM, 129 SIGHUP (each stops within 2 s). Nothing is left half-written: the MP4, frames
and report appear together when all are complete, or none of them. Outputs may not name an
input or each other; a --frames folder holding files needs --overwrite; a recipe's files must
lie in its folder (or under --recipe-root).
"""

# Recipe field -> the flag that sets it, so validation messages name what the user typed.
FLAG_OF_FIELD = {
    "audio_track.script": "--script",
    "audio_track.voice_id": "--voice",
    "audio_track.speed": "--speed",
    "audio_track.emotion": "--emotion",
    "audio_track.audio_file": "--audio",
    "visual_track.prompt": "--prompt",
    "visual_track.photo_file": "--photo",
    "visual_track.expression_preset": "--expression",
    "visual_track.expression_sequence": "--expressions",
    "slot.duration_sec": "--duration",
    "slot.fps": "--fps",
    "slot.size": "--size",
    "slot.seed": "--seed",
}


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "generate",
        parents=[common],
        help="make a slot: speech + actor + lip-synced animation -> MP4",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = p.add_argument_group("what is said")
    what.add_argument("--script", metavar="TEXT", help="text to speak (with --audio: the transcript of the audio)")
    what.add_argument("--script-file", metavar="F", help="read the script from a UTF-8 file ('-' reads stdin)")
    what.add_argument("--audio", metavar="A.wav", help="use recorded speech (WAV/FLAC/MP3/M4A; converted to 24 kHz mono)")
    what.add_argument("--recipe", metavar="R.json", help="a JSON recipe (docs/recipe.schema.json); slot flags override it")
    what.add_argument("--recipe-root", metavar="DIR",
                      help="folder the recipe's photo_file/audio_file must lie in (default: the recipe's own folder)")
    what.add_argument("--voice", metavar="V", help="voice id (see 'vortex voices'; default heart)")
    what.add_argument("--speed", metavar="X", help="speaking rate 0.5..2.0 (default 1.0)")
    what.add_argument("--emotion", metavar="E", help="neutral, excited, sad, angry or manic (default neutral)")
    who = p.add_argument_group("who says it")
    who.add_argument("--prompt", metavar="P", help="describe a procedural character (species, hair, clothes, background...)")
    who.add_argument("--photo", metavar="FILE", help="a photo with a face (PNG/JPEG/WebP)")
    who.add_argument("--expression", metavar="E", help="neutral, excited, manic or calm (default neutral)")
    who.add_argument("--expressions", metavar="a,b,c", help="a sequence: 'neutral,excited,calm' or 'neutral@0,excited@10.5'")
    slot = p.add_argument_group("the slot")
    slot.add_argument("--duration", metavar="auto|S", help="auto (speech + tail, default) or seconds, e.g. 45")
    slot.add_argument("--fps", metavar="N", help="frames per second, 8..60 (default 24)")
    slot.add_argument("--size", metavar="N", help="square frame size in pixels, even, 256..1024 (default 512)")
    slot.add_argument("--seed", metavar="N", help="seed for the actor and motion (default 0); same seed, same bytes")
    backends = p.add_argument_group("backends")
    from vortex.backends import names

    backends.add_argument("--speech", choices=names("speech"), default="auto",
                          help="auto (default: kokoro-torch when its official files are present, else kokoro-onnx) or a "
                               "speech backend by name (ignored with --audio)")
    backends.add_argument("--actor", choices=names("actor"), default="auto",
                          help="for --prompt: auto (default), procedural (embedded) or flux (FLUX.1-schnell: diffusers, "
                               "official weights, best on a CUDA GPU)")
    backends.add_argument("--animator", choices=names("animator"), default="auto",
                          help="auto (default), warp (embedded, CPU), warp-torch (the warp on torch; CUDA when present) or "
                               "liveportrait (official weights: 'vortex models')")
    backends.add_argument("--models-dir", metavar="D", help="official model files (default: $VORTEX_MODELS_DIR or the user cache)")
    slot.add_argument("--deadline", metavar="S", help="give up after S seconds in all (exit 3, nothing written)")
    out = p.add_argument_group("outputs")
    out.add_argument("-o", "--output", metavar="OUT.mp4", required=True, help="the MP4 to write")
    out.add_argument("--frames", metavar="DIR", help="also write every frame as PNG into DIR")
    out.add_argument("--hls", metavar="DIR", help="also write an HLS playlist (DIR/index.m3u8) and 2-second segments, "
                                                  "playable while the slot renders; DIR must be new or empty")
    out.add_argument("--report", metavar="OUT.json", help="write timings, memory, warnings and outcome as JSON")
    out.add_argument("--overwrite", action="store_true",
                     help="replace a --frames folder that already holds files (never done otherwise)")
    p.set_defaults(func=run)


# --- arguments -> recipe ------------------------------------------------------------------------


def _number_or_text(value: str | None):
    """CLI text as a JSON value, so the recipe validator gives its one-line range messages."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        try:
            return int(text)
        except ValueError:  # more digits than Python converts: the validator reports its length
            return text
    try:
        return float(text)
    except ValueError:
        return text


def _read_script_file(name: str) -> str:
    from vortex.media.paths import read_text_input
    from vortex.recipe import MAX_SCRIPT_CHARS

    # UTF-8 takes at most 4 bytes a character: anything larger is refused before it is read.
    return read_text_input("--script-file", name, 4 * MAX_SCRIPT_CHARS)


def _expressions(spec: str):
    from vortex.motion.expressions import parse_sequence

    try:
        sequence = parse_sequence(spec)
    except InvalidInputError as exc:
        raise InvalidInputError(f"--expressions: {exc}") from None
    if sequence.starts is None:
        return list(sequence.names)
    return [{"preset": n, "start_sec": t} for n, t in zip(sequence.names, sequence.starts)]


def _slot_overrides(args: argparse.Namespace) -> dict:
    slot = {}
    if args.duration is not None:
        slot["duration_sec"] = "auto" if args.duration.strip().lower() == "auto" else _number_or_text(args.duration)
    for key in ("fps", "size", "seed"):
        if getattr(args, key) is not None:
            slot[key] = _number_or_text(getattr(args, key))
    return slot


def _cli_message(error: InvalidInputError) -> InvalidInputError:
    message = str(error)
    field_name = message.split(":", 1)[0]
    flag = FLAG_OF_FIELD.get(re.sub(r"\[\d+\].*$", "", field_name))
    if flag is None:
        return error
    return InvalidInputError(flag + message[len(field_name):])


def recipe_from_args(args: argparse.Namespace):
    """Build and validate the recipe; every problem is one ``InvalidInputError`` line."""
    from vortex.recipe import Recipe

    track_flags = [f for f in ("script", "script_file", "audio", "voice", "speed", "emotion", "prompt", "photo", "expression",
                               "expressions") if getattr(args, f) is not None]
    if args.recipe is not None:
        if track_flags:
            raise InvalidInputError(f"--recipe already says what is said and who says it; drop --{track_flags[0].replace('_', '-')} "
                                    "or edit the recipe")
        from vortex.media.paths import check_input_file, decode_utf8
        from vortex.recipe import MAX_RECIPE_BYTES, parse_json

        path = check_input_file("--recipe", args.recipe, MAX_RECIPE_BYTES)
        try:
            data = parse_json(decode_utf8(path.read_bytes(), "--recipe", str(path)), f"--recipe: {path}")
        except OSError as exc:
            raise InvalidInputError(f"--recipe: cannot read {path}: {exc.strerror}") from None
        overrides = _slot_overrides(args)
        if overrides and isinstance(data, dict):
            slot = data.get("slot") if isinstance(data.get("slot"), dict) else {}
            data["slot"] = {**slot, **overrides}
        try:
            return Recipe.from_dict(data, base_dir=path.parent, file_root=args.recipe_root)
        except InvalidInputError as exc:
            raise InvalidInputError(f"--recipe {path.name}: {exc}") from None
    if args.recipe_root is not None:
        raise InvalidInputError("--recipe-root goes with --recipe")

    if args.script is not None and args.script_file is not None:
        raise InvalidInputError("give --script or --script-file, not both")
    if args.prompt is not None and args.photo is not None:
        raise InvalidInputError("give --prompt or --photo, not both")
    if args.expression is not None and args.expressions is not None:
        raise InvalidInputError("give --expression or --expressions, not both")
    script = _read_script_file(args.script_file) if args.script_file is not None else args.script
    audio: dict = {}
    if args.audio is not None:
        for flag in ("voice", "speed", "emotion"):
            if getattr(args, flag) is not None:
                raise InvalidInputError(f"--{flag} does not apply to --audio (the recording is used as it is)")
        audio["audio_file"] = args.audio
        if script is not None:
            audio["script"] = script
    else:
        if script is None:
            raise InvalidInputError("nothing to say: give --script TEXT, --script-file F, --audio A.wav or --recipe R.json")
        audio["script"] = script
        if args.voice is not None:
            audio["voice_id"] = args.voice
        if args.speed is not None:
            audio["speed"] = _number_or_text(args.speed)
        if args.emotion is not None:
            audio["emotion"] = args.emotion
    visual: dict = {}
    if args.photo is not None:
        visual["photo_file"] = args.photo
    elif args.prompt is not None:
        visual["prompt"] = args.prompt
    try:
        if args.expressions is not None:
            visual["expression_sequence"] = _expressions(args.expressions)
        elif args.expression is not None:
            visual["expression_preset"] = args.expression
        slot = {"duration_sec": "auto", **_slot_overrides(args)}
        # No base_dir: the paths are the user's own flags, relative to the working directory.
        return Recipe.from_dict({"audio_track": audio, "visual_track": visual, "slot": slot})
    except InvalidInputError as exc:
        raise _cli_message(exc) from None


def _deadline(value: str | None) -> float | None:
    if value is None:
        return None
    number = _number_or_text(value)
    if isinstance(number, str) or not number > 0 or number == float("inf"):
        from vortex.recipe import show

        raise InvalidInputError(f"--deadline must be a positive number of seconds, got {show(value)}")
    return float(number)


def _check_outputs(args: argparse.Namespace, recipe) -> None:
    """Before any work: every output writable, none of them an input or another output, and a
    frames folder that holds files only with --overwrite."""
    from vortex.media.paths import check_distinct, check_writable, uses
    from vortex.media.transaction import check_folder_target

    outputs = uses("output", {"-o": args.output, "--report": args.report}) + uses("folder", {"--frames": args.frames, "--hls": args.hls})
    inputs = uses("input", {"--recipe": args.recipe, "--script-file": args.script_file,
                            "--audio": recipe.audio_track.audio_file, "--photo": recipe.visual_track.photo_file})
    if args.recipe is not None:  # the recipe's own files, named by their fields
        inputs = uses("input", {"--recipe": args.recipe, "audio_track.audio_file": recipe.audio_track.audio_file,
                                "visual_track.photo_file": recipe.visual_track.photo_file})
    if args.frames is not None:
        check_folder_target(Path(args.frames), args.overwrite, "--frames")
    if args.hls is not None:
        from vortex.media.hls import check_hls_folder

        check_hls_folder(args.hls)
    check_distinct(inputs + outputs)
    out = Path(args.output)
    if out.is_dir():
        raise InvalidInputError(f"-o: {out} is a folder; give a file name such as {out / 'slot.mp4'}")
    if out.suffix.lower() != ".mp4":
        raise InvalidInputError(f"-o: the output is an MP4 file; give a name ending in .mp4, got {out.name}")
    if args.report is not None and Path(args.report).suffix.lower() != ".json":
        raise InvalidInputError(f"--report: the report is JSON; give a name ending in .json, got {Path(args.report).name}")
    for use in outputs:
        check_writable(use)


# --- the command --------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from vortex.cli import progress_from_args, warn
    from vortex.pipeline import VortexPipeline
    from vortex.signals import run_stoppable

    recipe = recipe_from_args(args)
    deadline = _deadline(args.deadline)
    _check_outputs(args, recipe)
    progress = progress_from_args(args)
    # Backend selection raises MissingResourceError (exit 1) for a named backend that cannot run.
    pipeline = VortexPipeline(animator=args.animator, actor=args.actor, speech=args.speech, models_dir=args.models_dir, deadline=deadline,
                              progress=progress, log_warnings=False)
    choices = pipeline.backends_for(recipe)
    if progress.mode == "json":
        progress.log("backends", **{stage: {"name": c.name, "reason": c.reason} for stage, c in choices.items()})
    elif progress.mode == "bar":
        print("vortex: backends: " + "; ".join(f"{c.stage} {c.name} ({c.reason})" for c in choices.values()), file=sys.stderr)
    # Load production models now: a missing or broken file is reported before minutes of other work.
    if pipeline.animator_name == "liveportrait":
        pipeline.animator_backend()
    if choices["actor"].name == "flux":
        pipeline.actor_backend()
    result = run_stoppable(
        pipeline.generate_slot(recipe, output=args.output, frames_dir=args.frames, hls_dir=args.hls, report=args.report,
                               progress=progress, overwrite=args.overwrite)
    )
    for warning in result.warning_details:
        warn(progress, warning.message, stage=warning.stage)
    if progress.mode == "json":
        progress.log("result", **result.to_dict())
    result.raise_for_error()
    if progress.mode == "bar":
        t = result.timings
        print(
            f"wrote {result.output}: {result.frames} frames, {result.duration_sec:.2f} s at {result.fps} fps, "
            f"{result.size}x{result.size}, in {t.get('total', 0):.1f} s "
            f"(first frame after {t.get('first_frame', 0):.1f}; busy: speech {t.get('speech', 0):.1f}, actor "
            f"{t.get('actor', 0):.1f}, motion {t.get('motion', 0):.1f}, render {t.get('animation', 0):.1f}, encode "
            f"{t.get('encode', 0):.1f}); peak RSS {result.peak_rss_mb:.0f} MB",
            file=sys.stdout,
        )
    return 0
