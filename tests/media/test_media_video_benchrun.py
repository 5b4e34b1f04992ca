"""benchmarks/run.py: one JSON document, per-benchmark processes, failures captured, not fatal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def _bench(tmp_path: Path, name: str, body: str) -> None:
    (tmp_path / f"bench_{name}.py").write_text(body)


def test_run_collects_results_errors_and_timeouts(tmp_path):
    _bench(tmp_path, "alloc", "import numpy as np\n"
           "def run(quick=False):\n"
           "    block = np.ones(150_000_000 if not quick else 60_000_000, np.uint8)  # touch ~60 MB\n"
           "    print('noise on stdout is fine')\n"
           "    return {'quick': quick, 'sum': int(block[::4096].sum())}\n")
    _bench(tmp_path, "broken", "def run(quick=False):\n    raise RuntimeError('model file missing: run vortex models download')\n")
    _bench(tmp_path, "slow", "import time\ndef run(quick=False):\n    time.sleep(30)\n    return {}\n")
    proc = subprocess.run([sys.executable, str(RUN), "--dir", str(tmp_path), "--quick", "--timeout", "3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["quick"] is True and doc["machine"]["cores"] >= 1 and "cpu" in doc["machine"]
    assert sorted(doc["benchmarks"]) == ["alloc", "broken", "slow"]
    alloc = doc["benchmarks"]["alloc"]
    assert alloc["ok"] and alloc["result"] == {"quick": True, "sum": 60_000_000 // 4096 + 1}
    assert 60 < alloc["peak_rss_mb"] < 400  # the child's own peak, not the parent's
    broken = doc["benchmarks"]["broken"]
    assert not broken["ok"] and broken["error"] == "RuntimeError: model file missing: run vortex models download"
    slow = doc["benchmarks"]["slow"]
    assert not slow["ok"] and slow["error"] == "timed out after 3 s" and slow["wall_s"] < 10
    assert doc["failed"] == ["broken", "slow"]


def test_run_only_selects_and_rejects_unknown(tmp_path):
    _bench(tmp_path, "a", "def run(quick=False):\n    return {'quick': quick}\n")
    _bench(tmp_path, "b", "def run(quick=False):\n    raise SystemExit(3)\n")
    proc = subprocess.run([sys.executable, str(RUN), "--dir", str(tmp_path), "--only", "a"], capture_output=True, text=True, timeout=60)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and list(doc["benchmarks"]) == ["a"] and doc["benchmarks"]["a"]["result"] == {"quick": False}
    bad = subprocess.run([sys.executable, str(RUN), "--dir", str(tmp_path), "--only", "nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "unknown benchmark" in bad.stderr
