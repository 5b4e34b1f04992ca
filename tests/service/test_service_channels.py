"""Channels: slots rendered in order and published as one live HLS stream, and the programme guide."""

from __future__ import annotations

import io
import time
from urllib.parse import urljoin

import httpx


def test_channel_is_one_live_hls_stream_with_a_guide(server, small_recipe, wait_for, reference_mp4):
    import av

    with httpx.Client(base_url=server.url, timeout=60) as http:
        recipes = [small_recipe(), small_recipe(script="And now, the weather.", seed=4)]
        created = http.post("/v1/channels", json={"name": "news", "recipes": recipes})
        assert created.status_code == 201, created.text
        ids = [slot["id"] for slot in created.json()["slots"]]
        guide = http.get("/v1/channels/news").json()
        assert [entry["id"] for entry in guide["programme"]] == ids
        assert guide["next"] == {"id": ids[0]} and guide["on_air"] is None
        assert (
            "nothing on air yet" in http.get("/channels/news/index.m3u8").json()["detail"]
        )  # first slot still rendering
        assert http.post("/v1/channels", json={"name": "news", "recipes": recipes}).status_code == 409

        appended = http.post("/v1/channels/news/slots", json=small_recipe(script="Goodnight.", seed=5))
        assert appended.status_code == 202
        ids.append(appended.json()["id"])
        for slot_id in ids:
            assert wait_for(http, slot_id)["status"] == "done"

        playlist = http.get("/channels/news/index.m3u8")
        assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
        lines = playlist.text.splitlines()
        assert lines[0] == "#EXTM3U" and "#EXT-X-ENDLIST" not in lines  # live: it grows
        assert lines.count("#EXT-X-DISCONTINUITY") == 2  # between the three slots
        urls = [
            urljoin(f"{server.url}/channels/news/index.m3u8", line)
            for line in lines
            if line and not line.startswith("#")
        ]
        owners = [url.split("/slots/")[1].split("/")[0] for url in urls]
        assert owners == sorted(owners, key=ids.index) and set(owners) == set(ids)  # programme order
        declared = sum(float(line[8:].split(",")[0]) for line in lines if line.startswith("#EXTINF:"))

        # the segments decode (an independent demuxer) to the slots' frames and length
        frames = 0
        for url in urls:
            data = http.get(url)
            assert data.status_code == 200 and data.headers["content-type"] == "video/mp2t"
            with av.open(io.BytesIO(data.content), format="mpegts") as ts:
                assert ts.streams.video[0].codec_context.name == "h264" and ts.streams.audio
                frames += sum(1 for _ in ts.decode(video=0))
        assert frames == 3 * 24
        assert abs(declared - 6.0) < 0.2

        # the first slot of the channel has the bytes of the same recipe anywhere else
        assert http.get(f"/v1/slots/{ids[0]}/video.mp4").content == reference_mp4

        guide = http.get("/v1/channels/news").json()
        assert guide["on_air_since"] is not None and guide["published_sec"] == 6.0
        position = time.time() - guide["on_air_since"]
        if position < 6.0:  # still broadcasting: on air is the slot at this position, lead = what is left
            assert guide["on_air"]["id"] == ids[int(position // 2)]
            assert 0 <= guide["lead_sec"] <= 6.0
        else:  # the broadcast caught up with rendering
            assert guide["stalled"] and guide["lead_sec"] == 0 and guide["on_air"] is None
        assert "news" in http.get("/v1/channels").json()


def test_channel_refusals(server, small_recipe):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        bad = http.post("/v1/channels", json={"name": "Bad Name!", "recipes": []})
        assert bad.status_code == 422 and bad.json()["field"] == "name"
        broken = http.post(
            "/v1/channels", json={"name": "ok", "recipes": [small_recipe(), {"audio_track": {"script": ""}}]}
        )
        assert broken.status_code == 422
        assert broken.json()["detail"] == "recipes[1].audio_track.script: is empty"
        assert http.get("/v1/channels/ok").status_code == 404  # nothing of a refused channel exists
        assert http.get("/channels/nope/index.m3u8").status_code == 404
        assert http.post("/v1/channels/nope/slots", json=small_recipe()).status_code == 404
        for path in (
            "/slots/0123456789abcdef/hls/segment_00000.ts",
            "/slots/0123456789abcdef/hls/..%2F..%2Fvortex.db",
            "/channels/..%2Fslots/index.m3u8",
        ):
            assert http.get(path).status_code == 404
