"""``vortex workers`` and the Ray flags fail at once, with one line, when Ray cannot be used."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
# Python's own switch: a None entry in sys.modules makes `import ray` fail as if not installed.
WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from vortex.cli import main; sys.exit(main(sys.argv[1:]))"


def vortex(*args: str, without_ray: bool = False, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-c", WITHOUT_RAY, *args] if without_ray else [sys.executable, "-m", "vortex.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_workers_without_ray_names_the_missing_package():
    done = vortex("workers", "--ray-address", "auto", without_ray=True)
    assert done.returncode == 1 and done.stdout == ""
    assert "'ray' package is not installed" in one_line(done.stderr) and "pip install 'vortex[ray]'" in done.stderr


def test_workers_with_a_bad_or_unreachable_address():
    bad = vortex("workers", "--ray-address", "not-an-address")
    assert bad.returncode == 2 and "--ray-address" in one_line(bad.stderr)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = vortex("workers", "--ray-address", f"127.0.0.1:{port}")
    assert gone.returncode == 1 and f"no Ray cluster answers at 127.0.0.1:{port}" in one_line(gone.stderr)


@pytest.mark.parametrize("address", ["auto", "10.0.0.5:6379", "[::1]:6379", "ray://head:10001"])
def test_addresses_that_are_accepted(address):
    from vortex.cluster.ray_support import check_address

    assert check_address(address) == address


def test_serve_with_the_ray_executor_without_ray_fails_before_touching_anything(tmp_path):
    data = tmp_path / "data"
    done = vortex("serve", "--executor", "ray", "--ray-address", "auto", "--port", "0", "--data", str(data),
                  without_ray=True)
    assert done.returncode == 1 and "pip install 'vortex[ray]'" in one_line(done.stderr)
    assert not data.exists()


def test_serve_with_an_unreachable_head_fails_at_once(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = vortex("serve", "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--port", "0",
                  "--data", str(tmp_path / "data"))
    assert done.returncode == 1 and "no Ray cluster answers" in one_line(done.stderr)
    assert not (tmp_path / "data").exists()
