"""The recipe: everything one slot needs, in the JSON shape the network sends.

```
{"slot_id": "ep12-s3",
 "audio_track":  {"script": "...", "voice_id": "rick_c137", "speed": 1.0, "emotion": "neutral"}
                 | {"audio_file": "take.wav", "script": "optional transcript"},
 "visual_track": {"prompt": "...", "negative_prompt": ""} | {"photo_file": "actor.png"},
                 + {"expression_preset": "excited"} | {"expression_sequence": ["neutral", "manic"]},
 "slot":         {"duration_sec": 45 | "auto", "fps": 24, "size": 512, "seed": 0}}
```

``Recipe.from_dict`` validates every field and raises ``InvalidInputError`` with one line that
names the field (``slot.fps: must be an integer from 8 to 60, got 500``). ``recipe_json_schema``
builds the published JSON Schema (docs/recipe.schema.json) from the same constants, so the
two cannot drift; ``python -m vortex.recipe`` prints it.

Names (voices, emotions, expression presets) are checked against the stage modules that own
them, so adding a voice there makes it valid here without touching this file.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vortex.errors import InvalidInputError

DEFAULT_DURATION_SEC = 45.0
"""The network's slot length; the CLI defaults to ``auto`` instead (speech length plus a tail)."""
DURATION_RANGE = (1.0, 600.0)
FPS_RANGE = (8, 60)
SIZE_RANGE = (256, 1024)
SPEED_RANGE = (0.5, 2.0)
SEED_RANGE = (0, 2**32 - 1)
MAX_SCRIPT_CHARS = 20_000
"""A sanity cap far above any slot (45 s of speech is ~700 characters); longer is a mistake."""
MAX_PROMPT_CHARS = 2_000
MAX_SEQUENCE = 32
MAX_RECIPE_BYTES = 1024 * 1024
"""A recipe file is a few hundred bytes; anything past this is refused before it is read."""
DEFAULT_FPS = 24
DEFAULT_SIZE = 512
DEFAULT_EMOTION = "neutral"
DEFAULT_PRESET = "neutral"


# --- name catalogs, owned by the stages -------------------------------------------------------


def known_voices() -> tuple[str, ...]:
    """Every voice id the speech stage accepts (embedded voices and character ids)."""
    from vortex.speech import voices

    return tuple(voices.VOICES)


def default_voice() -> str:
    from vortex.speech import voices

    return voices.DEFAULT_VOICE


def known_emotions() -> tuple[str, ...]:
    from vortex.speech import voices

    return tuple(voices.EMOTIONS)


def known_presets() -> tuple[str, ...]:
    from vortex.motion import expressions

    return tuple(expressions.PRESETS)


# --- the dataclasses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioTrack:
    """What is said: a script spoken by ``voice_id``, or a user's audio file (script optional,
    then used as its transcript for alignment)."""

    script: str | None = None
    voice_id: str | None = None
    speed: float = 1.0
    emotion: str = DEFAULT_EMOTION
    audio_file: str | None = None

    @property
    def uses_audio_file(self) -> bool:
        return self.audio_file is not None


@dataclass(frozen=True)
class VisualTrack:
    """Who says it and how: a procedural actor from ``prompt`` or a ``photo_file``, and one
    expression preset or a sequence that splits the slot evenly."""

    prompt: str | None = None
    negative_prompt: str = ""
    photo_file: str | None = None
    expression_preset: str = DEFAULT_PRESET
    expression_sequence: tuple[str, ...] | None = None
    expression_starts: tuple[float, ...] | None = None
    """Start second of each sequence entry (the first is 0); None splits the slot evenly."""

    @property
    def expressions(self) -> tuple[str, ...]:
        return self.expression_sequence or (self.expression_preset,)


