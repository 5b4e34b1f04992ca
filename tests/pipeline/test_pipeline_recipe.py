"""Recipe validation, its one-line messages, and the published JSON Schema agreeing with it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from vortex.errors import InvalidInputError
from vortex.recipe import Recipe, recipe_json_schema, schema_text

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "docs" / "recipe.schema.json"

NETWORK_RECIPE = {
    "slot_id": "ep12-s3",
    "audio_track": {"script": "Wubba lubba dub dub! Listen, Morty.", "voice_id": "rick_c137", "speed": 1.1, "emotion": "excited"},
    "visual_track": {"prompt": "old scientist, grey spiky hair, lab coat", "negative_prompt": "blurry", "expression_preset": "manic"},
    "slot": {"duration_sec": 45, "fps": 24, "size": 512, "seed": 7},
}


def _with(path: str, value, base: dict = NETWORK_RECIPE) -> dict:
    data = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return data


_DELETE = object()


def test_published_schema_is_generated_from_code():
    assert SCHEMA_FILE.read_text() == schema_text(), "regenerate: python -m vortex.recipe > docs/recipe.schema.json"
    jsonschema.Draft202012Validator.check_schema(recipe_json_schema())


def test_network_recipe_parses_and_round_trips():
    recipe = Recipe.from_dict(NETWORK_RECIPE)
    assert recipe.slot_id == "ep12-s3"
    assert recipe.audio_track.voice_id == "rick_c137" and recipe.audio_track.speed == 1.1
    assert recipe.visual_track.expressions == ("manic",)
    assert recipe.slot.fixed_frames == 1080
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    jsonschema.validate(recipe.to_dict(), recipe_json_schema())


def test_defaults_match_the_network_shape():
    recipe = Recipe.from_dict({"audio_track": {"script": "Hello."}})
    assert (recipe.slot.duration_sec, recipe.slot.fps, recipe.slot.size, recipe.slot.seed) == (45.0, 24, 512, 0)
    assert recipe.audio_track.voice_id == "heart" and recipe.audio_track.emotion == "neutral"
    assert recipe.visual_track.expression_preset == "neutral" and recipe.visual_track.prompt == ""
    auto = Recipe.from_dict(_with("slot.duration_sec", "auto"))
    assert auto.slot.duration_sec is None and auto.slot.fixed_frames is None


def test_timed_expression_sequence():
    data = _with("visual_track.expression_preset", _DELETE)
    data["visual_track"]["expression_sequence"] = [{"preset": "neutral", "start_sec": 0}, {"preset": "excited", "start_sec": 12.5}]
    recipe = Recipe.from_dict(data)
    assert recipe.visual_track.expression_sequence == ("neutral", "excited")
    assert recipe.visual_track.expression_starts == (0.0, 12.5)
    jsonschema.validate(recipe.to_dict(), recipe_json_schema())


def _real_media(folder):
    """A real (tiny) WAV and PNG: recipe files are checked to be readable media."""
    import cv2
    import numpy as np
    import soundfile

    soundfile.write(str(folder / "take.wav"), np.zeros(2400, np.float32), 24000)
    cv2.imwrite(str(folder / "face.png"), np.zeros((8, 8, 3), np.uint8))


def test_files_resolve_against_the_recipe_folder(tmp_path):
    _real_media(tmp_path)
    recipe_file = tmp_path / "r.json"
    recipe_file.write_text(json.dumps({
        "audio_track": {"audio_file": "take.wav", "script": "transcript here"},
        "visual_track": {"photo_file": "face.png"},
        "slot": {"duration_sec": "auto"},
    }))
    recipe = Recipe.from_file(recipe_file)
    assert recipe.audio_track.audio_file == str(tmp_path / "take.wav")
    assert recipe.visual_track.photo_file == str(tmp_path / "face.png") and recipe.visual_track.prompt is None
    jsonschema.validate(recipe.to_dict(), recipe_json_schema())


def test_recipe_files_are_confined_to_the_recipe_folder_with_one_message(tmp_path):
    """A recipe cannot read outside its folder, nor learn whether a file exists there."""
    _real_media(tmp_path)
    inner = tmp_path / "recipes"
    inner.mkdir()
    (inner / "notes.png").write_text("not an image")
    (inner / "link.png").symlink_to(tmp_path / "face.png")  # a symlink out of the folder is outside too
    messages = set()
    for photo in ("../face.png", str(tmp_path / "face.png"), "/etc/passwd", "missing.png", "notes.png", "link.png", "."):
        recipe_file = inner / "r.json"
        recipe_file.write_text(json.dumps({"audio_track": {"script": "Hi."}, "visual_track": {"photo_file": photo}}))
        with pytest.raises(InvalidInputError) as info:
            Recipe.from_file(recipe_file)
        messages.add(str(info.value).replace(repr(photo), "NAME"))
    assert len(messages) == 1, messages
    assert "inside" in messages.pop()
    # An explicit root allows more: the parent folder here.
    recipe_file.write_text(json.dumps({"audio_track": {"script": "Hi."}, "visual_track": {"photo_file": "../face.png"}}))
    assert Recipe.from_file(recipe_file, file_root=tmp_path).visual_track.photo_file == str(inner / "../face.png")


# (mutated recipe, words the one-line message must contain, whether the JSON Schema rejects it too)
BAD = {
    "empty script": (_with("audio_track.script", "   "), "audio_track.script: is empty", True),
    "punctuation only": (_with("audio_track.script", "?!..."), "audio_track.script: has no words", True),
    "no script": (_with("audio_track.script", _DELETE), "audio_track: needs a script", True),
    "unknown voice": (_with("audio_track.voice_id", "rick_c138"), "unknown voice 'rick_c138'; choose one of: heart, jm_kumo", True),
    "unknown emotion": (_with("audio_track.emotion", "bored"), "unknown emotion 'bored'", True),
    "speed too high": (_with("audio_track.speed", 3), "audio_track.speed: must be from 0.5 to 2, got 3", True),
    "prompt and photo": (_with("visual_track.photo_file", "x.png"), "give a prompt or a photo_file, not both", True),
    "unknown preset": (_with("visual_track.expression_preset", "sleepy"), "unknown expression preset 'sleepy'", True),
    "fps out of range": (_with("slot.fps", 500), "slot.fps: must be an integer from 8 to 60, got 500", True),
    "fps fractional": (_with("slot.fps", 23.976), "slot.fps: must be an integer", True),
    "size too small": (_with("slot.size", 64), "slot.size: must be an integer from 256 to 1024, got 64", True),
    "size odd": (_with("slot.size", 511), "slot.size: must be even", True),
    "duration zero": (_with("slot.duration_sec", 0), "slot.duration_sec: must be from 1 to 600, got 0", True),
    "duration text": (_with("slot.duration_sec", "long"), "slot.duration_sec: must be a number", True),
    "negative seed": (_with("slot.seed", -1), "slot.seed: must be an integer", True),
    "unknown field": (_with("slot.resolution", 720), "slot: unknown field 'resolution'", True),
    "typo at top": (_with("visual", {}), "recipe: unknown field 'visual'", True),
    "not an object": (_with("slot", [1, 2]), "slot: must be an object", True),
    "missing audio file": (_with("audio_track", {"audio_file": "/nonexistent/take.wav"}), "file not found: /nonexistent/take.wav", False),
    "voice with audio": (_with("audio_track", {"audio_file": __file__, "voice_id": "morty"}), "audio_track.voice_id: does not apply", True),
    "both expression forms": (_with("visual_track.expression_sequence", ["calm"]), "not both", True),
    "sequence not starting at 0": (
        _with("visual_track.expression_sequence", [{"preset": "calm", "start_sec": 2}], _with("visual_track.expression_preset", _DELETE)),
        "expression_sequence[0].start_sec: must be 0", False),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_recipes_get_one_line_that_names_the_field(case):
    data, expected, schema_rejects = BAD[case]
    with pytest.raises(InvalidInputError) as info:
        Recipe.from_dict(data)
    message = str(info.value)
    assert expected in message and "\n" not in message
    assert info.value.exit_code == 2
    if schema_rejects:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, recipe_json_schema())


def test_invalid_json_text_says_where():
    with pytest.raises(InvalidInputError, match="recipe is not valid JSON: .* line 1 column"):
        Recipe.from_json('{"audio_track": ')
    with pytest.raises(InvalidInputError, match="recipe file not found"):
        Recipe.from_file("/nonexistent/recipe.json")
