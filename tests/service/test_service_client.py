"""``vortex submit`` and ``VortexClient`` against a real server: a recipe naming a local photo is
uploaded, and the MP4 has the bytes ``vortex generate`` makes of the same recipe file."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def photo_recipe(tmp_path_factory):
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("photo")
    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    recipe = {
        "audio_track": {"script": "Houston, all is well.", "voice_id": "jm_kumo"},
        "visual_track": {"photo_file": "astronaut.png", "expression_preset": "calm"},
        "slot": {"duration_sec": 2, "fps": 12, "size": 256, "seed": 1},
    }
    path = folder / "slot.json"
    path.write_text(json.dumps(recipe))
    return path


def test_vortex_submit_uploads_the_photo_and_saves_generates_bytes(server, run_cli, photo_recipe, tmp_path):
    out = tmp_path / "served.mp4"
    submitted = run_cli("submit", "--server", server.url, "--recipe", str(photo_recipe), "-o", str(out), timeout=600)
    assert submitted.returncode == 0, submitted.stderr
    assert "done done" in submitted.stderr and f"wrote {out}" in submitted.stdout
    local = tmp_path / "local.mp4"
    generated = run_cli("generate", "--recipe", str(photo_recipe), "-o", str(local), "-q", timeout=600)
    assert generated.returncode == 0, generated.stderr
    assert out.read_bytes() == local.read_bytes()


def test_vortex_submit_refusals_are_one_line(server, run_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"audio_track": {"script": "Hi."}, "slot": {"size": 258 + 1}}))
    answer = run_cli("submit", "--server", server.url, "--recipe", str(bad), "-o", str(tmp_path / "x.mp4"))
    assert answer.returncode == 2
    assert answer.stderr.strip().splitlines() == [
        "vortex: error: server answered 422: slot.size: must be even (H.264 yuv420p halves the colour planes), got 259"
    ]
    unreachable = run_cli("submit", "--server", "http://127.0.0.1:9", "--recipe", str(bad))
    assert unreachable.returncode == 1 and "is 'vortex serve' running?" in unreachable.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_python_client(server, small_recipe, reference_mp4, tmp_path):
    from vortex.client import ServerError, VortexClient

    with VortexClient(server.url) as client:
        slot_id = client.submit(small_recipe(), idempotency_key="client-1")
        seen = [status["status"] for status in client.events(slot_id)]
        assert seen[-1] == "done"
        assert client.wait(slot_id)["progress"]["frames_done"] == 24
        assert client.download(slot_id, tmp_path / "c.mp4").read_bytes() == reference_mp4
        assert client.submit(small_recipe(seed=1), idempotency_key="client-1") == slot_id
        failing = client.submit(small_recipe(script="Much too long for one second, much too long. " * 3, duration=1.0))
        with pytest.raises(ServerError) as failed:
            client.wait(failing)
        assert failed.value.exit_code == 2 and "too long" in str(failed.value)
        with pytest.raises(ServerError) as refused:
            client.submit({"audio_track": {"script": ""}})
        assert refused.value.status == 422 and refused.value.field == "audio_track.script"


def test_vortex_submit_programs_a_channel(server, run_cli, small_recipe, tmp_path, wait_for):
    import httpx

    programme = tmp_path / "programme.json"
    programme.write_text(json.dumps([small_recipe(seed=21), small_recipe(script="Second item.", seed=22)]))
    first = run_cli("submit", "--server", server.url, "--channel", "evening", "--recipe", str(programme))
    assert first.returncode == 0, first.stderr
    assert f"watch {server.url}/#channel=evening" in first.stderr
    single = tmp_path / "one.json"
    single.write_text(json.dumps(small_recipe(script="Third item.", seed=23)))
    second = run_cli("submit", "--server", server.url, "--channel", "evening", "--recipe", str(single))
    assert second.returncode == 0, second.stderr
    ids = first.stdout.split() + second.stdout.split()
    with httpx.Client(base_url=server.url) as http:
        assert [e["id"] for e in http.get("/v1/channels/evening").json()["programme"]] == ids
        assert all(wait_for(http, slot_id)["status"] == "done" for slot_id in ids)


def test_example_programme_is_valid():
    from pathlib import Path

    from vortex.recipe import Recipe

    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "news.json"
    assert len([Recipe.from_dict(recipe) for recipe in json.loads(example.read_text())]) == 3
