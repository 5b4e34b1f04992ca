"""Property tests (hypothesis): whatever JSON or command-line text arrives, the answer is a
valid recipe or exit 2 with one line, never an internal error, a traceback or a written file."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vortex.cli import main
from vortex.errors import InvalidInputError
from vortex.recipe import Recipe

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Any JSON value: lone surrogates and huge integers included (both broke the CLI once).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**100, max_value=10**5000)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)

VALID = {"slot_id": "s1", "audio_track": {"script": "Hello there.", "voice_id": "rick_c137", "speed": 1.0, "emotion": "neutral"},
         "visual_track": {"prompt": "alien", "negative_prompt": "", "expression_sequence": ["neutral", "calm"]},
         "slot": {"duration_sec": 10, "fps": 24, "size": 256, "seed": 7}}
FIELDS = [("slot_id",), ("audio_track",), ("audio_track", "script"), ("audio_track", "voice_id"), ("audio_track", "speed"),
          ("audio_track", "emotion"), ("audio_track", "audio_file"), ("visual_track",), ("visual_track", "prompt"),
          ("visual_track", "photo_file"), ("visual_track", "expression_sequence"), ("visual_track", "expression_preset"),
          ("slot",), ("slot", "duration_sec"), ("slot", "fps"), ("slot", "size"), ("slot", "seed"), ("extra",)]


def _validates_or_one_line(data) -> None:
    try:
        recipe = Recipe.from_dict(data)
    except InvalidInputError as exc:
        message = str(exc)
        assert message and "\n" not in message and exc.exit_code == 2
        message.encode("utf-8", "backslashreplace")
        assert len(message) < 2000
    else:
        assert isinstance(recipe, Recipe)
        assert Recipe.from_dict(recipe.to_dict()) == recipe  # what validates round-trips


@SETTINGS
@given(json_values)
def test_any_json_value_is_a_recipe_or_one_line(data):
    _validates_or_one_line(data)


@SETTINGS
@example(("audio_track", "speed"), 10**400)  # found by this test: math.isfinite overflowed on a huge int
@example(("slot", "duration_sec"), -(10**5000))
@example(("audio_track", "audio_file"), "0\n")  # found by this test: a file name's newline split the error line
@given(st.sampled_from(FIELDS), json_values)
def test_a_valid_recipe_with_any_field_replaced_is_a_recipe_or_one_line(path, value):
    data = copy.deepcopy(VALID)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    _validates_or_one_line(data)


@SETTINGS
@given(st.text(max_size=200))
def test_any_recipe_text_is_a_recipe_or_one_line(text):
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        with pytest.raises(InvalidInputError):
            Recipe.from_json(text)
        return
    _validates_or_one_line(data)


FLAGS = ["--fps", "--size", "--duration", "--seed", "--speed", "--voice", "--emotion", "--expression", "--expressions",
         "--deadline", "--prompt", "--script"]
cli_text = st.text(st.characters(blacklist_characters="\x00"), max_size=40) | st.integers().map(str) \
    | st.floats(allow_nan=True, allow_infinity=True).map(str)


@SETTINGS
@given(st.dictionaries(st.sampled_from(FLAGS), cli_text, min_size=1, max_size=4))
def test_any_command_line_values_exit_2_with_one_line(tmp_path_factory, values):
    """Every value reaches its check; the output goes to /proc, so even a valid set of flags ends
    at the write check (exit 2) before any model runs."""
    folder = tmp_path_factory.mktemp("cli")
    argv = ["generate", "--quiet", "-o", "/proc/vortex-never.mp4"]
    if "--script" not in values:
        argv += ["--script", "Hi."]
    for flag, value in values.items():
        argv.append(f"{flag}={value}")  # '=' so a value that starts with '-' stays a value
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    lines = err.getvalue().strip().splitlines()
    assert code == 2, (argv, lines)
    assert len(lines) == 1, (argv, lines)
    assert "internal error" not in lines[0] and "Traceback" not in lines[0]
    assert list(Path(folder).iterdir()) == []
