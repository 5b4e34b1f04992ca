"""The web page in a real browser: Debian's chromium, headless, driven by Playwright.

Submit through the form, watch the SSE progress reach done, and the <video> plays the slot
(its currentTime advances, videoWidth is 512). Screenshots go to docs/screenshots/ when
VORTEX_SCREENSHOTS=1 (how the README's pictures are made).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("VORTEX_CHROMIUM", "/usr/bin/chromium")
# ENVIRONMENT.md: what Debian's chromium needs to run headless here, without reaching out.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM), reason=f"{CHROMIUM} missing: apt-get install chromium (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        yield browser
        browser.close()


def test_form_submit_progress_and_playback(browser, server, wait_for):
    page = browser.new_page()
    page.goto(server.url + "/")
    page.wait_for_function("document.querySelectorAll('#voice option').length > 0")
    page.fill("#script", "Hello from the browser.")
    page.fill("#prompt", "old scientist, grey hair, lab coat, laboratory")
    page.select_option("#expression", "excited")
    page.fill("#duration", "3")
    page.select_option("#size", "512")
    page.fill("#seed", "5")
    page.click("#submit")
    page.wait_for_function(
        "['running', 'done'].includes(document.getElementById('progress-text').dataset.status)", timeout=300_000
    )
    shot(page, "progress.png")
    page.wait_for_function("document.getElementById('progress-text').dataset.status === 'done'", timeout=300_000)
    assert page.eval_on_selector("#progress", "p => p.value") == 1
    # the player got the slot and plays it: time advances and the frame is the slot's size
    page.wait_for_function(
        "() => { const v = document.getElementById('player'); return v.readyState >= 2 && v.currentTime > 0.3; }",
        timeout=60_000,
    )
    assert page.eval_on_selector("#player", "v => v.videoWidth") == 512
    assert page.eval_on_selector("#player", "v => v.videoHeight") == 512
    first = page.eval_on_selector("#player", "v => v.currentTime")
    page.wait_for_function(
        f"document.getElementById('player').currentTime > {first} || document.getElementById('player').ended",
        timeout=30_000,
    )
    # the slot the page made is the one the API knows, with the form's recipe
    slot_id = page.evaluate("document.getElementById('player').src.split('/v1/slots/')[1].split('/')[0]")
    with httpx.Client(base_url=server.url) as http:
        status = wait_for(http, slot_id)
    assert status["recipe"]["visual_track"]["expression_preset"] == "excited"
    assert status["recipe"]["slot"] == {"duration_sec": 3.0, "fps": 24, "size": 512, "seed": 5}
    page.reload()
    page.wait_for_selector(f".slot[data-id='{slot_id}'] img")
    shot(page, "guide.png")
    page.close()


def shot(page, name: str) -> None:
    """Save a small PNG of the page for the README (3/4 scale, 128 colours) when asked to."""
    if os.environ.get("VORTEX_SCREENSHOTS") == "1":
        from PIL import Image

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            SCREENSHOTS / name, optimize=True
        )


def test_watch_a_channel(browser, server, small_recipe, wait_for):
    """The page plays a channel (``/#channel=NAME``) from the slot on air; the guide shows its programme."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        created = http.post(
            "/v1/channels",
            json={
                "name": "tonight",
                "recipes": [
                    small_recipe(script="Good evening.", seed=31),
                    small_recipe(script="Now the weather.", seed=32),
                ],
            },
        ).json()
        ids = [slot["id"] for slot in created["slots"]]
        assert all(wait_for(http, slot_id)["status"] == "done" for slot_id in ids)
    page = browser.new_page()
    page.goto(server.url + "/#channel=tonight")
    page.wait_for_function(
        "() => { const v = document.getElementById('player'); return v.readyState >= 2 && v.currentTime > 0.2; }",
        timeout=60_000,
    )
    assert page.eval_on_selector("#player", "v => v.videoWidth") == 256
    assert page.eval_on_selector("#player-title", "e => e.textContent").startswith("Channel tonight")
    page.wait_for_selector(".channel[data-channel='tonight'] .programme .slot img")
    assert (
        page.eval_on_selector_all(
            ".channel[data-channel='tonight'] .programme .slot", "cards => cards.map(c => c.dataset.id)"
        )
        == ids
    )
    assert "/channels/tonight/index.m3u8" in page.eval_on_selector("#player-note", "e => e.textContent")
    shot(page, "channel.png")
    page.close()


def test_page_asks_for_the_token(browser, start_server, tmp_path):
    """On a server with a token the page shows a token box, then works with the token it was given."""
    token = "browser-token-0123456789abcdef"
    (tmp_path / "token.txt").write_text(token)
    srv = start_server("--token-file", str(tmp_path / "token.txt")).wait_ready(token=token)
    page = browser.new_page()
    page.goto(srv.url + "/")
    page.wait_for_selector("#token-box:not([hidden])")
    assert page.eval_on_selector_all("#voice option", "options => options.length") == 0
    page.fill("#token", token)
    page.click("#token-save")
    page.wait_for_function("document.querySelectorAll('#voice option').length > 0")
    page.wait_for_function("document.getElementById('ready').className === 'ok'")
    assert page.is_hidden("#token-box")
    page.close()
