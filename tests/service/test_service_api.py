"""API v1 round trips against a real server (httpx), checked with independent decoders."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def finished(http, small_recipe, wait_for):
    """One slot rendered through the server, with the SSE stream recorded while it rendered."""
    accepted = http.post("/v1/slots", json=small_recipe(), headers={"Idempotency-Key": "round-trip-1"})
    assert accepted.status_code == 202, accepted.text
    slot_id = accepted.json()["id"]
    events = []
    with http.stream("GET", f"/v1/slots/{slot_id}/events", timeout=httpx.Timeout(300, connect=30)) as stream:
        name = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
    return slot_id, events, wait_for(http, slot_id)


def test_slot_has_the_bytes_vortex_generate_makes(http, finished, reference_mp4):
    slot_id, _, status = finished
    assert status["status"] == "done"
    video = http.get(f"/v1/slots/{slot_id}/video.mp4")
    assert video.headers["content-type"] == "video/mp4"
    assert video.content == reference_mp4


def test_status_carries_progress_timings_warnings_and_report(finished):
    slot_id, _, status = finished
    assert status["progress"] == {"stage": "done", "frames_done": 24, "frames_total": 24}
    assert status["duration_sec"] == 2.0 and status["attempts"] == 1 and status["worker"] == "local-0"
    assert status["timings"]["total"] > 0 and "speech" in status["timings"]
    assert any("truncated" in w for w in status["warnings"])  # this script is longer than its 2 s slot
    assert status["report"]["frames"] == 24 and status["report"]["backends"]["animator"] == "warp"
    assert status["report"]["output"] == f"/v1/slots/{slot_id}/video.mp4"


def test_events_stream_progress_and_end_with_done(finished):
    _, events, _ = finished
    assert events[-1][0] == "done" and events[-1][1]["status"] == "done"
    assert all(name == "status" for name, _ in events[:-1])
    frames = [e["progress"]["frames_done"] for _, e in events if e["status"] == "running"]
    assert frames == sorted(frames)


def test_idempotency_key_returns_the_same_job(http, finished, small_recipe):
    slot_id, _, _ = finished
    again = http.post("/v1/slots", json=small_recipe(seed=99), headers={"Idempotency-Key": "round-trip-1"})
    assert again.status_code == 202 and again.json()["id"] == slot_id


def test_byte_ranges_let_a_browser_seek(http, finished, reference_mp4):
    slot_id, _, _ = finished
    part = http.get(f"/v1/slots/{slot_id}/video.mp4", headers={"Range": "bytes=100-299"})
    assert part.status_code == 206
    assert part.content == reference_mp4[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{len(reference_mp4)}"


def test_report_and_thumbnail(http, finished):
    from PIL import Image

    slot_id, _, _ = finished
    report = http.get(f"/v1/slots/{slot_id}/report.json").json()
    assert report["success"] and report["size"] == 256 and report["fps"] == 12
    thumb = Image.open(io.BytesIO(http.get(f"/v1/slots/{slot_id}/thumbnail.jpg").content))
    assert thumb.format == "JPEG" and thumb.size == (256, 256)


def test_catalogs_health_and_metrics(http, finished):
    voices = http.get("/v1/voices").json()
    assert "jf_alpha" in [v["id"] for v in voices] and sum(v["default"] for v in voices) == 1
    offered = {v["id"] for v in voices if v["offered"]}  # what `vortex voices` lists, measured <= 2 % WER
    assert {"heart", "jm_kumo", "rick_c137"} <= offered and not {"jf_alpha", "summer"} & offered
    presets = http.get("/v1/presets").json()
    assert {"neutral", "excited"} <= set(presets["expressions"]) and "sad" in presets["emotions"]
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["workers"][0]["name"] == "local-0"
    metrics = http.get("/metrics").text
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if not line.startswith("#")
    }
    assert samples["vortex_queue_depth"] == 0
    assert samples['vortex_slots_total{outcome="done"}'] >= 1
    assert samples["vortex_render_seconds_count"] == samples['vortex_render_seconds_bucket{le="+Inf"}'] >= 1
    assert samples["vortex_process_resident_memory_bytes"] > 50e6


def test_cancel_a_queued_and_a_running_slot(http, small_recipe, wait_for, server):
    running = http.post("/v1/slots", json=small_recipe(seed=11, duration=8.0)).json()["id"]
    queued = http.post("/v1/slots", json=small_recipe(seed=12)).json()["id"]
    assert http.delete(f"/v1/slots/{queued}").json()["status"] == "cancelled"
    deadline = time.monotonic() + 300  # bounded: a slot that never reports "running" fails here, not at CI's limit
    while (status := http.get(f"/v1/slots/{running}").json()["status"]) != "running":
        assert status == "queued" and time.monotonic() < deadline, f"the slot went {status!r} without being seen running"
        time.sleep(0.05)
    assert http.delete(f"/v1/slots/{running}").json()["status"] == "cancelled"
    for slot_id in (queued, running):
        assert wait_for(http, slot_id)["status"] == "cancelled"
        assert http.get(f"/v1/slots/{slot_id}/video.mp4").status_code == 404
        assert not (server.data / "slots" / slot_id).exists()
    assert list((server.data / "work").iterdir()) == []
    assert http.delete(f"/v1/slots/{running}").status_code == 409


def test_failed_slot_reports_the_clis_message(http, small_recipe, wait_for):
    recipe = small_recipe(
        script="Far too many words for a one second slot, far too many words indeed. " * 3, duration=1.0
    )
    slot_id = http.post("/v1/slots", json=recipe).json()["id"]
    status = wait_for(http, slot_id)
    assert status["status"] == "failed" and "too long" in status["error"]
    assert status["report"]["exit_code"] == 2
    assert http.get(f"/v1/slots/{slot_id}/video.mp4").status_code == 404


def test_unknown_slot_is_404(http):
    assert http.get("/v1/slots/0123456789abcdef").status_code == 404
    assert http.get("/v1/slots/nope").status_code == 404
