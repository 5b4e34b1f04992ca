"""Safety: auth, server-side paths, traversal, oversized bodies and uploads, a decompression bomb,
malformed multipart. Each gets its 4xx with one line, and the server keeps serving."""

from __future__ import annotations

import io
import json
import struct
import zlib

import httpx
import numpy as np
import pytest

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client
    assert client.is_closed


def bomb_png(side: int = 10_000) -> bytes:
    """A real PNG of side x side grey pixels (100 megapixels) that compresses to ~100 KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\x80" * side
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def wav_bytes(seconds: float, rate: int = 1000) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(int(seconds * rate), np.int16), rate, format="WAV")
    return buffer.getvalue()


def refused(answer: httpx.Response, status: int, field: str | None = None) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"detail", "field"} and "\n" not in body["detail"] and "Traceback" not in body["detail"]
    if field is not None:
        assert body["field"] == field
    return body["detail"]


def multipart(recipe: dict, **files: bytes) -> dict:
    return {"data": {"recipe": json.dumps(recipe)}, "files": {k: (f"{k}.bin", v) for k, v in files.items()}}


def test_recipes_may_not_name_server_files(http, small_recipe):
    recipe = small_recipe()
    recipe["visual_track"] = {"photo_file": "/etc/passwd"}
    assert "may not name a file on the server" in refused(
        http.post("/v1/slots", json=recipe), 422, "visual_track.photo_file"
    )
    recipe = small_recipe()
    recipe["audio_track"] = {"audio_file": "../../vortex.db"}
    refused(http.post("/v1/slots", json=recipe), 422, "audio_track.audio_file")


def test_invalid_recipes_get_the_clis_line(http, small_recipe):
    recipe = small_recipe()
    recipe["slot"]["fps"] = 500
    assert (
        refused(http.post("/v1/slots", json=recipe), 422, "slot.fps")
        == "slot.fps: must be an integer from 8 to 60, got 500"
    )
    refused(http.post("/v1/slots", content=b"{not json", headers={"content-type": "application/json"}), 422, "body")
    refused(http.post("/v1/slots", json=[1, 2]), 422, "recipe")
    refused(http.post("/v1/slots", content=b"x", headers={"content-type": "text/plain"}), 415, "content-type")


def test_traversal_in_urls(http):
    for path in (
        "/v1/slots/..%2F..%2Fvortex.db",
        "/v1/slots/../../etc/passwd",
        "/v1/slots/%2e%2e/video.mp4",
        "/channels/x/..%2F..%2Fvortex.db/seg_000.ts",
    ):
        assert http.get(path).status_code == 404


def test_oversized_bodies_and_uploads(http, small_recipe):
    big = small_recipe()
    big["slot_id"] = "x" * (300 * 1024)
    assert "over the limit" in refused(http.post("/v1/slots", json=big), 413)
    huge = b"0" * (33 * 1024 * 1024)
    refused(http.post("/v1/slots", content=huge, headers={"content-type": "application/json"}), 413)
    recipe = small_recipe()
    del recipe["visual_track"]["prompt"]
    refused(http.post("/v1/slots", **multipart(recipe, photo=b"\x89PNG" + b"0" * (21 * 1024 * 1024))), 413, "photo")
    assert "megapixels" in refused(http.post("/v1/slots", **multipart(recipe, photo=bomb_png())), 413, "photo")
    refused(http.post("/v1/slots", **multipart(recipe, photo=b"this is not an image")), 422, "photo")
    spoken = {"visual_track": {"prompt": "robot"}, "slot": {"duration_sec": "auto", "size": 256}}
    assert "over the limit of 600 s" in refused(
        http.post("/v1/slots", **multipart(spoken, audio=wav_bytes(660))), 413, "audio"
    )


def test_malformed_multipart(http):
    headers = {"content-type": "multipart/form-data; boundary=zzz"}
    refused(
        http.post("/v1/slots", content=b"--zzz\r\nContent-Disposition: form-data\r\n\r\nbroken", headers=headers), 400
    )
    refused(http.post("/v1/slots", files={"recipe": ("r.json", b"{}")}), 422, "recipe")
    refused(http.post("/v1/slots", data={"recipe": "{}"}, files={"other": ("o.bin", b"1")}), 422, "other")
    refused(http.post("/v1/slots", data={"recipe": "{}"}), 415, "content-type")  # urlencoded


def test_server_keeps_serving(http, small_recipe, wait_for, reference_mp4):
    slot_id = http.post("/v1/slots", json=small_recipe()).json()["id"]
    assert wait_for(http, slot_id)["status"] == "done"
    assert http.get(f"/v1/slots/{slot_id}/video.mp4").content == reference_mp4


def test_token_required_and_compared(start_server, tmp_path, small_recipe):
    token_file = tmp_path / "token.txt"
    token_file.write_text(TOKEN + "\n")
    srv = start_server("--token-file", str(token_file))
    with httpx.Client(base_url=srv.url, timeout=60) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/").status_code == 200  # the page asks for the token itself
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            answer = http.get("/v1/voices", headers=headers)
            refused(answer, 401)
            assert answer.headers["www-authenticate"] == "Bearer"
        refused(http.post("/v1/slots", json=small_recipe()), 401)
        assert http.get("/v1/voices", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert http.get("/v1/voices", params={"token": TOKEN}).status_code == 200


def test_other_addresses_need_a_token(tmp_path, run_cli):
    data = tmp_path / "data"
    refused_bind = run_cli("serve", "--host", "0.0.0.0", "--port", "0", "--data", str(data), timeout=120)
    assert refused_bind.returncode == 2
    assert refused_bind.stderr.count("\n") == 1 and "--token-file" in refused_bind.stderr
    short = tmp_path / "short.txt"
    short.write_text("abc")
    weak = run_cli(
        "serve", "--host", "0.0.0.0", "--port", "0", "--data", str(data), "--token-file", str(short), timeout=120
    )
    assert weak.returncode == 2 and "at least 16" in weak.stderr
    assert not data.exists()  # nothing was created for a refused start


def test_per_slot_deadline(start_server, small_recipe, wait_for):
    srv = start_server("--slot-deadline", "0.5").wait_ready()
    with httpx.Client(base_url=srv.url, timeout=60) as http:
        slot_id = http.post("/v1/slots", json=small_recipe(duration=5.0)).json()["id"]
        status = wait_for(http, slot_id)
        assert status["status"] == "failed" and status["error_type"] == "DeadlineExceededError"
        assert status["report"]["exit_code"] == 3
        assert http.get(f"/v1/slots/{slot_id}/video.mp4").status_code == 404
        assert http.get("/healthz").status_code == 200
