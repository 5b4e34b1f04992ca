"""The default install pulls in no GPL code (Vortex is Apache-2.0): scripts/check_licences.py."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_licences.py"


def _module():
    spec = importlib.util.spec_from_file_location("check_licences", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_install_has_no_gpl_distribution():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    report = json.loads(proc.stdout)
    names = set(report["distributions"])
    assert report["forbidden"] == [] and report["missing"] == []
    # The walk reaches the whole tree, not only the direct requirements.
    assert {"hibari-tts", "onnxruntime", "mediapipe", "numpy", "flatbuffers", "protobuf"} <= names
    assert not names & {"phonemizer", "espeakng-loader", "piper-tts"}
    assert all(info["licence"] != "unknown" for info in report["distributions"].values()), report


@pytest.mark.parametrize(
    "licence, forbidden",
    [
        ("GPL-3.0-only", True),
        ("GPL-3.0-or-later", True),
        ("GNU General Public License v3 (GPLv3)", True),
        ("AGPL-3.0", True),
        ("LGPL-2.1-or-later", False),
        ("GNU Lesser General Public License v2 or later (LGPLv2+)", False),
        ("Apache-2.0", False),
        ("MIT License (MIT License)", False),
    ],
)
def test_the_check_tells_gpl_from_lgpl(licence, forbidden):
    assert _module().is_forbidden(licence) is forbidden


def test_the_check_reads_a_real_gpl_distribution():
    """phonemizer (GPL-3.0, the old G2P) is flagged from its installed metadata, when present."""
    try:
        dist = metadata.distribution("phonemizer")
    except metadata.PackageNotFoundError:
        pytest.skip("phonemizer is not installed here")
    module = _module()
    assert module.is_forbidden(module.licence_of(dist)), module.licence_of(dist)
