"""kill -9 mid-render, restart: finished slots still served, queued ones run, the interrupted one
re-runs from scratch with the same bytes, and nothing is half-written or lost."""

from __future__ import annotations

import time

import httpx


def test_kill_9_mid_render_then_restart(start_server, small_recipe, wait_for, tmp_path, reference_mp4, cli_bytes):
    data = tmp_path / "data"
    long_recipe = small_recipe(script="This slot is interrupted by a crash and rendered again.", seed=8, duration=5.0)
    first = start_server("--workers", "1", data=data).wait_ready()
    with httpx.Client(base_url=first.url, timeout=60) as http:
        finished = http.post("/v1/slots", json=small_recipe()).json()["id"]
        interrupted = http.post("/v1/slots", json=long_recipe).json()["id"]
        queued = http.post("/v1/slots", json=small_recipe(seed=9)).json()["id"]
        assert wait_for(http, finished)["status"] == "done"
        deadline = time.monotonic() + 300
        while http.get(f"/v1/slots/{interrupted}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.5)  # into its speech or frames
    first.kill()

    slots = data / "slots"
    assert not (slots / interrupted / "video.mp4").exists()
    assert (slots / finished / "video.mp4").read_bytes() == reference_mp4

    second = start_server("--workers", "1", data=data)
    with httpx.Client(base_url=second.url, timeout=60) as http:
        # finished slots are served at once, before the models have even loaded
        assert http.get(f"/v1/slots/{finished}/video.mp4").content == reference_mp4
        second.wait_ready()
        done = {slot_id: wait_for(http, slot_id) for slot_id in (interrupted, queued)}
        assert all(status["status"] == "done" for status in done.values())
        assert done[interrupted]["attempts"] == 2 and done[queued]["attempts"] == 1
        assert http.get(f"/v1/slots/{finished}").json()["attempts"] == 1
        assert http.get(f"/v1/slots/{interrupted}/video.mp4").content == cli_bytes(long_recipe)
        assert http.get(f"/v1/slots/{queued}/video.mp4").content == cli_bytes(small_recipe(seed=9))
        assert len(http.get("/v1/slots").json()) == 3
    assert "re-running 1 slot(s) interrupted by a restart" in second.log
    assert second.stop() == -15  # SIGTERM: a graceful stop, then the signal's own exit status
    assert "vortex: stopped; 0 interrupted slot(s)" in second.log
    assert [p for p in data.rglob("*") if ".partial" in p.name] == [] and not (data / "work").exists()
