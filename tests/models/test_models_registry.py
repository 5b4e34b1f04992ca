"""Model registry and ``vortex models``: listing, offline download failure, verification of real files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from vortex.cli import main
from vortex.errors import InvalidInputError, MissingResourceError
from vortex.models import BACKENDS, backend_dir, file_statuses, get_backend, require, verify
from vortex.models.registry import LOCK_NAME, format_problem


def write_safetensors(path, arrays: dict) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(arrays, str(path))


def test_every_backend_lists_its_official_files():
    assert set(BACKENDS) == {"kokoro", "flux-schnell", "liveportrait"}
    kokoro = get_backend("kokoro")
    assert kokoro.repo_id == "hexgrad/Kokoro-82M"
    paths = {f.local_path for f in kokoro.files}
    assert {"config.json", "kokoro-v1_0.pth", "voices/af_heart.pt", "voices/am_adam.pt"} <= paths
    flux = {f.local_path for f in get_backend("flux-schnell").files}
    assert "transformer/diffusion_pytorch_model-00003-of-00003.safetensors" in flux and "model_index.json" in flux
    lp = get_backend("liveportrait")
    assert [f.repo_path for f in lp.files][0] == "liveportrait/base_models/appearance_feature_extractor.pth"
    assert lp.files[0].local_path == "base_models/appearance_feature_extractor.pth"
    with pytest.raises(InvalidInputError, match="unknown model backend"):
        get_backend("stable-diffusion")


def test_models_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VORTEX_MODELS_DIR", str(tmp_path / "m"))
    assert backend_dir("kokoro") == tmp_path / "m" / "kokoro"
    assert backend_dir("kokoro", tmp_path / "other") == tmp_path / "other" / "kokoro"


def test_list_shows_present_and_missing(tmp_path, capsys):
    lp = backend_dir("liveportrait", tmp_path)
    (lp / "base_models").mkdir(parents=True)
    (lp / "base_models" / "motion_extractor.pth").write_bytes(b"x" * 1234)
    assert main(["models", "list", "liveportrait", "--models-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 required file(s) missing" in out
    assert "present" in out and "1.2 kB  base_models/motion_extractor.pth" in out
    assert "missing" in out and "base_models/spade_generator.pth" in out


def test_require_names_every_missing_file_and_where_it_goes(tmp_path):
    with pytest.raises(MissingResourceError) as err:
        require("liveportrait", tmp_path)
    message = str(err.value)
    for f in get_backend("liveportrait").files:
        assert f"https://huggingface.co/KwaiVGI/LivePortrait/resolve/main/{f.repo_path}" in message
        assert str(tmp_path / "liveportrait" / f.local_path) in message


@pytest.mark.parametrize("env", [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}])
def test_download_offline_is_one_clear_message(tmp_path, env):
    run = subprocess.run(
        [sys.executable, "-m", "vortex.cli", "models", "download", "kokoro", "--required-only", "--models-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env, "HF_HUB_ETAG_TIMEOUT": "2"},
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("vortex: error: could not download Kokoro-82M")
    assert "https://huggingface.co/hexgrad/Kokoro-82M/resolve/main/kokoro-v1_0.pth" in run.stderr
    assert str(tmp_path / "kokoro" / "kokoro-v1_0.pth") in run.stderr
    assert "voices/af_bella.pt" in run.stderr and "voices/bf_emma.pt" not in run.stderr  # --required-only
    assert not list(tmp_path.rglob("*.pth"))  # nothing half-written


def test_verify_checks_formats_sizes_and_recorded_hashes(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    root = backend_dir("flux-schnell", tmp_path)
    vae = root / "vae" / "diffusion_pytorch_model.safetensors"
    write_safetensors(vae, {"w": np.arange(100, dtype=np.float32)})
    (root / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    results = {r.status.file.local_path: r for r in verify("flux-schnell", tmp_path)}
    assert results["vae/diffusion_pytorch_model.safetensors"].ok
    assert results["vae/diffusion_pytorch_model.safetensors"].checked == ("format",)
    assert results["model_index.json"].ok and results["transformer/config.json"].state == "missing"

    # A reference recorded by `download`: size and sha256 are now checked too.
    digest = hashlib.sha256(vae.read_bytes()).hexdigest()
    lock = {"files": {"vae/diffusion_pytorch_model.safetensors": {"size": vae.stat().st_size, "sha256": digest}}}
    (root / LOCK_NAME).write_text(json.dumps(lock))
    (ok,) = [r for r in verify("flux-schnell", tmp_path) if r.status.path == vae]
    assert ok.ok and ok.checked == ("size", "format", "sha256")
    assert main(["models", "verify", "flux-schnell", "--models-dir", str(tmp_path)]) == 0

    # Same size, one byte flipped in the data: only the hash can see it.
    data = bytearray(vae.read_bytes())
    data[-1] ^= 0xFF
    vae.write_bytes(bytes(data))
    (bad,) = [r for r in verify("flux-schnell", tmp_path) if r.status.path == vae]
    assert bad.state == "hash-mismatch"
    (fast,) = [r for r in verify("flux-schnell", tmp_path, hashes=False) if r.status.path == vae]
    assert fast.ok and "sha256" not in fast.checked
    capsys.readouterr()
    assert main(["models", "verify", "flux-schnell", "--models-dir", str(tmp_path)]) == 1
    assert "1 model file(s) failed verification" in capsys.readouterr().err

    # Truncation breaks the safetensors header's size accounting, even without a reference.
    (root / LOCK_NAME).unlink()
    vae.write_bytes(bytes(data[:-7]))
    (cut,) = [r for r in verify("flux-schnell", tmp_path) if r.status.path == vae]
    assert cut.state == "corrupt" and "truncated" in cut.detail

    # Torch checkpoints: a real torch.save archive passes, other bytes do not.
    good = tmp_path / "good.pth"
    torch.save({"a": torch.zeros(3)}, good)
    assert format_problem(good) is None
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"<html>not found</html>")
    assert "torch" in format_problem(junk)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert format_problem(broken).startswith("unreadable")


def test_statuses_report_sizes(tmp_path):
    root = backend_dir("kokoro", tmp_path)
    root.mkdir(parents=True)
    (root / "config.json").write_text("{}")
    by_path = {s.file.local_path: s for s in file_statuses("kokoro", tmp_path)}
    assert by_path["config.json"].present and by_path["config.json"].size == 2
    assert not by_path["kokoro-v1_0.pth"].present and by_path["kokoro-v1_0.pth"].size is None


@pytest.fixture
def fake_hub(tmp_path):
    """A local HTTP server speaking the hub's download protocol (paths-info, HEAD/GET resolve)."""
    import io
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"bert": {"w": torch.arange(4.0)}}, buf)
    served = {"bytes": {}, "corrupt": set()}

    def content(path: str) -> bytes:
        if path.endswith(".pth") or path.endswith(".pt"):
            return buf.getvalue()
        return json.dumps({"path": path}).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_POST(self):  # paths-info: sizes and LFS sha256 of the requested paths
            from urllib.parse import parse_qs

            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            infos = [{"type": "file", "path": p, "size": len(content(p)), "oid": "0" * 40,
                      "lfs": {"oid": hashlib.sha256(content(p)).hexdigest(), "size": len(content(p)), "pointerSize": 130}}
                     for p in form.get("paths", [])]
            self._send(200, json.dumps(infos).encode(), [("Content-Type", "application/json")])

        def do_GET(self):
            if "/resolve/" not in self.path:
                return self._send(404, headers=[("X-Error-Code", "EntryNotFound")])
            name = self.path.split("/resolve/", 1)[1].split("/", 1)[1]
            body = content(name)
            if name in served["corrupt"]:
                body = body[:-1] + bytes([body[-1] ^ 1])
            served["bytes"][name] = len(body)
            self._send(200, body, [("X-Repo-Commit", "c" * 40), ("ETag", f'"{hashlib.sha256(body).hexdigest()}"')])

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", served
    server.shutdown()
    thread.join()