@dataclass(frozen=True)
class SlotSpec:
    """duration_sec: seconds, or None for ``auto`` (speech length plus a short tail)."""

    duration_sec: float | None = DEFAULT_DURATION_SEC
    fps: int = DEFAULT_FPS
    size: int = DEFAULT_SIZE
    seed: int = 0

    @property
    def fixed_frames(self) -> int | None:
        """Frame count of a fixed-duration slot (45 s at 24 fps -> 1080); None for auto."""
        if self.duration_sec is None:
            return None
        return int(round(self.duration_sec * self.fps))


@dataclass(frozen=True)
class Recipe:
    audio_track: AudioTrack
    visual_track: VisualTrack = field(default_factory=VisualTrack)
    slot: SlotSpec = field(default_factory=SlotSpec)
    slot_id: str | None = None

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, base_dir: str | os.PathLike[str] | None = None,
                  file_root: str | os.PathLike[str] | None = None) -> "Recipe":
        """Validate a parsed JSON recipe; relative file paths resolve against ``base_dir``.

        With a ``base_dir`` (a recipe read from a file), its files must lie inside
        ``file_root`` (default: ``base_dir`` itself); without one, paths are the caller's own.
        """
        return validate_recipe_dict(data, base_dir, file_root)

    @classmethod
    def from_json(cls, text: str, base_dir: str | os.PathLike[str] | None = None,
                  file_root: str | os.PathLike[str] | None = None) -> "Recipe":
        return cls.from_dict(parse_json(text, "recipe"), base_dir, file_root)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], file_root: str | os.PathLike[str] | None = None) -> "Recipe":
        p = Path(path)
        if p.is_dir():
            raise InvalidInputError(f"recipe {p} is a folder, not a file")
        if not p.is_file():
            raise InvalidInputError(f"recipe file not found: {p}")
        if p.stat().st_size > MAX_RECIPE_BYTES:
            raise InvalidInputError(f"recipe {p} is larger than {MAX_RECIPE_BYTES // 1024} KB; a recipe is a few hundred bytes")
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read recipe {p}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"cannot read recipe {p}: not UTF-8 text (byte offset {exc.start})") from None
        return cls.from_json(text, base_dir=p.parent, file_root=file_root)

    # -- serialisation ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        audio: dict[str, Any] = {}
        if self.audio_track.script is not None:
            audio["script"] = self.audio_track.script
        if self.audio_track.audio_file is not None:
            audio["audio_file"] = self.audio_track.audio_file
        else:
            if self.audio_track.voice_id is not None:
                audio["voice_id"] = self.audio_track.voice_id
            audio["speed"] = self.audio_track.speed
            audio["emotion"] = self.audio_track.emotion
        visual: dict[str, Any] = {}
        if self.visual_track.photo_file is not None:
            visual["photo_file"] = self.visual_track.photo_file
        else:
            if self.visual_track.prompt:  # no prompt validates as "", which is not a valid prompt to send back
                visual["prompt"] = self.visual_track.prompt
            visual["negative_prompt"] = self.visual_track.negative_prompt
        if self.visual_track.expression_sequence:
            names, starts = self.visual_track.expression_sequence, self.visual_track.expression_starts
            visual["expression_sequence"] = (
                list(names) if starts is None else [{"preset": n, "start_sec": t} for n, t in zip(names, starts)]
            )
        else:
            visual["expression_preset"] = self.visual_track.expression_preset
        out: dict[str, Any] = {
            "audio_track": audio,
            "visual_track": visual,
            "slot": {
                "duration_sec": "auto" if self.slot.duration_sec is None else self.slot.duration_sec,
                "fps": self.slot.fps,
                "size": self.slot.size,
                "seed": self.slot.seed,
            },
        }
        if self.slot_id is not None:
            out["slot_id"] = self.slot_id
        return out


# --- validation ----------------------------------------------------------------------------


