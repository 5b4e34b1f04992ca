"""Atomic outputs: nothing at the destination on failure, normal permissions on success."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from vortex.media.atomic import atomic_output, current_umask
from vortex.media.frames import PngFramesSink


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_finished_file_has_umask_permissions_not_mkstemp_ones(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~current_umask()


def test_png_folder_is_readable_like_a_normal_folder(tmp_path):
    sink = PngFramesSink(tmp_path / "frames")
    sink.write(np.zeros((2, 8, 8, 3), np.uint8))
    folder = sink.close()
    assert sorted(p.name for p in folder.iterdir()) == ["frame_000001.png", "frame_000002.png"]
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o777 & ~current_umask()
