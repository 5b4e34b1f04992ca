"""Shared fixtures for the service tests: a small slot recipe and what ``vortex generate`` makes of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def make_recipe(script: str = "Good evening, this is channel one again.", seed: int = 3, duration: float | str = 2.0) -> dict:
    """A slot small enough for a loaded 2-core machine: 256 px, 12 fps, two seconds (or ``"auto"``)."""
    return {
        "audio_track": {"script": script, "voice_id": "jf_alpha"},
        "visual_track": {"prompt": "green alien, space"},
        "slot": {"duration_sec": duration, "fps": 12, "size": 256, "seed": seed},
    }


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
    subprocess.run(
        [sys.executable, "-m", "vortex.cli", "generate", "--recipe", str(path), "-o", str(out), "-q"],
        check=True,
        env=cli_env(),
        timeout=600,
    )
    return out.read_bytes()


@pytest.fixture(scope="session")
def reference_mp4(tmp_path_factory) -> bytes:
    return generate_with_cli(make_recipe(), tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="session")
def small_recipe():
    """``small_recipe(script=..., seed=..., duration=...)`` -> a recipe dict (see ``make_recipe``)."""
    return make_recipe


class Server:
    """A real ``vortex serve`` process on a free loopback port, with its data folder and log."""

    def __init__(self, data: Path, *args: str, env: dict | None = None) -> None:
        import time

        self.data = Path(data)
        self.log_path = self.data.parent / f"{self.data.name}.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vortex.cli", "serve", "--port", "0", "--data", str(self.data), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env or cli_env(),
        )
        deadline = time.monotonic() + 120
        self.url = None
        while self.url is None:
            text = self.log_path.read_text()
            if "serving on " in text:
                self.url = text.split("serving on ", 1)[1].split()[0]
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{text}")
            else:
                time.sleep(0.1)

    def wait_ready(self, token: str | None = None, timeout: float = 300) -> "Server":
        import time

        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        deadline = time.monotonic() + timeout
        while httpx.get(self.url + "/readyz", headers=headers).status_code != 200:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the server never became ready:\n{self.log_path.read_text()}")
            time.sleep(0.2)
        return self

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        """kill -9: no cleanup of any kind runs."""
        self.process.kill()
        self.process.wait()
        self._log.close()

    @property
    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server (1 worker, a queue of 4) shared by the API round trips of every module (model
    loads cost seconds each on a loaded machine); tests that need other flags start their own."""
    srv = Server(tmp_path_factory.mktemp("srv") / "data", "--workers", "1", "--max-queue", "4").wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def start_server(tmp_path):
    """``start_server(*flags, data=None)`` -> a ready-to-wait ``Server``; all stopped after the test."""
    started = []

    def start(*args: str, data: Path | None = None, env: dict | None = None) -> Server:
        srv = Server(data or tmp_path / f"data{len(started)}", *args, env=env)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def wait_final(client, slot_id: str, timeout: float = 300) -> dict:
    """Poll (not SSE: this is the independent view) until the slot is done, failed or cancelled."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/v1/slots/{slot_id}").json()
        if status["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


@pytest.fixture(scope="session")
def wait_for():
    return wait_final


@pytest.fixture(scope="session")
def cli_bytes(tmp_path_factory):
    """``cli_bytes(recipe)`` -> what ``vortex generate --recipe`` makes of it (a separate process)."""
    return lambda recipe: generate_with_cli(recipe, tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="session")
def run_cli():
    """``run_cli(*args, timeout=...)`` -> the finished ``vortex`` process (text stdout/stderr)."""

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "vortex.cli", *args], capture_output=True, text=True, env=cli_env(), timeout=timeout
        )

    return run
