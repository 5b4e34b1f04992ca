"""Shared fixtures for the service tests: a small slot recipe and what ``vortex generate`` makes of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def make_recipe(script: str = "Good evening, this is channel one.", seed: int = 3, duration: float = 2.0) -> dict:
    """A slot small enough for a loaded 2-core machine: 256 px, 12 fps, two seconds."""
    return {"audio_track": {"script": script, "voice_id": "jf_alpha"},
            "visual_track": {"prompt": "green alien, space"},
            "slot": {"duration_sec": duration, "fps": 12, "size": 256, "seed": seed}}


def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def generate_with_cli(recipe: dict, folder: Path) -> bytes:
    """The MP4 bytes ``vortex generate --recipe`` makes (a separate process: the reference)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "recipe.json"
    path.write_text(json.dumps(recipe))
    out = folder / "cli.mp4"
    subprocess.run([sys.executable, "-m", "vortex.cli", "generate", "--recipe", str(path), "-o", str(out), "-q"],
                   check=True, env=cli_env(), timeout=600)
    return out.read_bytes()


@pytest.fixture(scope="session")
def reference_mp4(tmp_path_factory) -> bytes:
    return generate_with_cli(make_recipe(), tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="session")
def small_recipe():
    """``small_recipe(script=..., seed=..., duration=...)`` -> a recipe dict (see ``make_recipe``)."""
    return make_recipe
