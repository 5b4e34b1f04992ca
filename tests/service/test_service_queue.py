"""20 submissions at once with 2 workers: all finish, none is lost, and the queue answers 429
(with Retry-After) beyond its bound."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx


def test_twenty_at_once_two_workers(start_server, small_recipe, wait_for):
    import av

    srv = start_server("--workers", "2", "--max-queue", "20").wait_ready()
    # auto length: about a second each, and never too long for its slot
    recipes = [small_recipe(script=f"Item {i}.", seed=i, duration="auto") for i in range(20)]
    with httpx.Client(base_url=srv.url, timeout=120) as http:
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda r: http.post("/v1/slots", json=r), recipes))
        assert [a.status_code for a in answers] == [202] * 20
        ids = [a.json()["id"] for a in answers]
        assert len(set(ids)) == 20

        # beyond the bound: 429 with a Retry-After in whole seconds (a place frees up as slots start)
        extra, refused = [], None
        for i in range(10):
            answer = http.post("/v1/slots", json=small_recipe(script=f"Extra {i}.", seed=100 + i, duration="auto"))
            if answer.status_code == 429:
                refused = answer
                break
            assert answer.status_code == 202
            extra.append(answer.json()["id"])
        assert refused is not None, "the queue never refused"
        assert int(refused.headers["retry-after"]) >= 1
        assert "limit is 20" in refused.json()["detail"]
        assert len(extra) <= 4  # only as many as had left the queue for the two workers

        finals = [wait_for(http, slot_id, timeout=900) for slot_id in ids + extra]
        assert [f["status"] for f in finals] == ["done"] * len(finals)
        assert {f["worker"] for f in finals} == {"local-0", "local-1"}
        listed = {s["id"] for s in http.get("/v1/slots", params={"limit": 200}).json()}
        assert listed == set(ids + extra)
        for final in (finals[0], finals[-1]):
            with av.open(srv.url + final["video_url"]) as mp4:
                assert sum(1 for _ in mp4.decode(video=0)) == final["report"]["frames"] > 0
        metrics = http.get("/metrics").text
        assert f'vortex_slots_total{{outcome="done"}} {len(finals)}' in metrics and "vortex_queue_depth 0" in metrics
