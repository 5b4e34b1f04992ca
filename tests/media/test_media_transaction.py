"""OutputTransaction: several outputs published together or not at all, never a user's folder lost."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from vortex.errors import InvalidInputError
from vortex.media.transaction import OutputTransaction


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (hidden ones included) -> sha256 of its bytes ("dir" for folders)."""
    return {str(p.relative_to(folder)): ("dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*"))}


def test_commit_publishes_every_output_and_leaves_no_staging(tmp_path):
    with OutputTransaction() as outputs:
        outputs.stage_file(tmp_path / "slot.mp4").write_bytes(b"video")
        frames = outputs.stage_dir(tmp_path / "frames")
        (frames / "frame_000001.png").write_bytes(b"png")
        outputs.stage_file(tmp_path / "slot.json").write_text("{}")
        assert not (tmp_path / "slot.mp4").exists()  # nothing visible before the commit
    assert snapshot(tmp_path) == {"frames": "dir", "frames/frame_000001.png": hashlib.sha256(b"png").hexdigest(),
                                  "slot.json": hashlib.sha256(b"{}").hexdigest(), "slot.mp4": hashlib.sha256(b"video").hexdigest()}


def test_an_exception_discards_every_staged_output(tmp_path):
    (tmp_path / "slot.mp4").write_bytes(b"the user's old video")
    before = snapshot(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        with OutputTransaction() as outputs:
            outputs.stage_file(tmp_path / "slot.mp4").write_bytes(b"half")
            outputs.stage_dir(tmp_path / "frames")
            raise KeyboardInterrupt
    assert snapshot(tmp_path) == before


def test_a_failed_rename_undoes_the_outputs_already_published(tmp_path):
    (tmp_path / "slot.mp4").write_bytes(b"old video")
    (tmp_path / "report.json").mkdir()  # a file output cannot replace a folder: the second rename fails
    (tmp_path / "report.json" / "keep.txt").write_text("mine")
    before = snapshot(tmp_path)
    outputs = OutputTransaction()
    outputs.stage_file(tmp_path / "slot.mp4").write_bytes(b"new video")
    outputs.stage_file(tmp_path / "report.json").write_text("{}")
    with pytest.raises(IsADirectoryError):
        outputs.commit()
    assert snapshot(tmp_path) == before  # the old video is back, nothing staged is left


def test_a_folder_holding_files_is_refused_unless_overwrite(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "me.png").write_bytes(b"the user's photo")
    before = snapshot(tmp_path)
    with pytest.raises(InvalidInputError, match="not empty.*--overwrite"):
        OutputTransaction().stage_dir(tmp_path / "p", flag="--frames")
    assert snapshot(tmp_path) == before
    with OutputTransaction(overwrite=True) as outputs:
        (outputs.stage_dir(tmp_path / "p") / "frame_000001.png").write_bytes(b"frame")
    assert snapshot(tmp_path) == {"p": "dir", "p/frame_000001.png": hashlib.sha256(b"frame").hexdigest()}


def test_an_empty_existing_folder_is_filled(tmp_path):
    (tmp_path / "frames").mkdir()
    with OutputTransaction() as outputs:
        (outputs.stage_dir(tmp_path / "frames") / "frame_000001.png").write_bytes(b"frame")
    assert sorted(snapshot(tmp_path)) == ["frames", "frames/frame_000001.png"]