def _fail(where: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{where}: {message}")


def show(value: Any, limit: int = 40) -> str:
    """A short, always printable rendering of any JSON value for an error line: containers by
    type, long strings cut, huge integers by digit count (``repr`` of a 5000-digit int raises)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        digits = len(str(abs(value))) if value.bit_length() < 10_000 else int(value.bit_length() * 0.30103) + 1
        return str(value) if digits <= limit else f"a {digits}-digit number"
    if isinstance(value, str):
        digits = value.strip().lstrip("+-")
        if len(digits) > limit and digits.isdigit():
            return f"a {len(digits)}-digit number"
        return repr(value) if len(value) <= limit else repr(value[: limit - 3]) + f"... ({len(value)} characters)"
    if isinstance(value, (list, dict)):
        return f"a JSON {'list' if isinstance(value, list) else 'object'}"
    return type(value).__name__


def parse_json(text: str, what: str) -> Any:
    """Parse JSON text; every malformed document (nesting 10,000 deep included) is one line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidInputError(f"{what} is nested too deeply to be a recipe") from None


def _check_keys(obj: dict, where: str, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise _fail(where, f"unknown field {show(unknown[0])} (allowed: {', '.join(allowed)})")


def _object(data: Any, where: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(where, f"must be an object, got {show(data)}")
    return data


def _string(value: Any, where: str, max_chars: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, got {show(value)}")
    if not allow_empty and not value.strip():
        raise _fail(where, "is empty")
    if len(value) > max_chars:
        raise _fail(where, f"is {len(value)} characters long, {len(value) - max_chars} over the limit of {max_chars}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate (\udcd7): no text, and espeak cannot take it
        raise _fail(where, f"is not valid Unicode text (a lone surrogate at character {exc.start})") from None
    return value


def _number(value: Any, where: str, lo: float, hi: float) -> float:
    # math.isfinite is for floats only: an int past 1e308 (a 400-digit "speed") overflows it.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise _fail(where, f"must be a number from {lo:g} to {hi:g}, got {show(value)}")
    if not lo <= value <= hi:
        raise _fail(where, f"must be from {lo:g} to {hi:g}, got {value:g}" if isinstance(value, float) or abs(value) < 10**15
                    else f"must be from {lo:g} to {hi:g}, got {show(value)}")
    return float(value)


def _integer(value: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"must be an integer from {lo} to {hi}, got {show(value)}")
    if not lo <= value <= hi:
        raise _fail(where, f"must be an integer from {lo} to {hi}, got {show(value)}")
    return value


def _choice(value: Any, where: str, choices: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _fail(where, f"unknown {what} {show(value)}; choose one of: {', '.join(choices)}")
    return value


def _file(value: Any, where: str, base_dir: Path | None, root: Path | None, kind: str) -> str:
    """A readable input file of ``kind`` ("image" or "audio"), checked by size (and an audio's
    length) before anything reads it.

    With a ``root`` (a recipe from a file) the path must resolve, symlinks followed, inside it,
    and every problem gets the same message, so a recipe cannot probe which files exist.
    """
    from vortex.actors.images import MAX_IMAGE_BYTES
    from vortex.media.audio import MAX_AUDIO_BYTES

    name = _string(value, where, 4096)
    path = Path(name) if root is not None else Path(name).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    limit = MAX_IMAGE_BYTES if kind == "image" else MAX_AUDIO_BYTES
    if root is not None:
        inside = Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(root)))
        if not (inside and path.is_file() and 0 < path.stat().st_size <= limit and os.access(path, os.R_OK)
                and _readable(path, kind)):
            raise _fail(where, f"no readable {kind} file {name!r} inside {root} (recipe files must lie in the recipe's "
                               f"folder, or under --recipe-root)")
    elif path.is_dir():
        raise _fail(where, f"{path} is a folder, not a file")
    elif not path.exists():
        raise _fail(where, f"file not found: {path}")
    elif not path.is_file():
        raise _fail(where, f"not a file: {path}")
    elif path.stat().st_size > limit:
        raise _fail(where, f"{path} is {path.stat().st_size / 2**20:.0f} MB, over the {limit // 2**20} MB limit")
    if kind == "audio":
        from vortex.media.audio import audio_seconds

        seconds = audio_seconds(path)
        if seconds is not None and seconds > DURATION_RANGE[1]:
            raise _fail(where, f"the recording lasts {seconds:.0f} s; a slot is at most {DURATION_RANGE[1]:g} s")
    return str(path)


def _readable(path: Path, kind: str) -> bool:
    """Whether the file's header decodes as ``kind`` (nothing more is read)."""
    if kind == "audio":
        from vortex.media.audio import audio_seconds

        return audio_seconds(path) is not None
    try:
        from PIL import Image

        with Image.open(path) as image:
            image.verify()
        return True
    except Exception:  # noqa: BLE001 - any failure means not a readable image
        return False


def validate_size(value: Any, where: str = "slot.size") -> int:
    size = _integer(value, where, *SIZE_RANGE)
    if size % 2:
        raise _fail(where, f"must be even (H.264 yuv420p halves the colour planes), got {size}")
    return size


def validate_recipe_dict(data: Any, base_dir: str | os.PathLike[str] | None = None,
                         file_root: str | os.PathLike[str] | None = None) -> Recipe:
    """Check every field; the first problem raises ``InvalidInputError`` naming its field.

    Files resolve against ``base_dir``; when it is given they must lie inside ``file_root``
    (default ``base_dir``): a recipe from elsewhere must not read /etc/passwd."""
    if not isinstance(data, dict):
        raise _fail("recipe", f"must be a JSON object, got {show(data)}")
    root = data
    _check_keys(root, "recipe", ("slot_id", "audio_track", "visual_track", "slot"))
    base = Path(base_dir) if base_dir is not None else None
    confine = None if base is None else Path(file_root) if file_root is not None else base

    slot_id = root.get("slot_id")
    if slot_id is not None:
        slot_id = _string(slot_id, "slot_id", 200)

    # audio track
    if "audio_track" not in root:
        raise _fail("audio_track", "is required (a script to speak or an audio_file)")
    a = _object(root["audio_track"], "audio_track")
    _check_keys(a, "audio_track", ("script", "voice_id", "speed", "emotion", "audio_file"))
    script = a.get("script")
    audio_file = a.get("audio_file")
    if audio_file is not None:
        audio_file = _file(audio_file, "audio_track.audio_file", base, confine, "audio")
        if script is not None:
            script = _string(script, "audio_track.script", MAX_SCRIPT_CHARS)
        for key in ("voice_id", "speed", "emotion"):
            if a.get(key) is not None:
                raise _fail(f"audio_track.{key}", "does not apply to an audio_file (the audio is used as recorded)")
        audio = AudioTrack(script=script, audio_file=audio_file, voice_id=None)
    else:
        if script is None:
            raise _fail("audio_track", "needs a script to speak or an audio_file")
        script = _string(script, "audio_track.script", MAX_SCRIPT_CHARS)
        if not any(ch.isalnum() for ch in script):
            raise _fail("audio_track.script", "has no words to speak (only punctuation or symbols)")
        voice = a.get("voice_id")
        voice = default_voice() if voice is None else _choice(voice, "audio_track.voice_id", known_voices(), "voice")
        speed = _number(a.get("speed", 1.0), "audio_track.speed", *SPEED_RANGE)
        emotion = _choice(a.get("emotion", DEFAULT_EMOTION), "audio_track.emotion", known_emotions(), "emotion")
        audio = AudioTrack(script=script, voice_id=voice, speed=speed, emotion=emotion)

    # visual track
    v = _object(root.get("visual_track"), "visual_track")
    _check_keys(v, "visual_track", ("prompt", "negative_prompt", "photo_file", "expression_preset", "expression_sequence"))
    prompt, photo = v.get("prompt"), v.get("photo_file")
    if prompt is not None and photo is not None:
        raise _fail("visual_track", "give a prompt or a photo_file, not both")
    negative = _string(v.get("negative_prompt", ""), "visual_track.negative_prompt", MAX_PROMPT_CHARS, allow_empty=True)
    if photo is not None:
        photo = _file(photo, "visual_track.photo_file", base, confine, "image")
        if negative:
            raise _fail("visual_track.negative_prompt", "does not apply to a photo_file")
    else:
        prompt = _string(prompt, "visual_track.prompt", MAX_PROMPT_CHARS) if prompt is not None else ""
    presets = known_presets()
    preset = v.get("expression_preset")
    sequence = v.get("expression_sequence")
    if preset is not None and sequence is not None:
        raise _fail("visual_track", "give expression_preset or expression_sequence, not both")
    if sequence is not None:
        if not isinstance(sequence, list) or not sequence:
            raise _fail("visual_track.expression_sequence", "must be a non-empty list of preset names")
        if len(sequence) > MAX_SEQUENCE:
            raise _fail("visual_track.expression_sequence", f"has {len(sequence)} entries; at most {MAX_SEQUENCE}")
        starts = None
        if all(isinstance(item, dict) for item in sequence):
            names, times = [], []
            for i, item in enumerate(sequence):
                where = f"visual_track.expression_sequence[{i}]"
                _check_keys(item, where, ("preset", "start_sec"))
                if "preset" not in item or "start_sec" not in item:
                    raise _fail(where, "needs both preset and start_sec")
                names.append(item["preset"])
                times.append(_number(item["start_sec"], f"{where}.start_sec", 0.0, DURATION_RANGE[1]))
            if times[0] != 0.0:
                raise _fail("visual_track.expression_sequence[0].start_sec", f"must be 0, got {times[0]:g}")
            for i in range(1, len(times)):
                if times[i] <= times[i - 1]:
                    raise _fail(f"visual_track.expression_sequence[{i}].start_sec", f"must be later than {times[i - 1]:g}, got {times[i]:g}")
            sequence, starts = names, tuple(times)
        elif not all(isinstance(item, str) for item in sequence):
            raise _fail("visual_track.expression_sequence", "must list preset names, or objects {preset, start_sec}, not a mix")
        sequence = tuple(
            _choice(name, f"visual_track.expression_sequence[{i}]", presets, "expression preset") for i, name in enumerate(sequence)
        )
        preset = sequence[0]
    else:
        starts = None
        preset = _choice(preset if preset is not None else DEFAULT_PRESET, "visual_track.expression_preset", presets, "expression preset")
    visual = VisualTrack(prompt=prompt if photo is None else None, negative_prompt=negative, photo_file=photo,
                         expression_preset=preset, expression_sequence=sequence, expression_starts=starts)

    # slot
    s = _object(root.get("slot"), "slot")
    _check_keys(s, "slot", ("duration_sec", "fps", "size", "seed"))
    duration = s.get("duration_sec", DEFAULT_DURATION_SEC)
    duration = None if duration == "auto" else _number(duration, "slot.duration_sec", *DURATION_RANGE)
    if duration is None and audio.script is not None and not audio.uses_audio_file:
        _check_auto_length(audio.script, audio.speed)
    fps = _integer(s.get("fps", DEFAULT_FPS), "slot.fps", *FPS_RANGE)
    size = validate_size(s.get("size", DEFAULT_SIZE))
    seed = _integer(s.get("seed", 0), "slot.seed", *SEED_RANGE)
    return Recipe(audio_track=audio, visual_track=visual, slot=SlotSpec(duration, fps, size, seed), slot_id=slot_id)


def _check_auto_length(script: str, speed: float) -> None:
    """An ``auto`` slot is still at most ``DURATION_RANGE[1]`` s: refuse, before synthesis, a
    script that cannot be spoken in that time even at a fast pace."""
    from vortex.pipeline.duration import FAST_CHARS_PER_SEC, TAIL_SEC

    fastest = len(script.strip()) / (FAST_CHARS_PER_SEC * speed)
    longest = DURATION_RANGE[1] - TAIL_SEC
    if fastest > longest:
        raise _fail("audio_track.script", f"too long for a slot: {len(script.strip())} characters need at least {fastest:.0f} s "
                                          f"of speech, and a slot lasts at most {DURATION_RANGE[1]:g} s")


# --- JSON Schema -------------------------------------------------------------------------------

SCHEMA_ID = "https://vortex.invalid/recipe.schema.json"


def recipe_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a recipe, built from the same limits and catalogs."""
    voices, emotions, presets = list(known_voices()), list(known_emotions()), list(known_presets())
    script = {"type": "string", "minLength": 1, "maxLength": MAX_SCRIPT_CHARS, "pattern": "[A-Za-z0-9]",
              "description": "Text to speak (or, with audio_file, its transcript for alignment)."}
    file_path = {"type": "string", "minLength": 1, "description": "Path; relative paths resolve against the recipe file's folder."}
    spoken = {
        "type": "object",
        "additionalProperties": False,
        "required": ["script"],
        "properties": {
            "script": script,
            "voice_id": {"enum": voices, "description": f"Speaker; default {default_voice()}."},
            "speed": {"type": "number", "minimum": SPEED_RANGE[0], "maximum": SPEED_RANGE[1], "default": 1.0},
            "emotion": {"enum": emotions, "default": DEFAULT_EMOTION},
        },
    }
    recorded = {
        "type": "object",
        "additionalProperties": False,
        "required": ["audio_file"],
        "properties": {"audio_file": file_path, "script": script},
    }
    visual_props = {
        "prompt": {"type": "string", "maxLength": MAX_PROMPT_CHARS, "description": "Describes the procedural actor."},
        "negative_prompt": {"type": "string", "maxLength": MAX_PROMPT_CHARS, "default": ""},
        "photo_file": file_path,
        "expression_preset": {"enum": presets, "default": DEFAULT_PRESET},
        "expression_sequence": {
            "description": "Presets that split the slot evenly (names), or start at given seconds (objects; the first at 0), "
            "with smooth transitions.",
            "oneOf": [
                {"type": "array", "items": {"enum": presets}, "minItems": 1, "maxItems": MAX_SEQUENCE},
                {"type": "array", "minItems": 1, "maxItems": MAX_SEQUENCE, "items": {
                    "type": "object", "additionalProperties": False, "required": ["preset", "start_sec"],
                    "properties": {"preset": {"enum": presets},
                                   "start_sec": {"type": "number", "minimum": 0, "maximum": DURATION_RANGE[1]}}}},
            ],
        },
    }
    visual = {
        "type": "object",
        "additionalProperties": False,
        "properties": visual_props,
        "allOf": [
            {"not": {"required": ["prompt", "photo_file"]}},
            {"not": {"required": ["expression_preset", "expression_sequence"]}},
            {"if": {"required": ["photo_file"]}, "then": {"properties": {"negative_prompt": {"const": ""}}}},
        ],
    }
    slot = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "duration_sec": {
                "oneOf": [
                    {"type": "number", "minimum": DURATION_RANGE[0], "maximum": DURATION_RANGE[1]},
                    {"const": "auto"},
                ],
                "default": DEFAULT_DURATION_SEC,
                "description": "Fixed length in seconds (speech padded or truncated at a word), or auto: speech plus a short tail.",
            },
            "fps": {"type": "integer", "minimum": FPS_RANGE[0], "maximum": FPS_RANGE[1], "default": DEFAULT_FPS},
            "size": {"type": "integer", "minimum": SIZE_RANGE[0], "maximum": SIZE_RANGE[1], "multipleOf": 2, "default": DEFAULT_SIZE},
            "seed": {"type": "integer", "minimum": SEED_RANGE[0], "maximum": SEED_RANGE[1], "default": 0},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Vortex slot recipe",
        "description": "One talking-head slot: what is said (audio_track), who says it and how (visual_track), and the video (slot). "
        "Generated by `python -m vortex.recipe`; do not edit by hand.",
        "type": "object",
        "additionalProperties": False,
        "required": ["audio_track"],
        "properties": {
            "slot_id": {"type": "string", "minLength": 1, "maxLength": 200},
            "audio_track": {"oneOf": [spoken, recorded]},
            "visual_track": visual,
            "slot": slot,
        },
    }


def schema_text() -> str:
    return json.dumps(recipe_json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(schema_text())