def _cli(args, endpoint):
    return subprocess.run([sys.executable, "-m", "vortex.cli", "models", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_ENDPOINT": endpoint})


def test_download_fetches_checks_records_and_verifies(tmp_path, fake_hub):
    endpoint, served = fake_hub
    run = _cli(["download", "kokoro", "--required-only", "--models-dir", str(tmp_path)], endpoint)
    assert run.returncode == 0, run.stderr
    root = tmp_path / "kokoro"
    required = [f.local_path for f in get_backend("kokoro").files if f.required]
    assert sorted(served["bytes"]) == sorted(required)
    for rel in required:
        assert (root / rel).is_file()
    assert not (root / ".download").exists()  # staging cleaned up
    lock = json.loads((root / LOCK_NAME).read_text())
    pth = root / "kokoro-v1_0.pth"
    assert lock["files"]["kokoro-v1_0.pth"] == {"size": pth.stat().st_size, "sha256": hashlib.sha256(pth.read_bytes()).hexdigest()}
    assert _cli(["verify", "kokoro", "--models-dir", str(tmp_path)], endpoint).returncode == 0
    again = _cli(["download", "kokoro", "--required-only", "--models-dir", str(tmp_path)], endpoint)
    assert again.returncode == 0 and "all files present" in again.stdout


def test_download_rejects_bytes_that_do_not_match_the_hub_hash(tmp_path, fake_hub):
    endpoint, served = fake_hub
    served["corrupt"].add("kokoro-v1_0.pth")
    run = _cli(["download", "kokoro", "--required-only", "--models-dir", str(tmp_path)], endpoint)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "kokoro-v1_0.pth does not match its sha256" in run.stderr
    assert not (tmp_path / "kokoro" / "kokoro-v1_0.pth").exists()
    assert (tmp_path / "kokoro" / "config.json").exists()  # files before it were kept


def test_download_needs_names_and_all_reports_every_backend(tmp_path, capsys):
    assert main(["models", "download", "--models-dir", str(tmp_path)]) == 2
    assert "name what to download: kokoro (~" in capsys.readouterr().err
    run = subprocess.run(
        [sys.executable, "-m", "vortex.cli", "models", "download", "all", "--models-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.count("could not download") == 3
    assert str(tmp_path / "liveportrait" / "base_models" / "spade_generator.pth") in run.stderr
    assert str(tmp_path / "flux-schnell" / "vae" / "diffusion_pytorch_model.safetensors") in run.stderr
