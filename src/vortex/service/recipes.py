"""Recipes that arrive over the network: the CLI's validation, plus what a server must refuse.

``Recipe.from_dict`` gives the same one-line message ``vortex generate --recipe`` prints; a 422
answer carries it with the field it names. On top of that a network recipe may not name a file
on the server (``photo_file``, ``audio_file``: uploads only) and must fit the service's limits.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

from vortex.errors import InvalidInputError
from vortex.recipe import Recipe
from vortex.service.limits import LimitError, ServiceLimits

SERVER_FILE_FIELDS = (("visual_track", "photo_file", "photo"), ("audio_track", "audio_file", "audio"))


def field_of(message: str) -> str:
    """The field a validation message names (its text before the first colon)."""
    return message.split(":", 1)[0].strip() if ":" in message else "recipe"


def validate_network_recipe(
    data: Any, uploads: dict[str, tuple[bytes, str]], limits: ServiceLimits, scratch: Path
) -> dict:
    """The canonical recipe dict (``Recipe.to_dict()``, no file fields) or a ``LimitError``.

    uploads: ``{"photo"|"audio": (bytes, suffix)}``, already checked by ``limits``; they stand in
    for ``photo_file``/``audio_file`` while the recipe is validated (in ``scratch``, removed after).
    """
    if isinstance(data, dict):
        for track, key, kind in SERVER_FILE_FIELDS:
            section = data.get(track)
            if isinstance(section, dict) and key in section:
                raise LimitError(
                    422,
                    f"{track}.{key}",
                    f"{track}.{key}: a recipe sent to the server may not name a file on "
                    f"the server; send the {kind} as the multipart part '{kind}'",
                )
        data = copy.deepcopy(data)
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        if isinstance(data, dict):
            for track, key, kind in SERVER_FILE_FIELDS:
                if kind not in uploads:
                    continue
                section = data.setdefault(track, {})
                if not isinstance(section, dict):
                    break  # the validator names the malformed track
                if kind == "photo" and section.get("prompt") is not None:
                    raise LimitError(
                        422, "visual_track.prompt", "visual_track: give a prompt or a photo upload, not both"
                    )
                content, suffix = uploads[kind]
                path = Path(folder) / f"{kind}{suffix}"
                path.write_bytes(content)
                section[key] = str(path)
        try:
            recipe = Recipe.from_dict(data)
        except InvalidInputError as exc:
            message = str(exc)
            raise LimitError(422, field_of(message), message) from None
    _check_limits(recipe, limits)
    canonical = recipe.to_dict()
    for track, key, _ in SERVER_FILE_FIELDS:
        canonical[track].pop(key, None)
    return canonical


def _check_limits(recipe: Recipe, limits: ServiceLimits) -> None:
    script = recipe.audio_track.script
    if script is not None and len(script) > limits.max_script_chars:
        raise LimitError(
            422,
            "audio_track.script",
            f"audio_track.script: is {len(script)} characters long, over this "
            f"server's limit of {limits.max_script_chars}",
        )
    duration = recipe.slot.duration_sec
    if duration is not None and duration > limits.max_slot_sec:
        raise LimitError(
            422,
            "slot.duration_sec",
            f"slot.duration_sec: {duration:g} s is over this server's limit of {limits.max_slot_sec:g} s",
        )
    if recipe.slot.size > limits.max_size:
        raise LimitError(
            422, "slot.size", f"slot.size: {recipe.slot.size} is over this server's limit of {limits.max_size}"
        )
