"""`vortex cast` end to end, in process: files written, JSON contents, exit codes for bad input."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from skimage import data

from vortex.cli import main


def test_cast_prompt_writes_png_and_landmarks(tmp_path):
    out, lm = tmp_path / "a.png", tmp_path / "a.json"
    assert main(["cast", "--prompt", "green alien with antennae", "--seed", "4", "-o", str(out), "--landmarks", str(lm), "-q"]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (512, 512, 3)
    doc = json.loads(lm.read_text())
    assert doc["scheme"] == "ibug68" and doc["source"] == "procedural" and len(doc["landmarks"]) == 68
    assert doc["details"]["seed"] == 4 and doc["details"]["traits"]["species"] == "alien"
    again = tmp_path / "b.png"
    assert main(["cast", "--prompt", "green alien with antennae", "--seed", "4", "-o", str(again), "-q"]) == 0
    assert out.read_bytes() == again.read_bytes()
    assert not list(tmp_path.glob(".*partial*"))  # atomic writes leave no temp files


def test_cast_photo_with_size(tmp_path):
    photo = tmp_path / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(photo, quality=92)
    out, lm = tmp_path / "actor.png", tmp_path / "actor.json"
    assert main(["cast", "--photo", str(photo), "--size", "384", "-o", str(out), "--landmarks", str(lm), "-q"]) == 0
    assert np.asarray(Image.open(out)).shape == (384, 384, 3)
    doc = json.loads(lm.read_text())
    assert doc["source"] == "photo" and len(doc["mesh"]) == 478 and len(doc["landmarks"]) == 68


def test_cast_bad_input_exit_codes(tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["cast", "--prompt", "man", "--photo", "y.jpg", "-o", str(out), "-q"]) == 2
    assert main(["cast", "-o", str(out), "-q"]) == 2
    assert main(["cast", "--prompt", "man", "--size", "100", "-o", str(out), "-q"]) == 2
    assert main(["cast", "--prompt", "   ", "-o", str(out), "-q"]) == 2
    assert main(["cast", "--photo", str(tmp_path / "missing.jpg"), "-o", str(out), "-q"]) == 2
    bad = tmp_path / "bad.jpg"
    bad.write_text("hello")
    assert main(["cast", "--photo", str(bad), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "exactly one of --prompt" in err and "not a readable image" in err
    assert not out.exists()
