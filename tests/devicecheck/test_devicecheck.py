"""The device check's CPU part (what CI can run): the one command, its one line and its JSON document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vortex.animators.liveportrait.recipe import golden_dir
from vortex.devicecheck.runner import Budget, Step, run_steps
from vortex.devices import nvidia_driver_present

pytest.importorskip("torch")
pytest.importorskip("diffusers")

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # LivePortrait on the CPU: 3 frames at several seconds each on an idle 2-core box
@pytest.mark.skipif(nvidia_driver_present(), reason="an NVIDIA driver is present: there the check is the GPU run")
@pytest.mark.skipif(golden_dir() is None, reason="LivePortrait golden data not found (its recipe weights are the check's LivePortrait step): "
                    "expected <repo>/../shared/liveportrait or $VORTEX_LIVEPORTRAIT_GOLDEN")
def test_without_a_gpu_the_script_says_so_in_one_line_and_runs_the_cpu_parts(tmp_path):
    env = {**os.environ, "VORTEX_PYTHON": sys.executable}
    # A generous budget: on a loaded 2-core CI box the CPU part may take minutes; nothing is skipped.
    done = subprocess.run([str(ROOT / "scripts" / "device-check.sh"), "--budget", "3000", "-o", str(tmp_path / "check.json")],
                          capture_output=True, text=True, timeout=2400, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vortex.devicecheck: no NVIDIA GPU here (no NVIDIA driver"), done.stderr
    assert "4 of 4 steps ok" in lines[0]
    doc = json.loads(done.stdout)
    assert json.loads((tmp_path / "check.json").read_text()) == doc
    assert doc["gpu"] is None and doc["ok"] and "CUDA tests (pytest -m cuda)" in doc["unmeasured"]
    steps = doc["steps"]
    assert {name: step["status"] for name, step in steps.items()} == dict.fromkeys(("vram_monitor", "liveportrait", "warp", "flux_tiny"), "ok")
    assert steps["vram_monitor"]["active"] is False and "no VRAM limits apply" in steps["vram_monitor"]["describe"]
    lp = steps["liveportrait"]
    assert lp["fp32"]["frames"] == 2 and lp["fp32"]["ms_per_frame"] > 0 and lp["batch_size"] == 2
    assert lp["fp32_batched_vs_single"]["frames"] == 1 and lp["fp32_batched_vs_single"]["max"] <= 1  # rounding only
    warp = steps["warp"]
    assert warp["opencv_cpu"]["frames"] == warp["torch_cpu"]["frames"] == 12
    assert warp["torch_vs_opencv"]["mean"] < 0.5
    flux = steps["flux_tiny"]
    assert flux["image"] == [512, 512, 3] and flux["same_seed_same_image"] and flux["device"] == "cpu"


def test_steps_run_in_order_under_the_budget_and_failures_are_recorded():
    ran = []

    def ok(context):
        ran.append("ok")
        return {"value": context["x"]}

    def broken(context):
        ran.append("broken")
        raise RuntimeError("no luck")

    steps = [Step("first", ok, 0), Step("broken", broken, 0), Step("too_big", ok, 10_000), Step("last", ok, 0)]
    results = run_steps(steps, {"x": 3}, Budget(60))
    assert ran == ["ok", "broken", "ok"]
    assert results["first"]["status"] == "ok" and results["first"]["value"] == 3
    assert results["broken"]["status"] == "failed" and "RuntimeError: no luck" in results["broken"]["error"]
    assert results["too_big"]["status"] == "skipped" and "time budget" in results["too_big"]["reason"]
    assert results["last"]["status"] == "ok"
