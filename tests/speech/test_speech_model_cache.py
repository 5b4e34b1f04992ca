"""Assembling the Kokoro model from its PyPI parts: verified, atomic, reused, self-repairing."""

from __future__ import annotations

import hashlib

from vortex.speech.kokoro_model import MODEL_NAME, MODEL_SHA256, assembled_model_path


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_assembles_verifies_and_reuses(tmp_path):
    path = assembled_model_path(tmp_path)
    assert path == tmp_path / MODEL_NAME and _sha(path) == MODEL_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == [MODEL_NAME, MODEL_NAME + ".sha256"]  # no temp files left
    mtime = path.stat().st_mtime_ns
    assert assembled_model_path(tmp_path) == path and path.stat().st_mtime_ns == mtime  # reused, not rewritten


def test_a_damaged_cache_file_is_rebuilt(tmp_path):
    path = assembled_model_path(tmp_path)
    with open(path, "r+b") as fh:  # flip bytes in place, same size: the stamp alone must not hide it
        fh.seek(1000)
        fh.write(b"\x00" * 16)
    (tmp_path / (MODEL_NAME + ".sha256")).unlink()
    assert _sha(assembled_model_path(tmp_path)) == MODEL_SHA256
    path.write_bytes(b"truncated")  # a different size than the stamp records
    assert _sha(assembled_model_path(tmp_path)) == MODEL_SHA256
