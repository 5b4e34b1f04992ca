"""How long `vortex generate` takes to exit after SIGINT / SIGTERM at each stage, under load.

The issue's bound is 2 s from the signal to the process's exit, with nothing left behind, on a
machine whose cores are busy. Each run starts a real CLI process (256 px, --log-json), waits
for the JSON event that shows the stage is running (as ``tests/pipeline/test_pipeline_signals.py``
does), sends the signal and times until the process has exited (its kernel teardown included).
``--load N`` starts N busy processes first (the test's own load is 2 busy threads); the
machine's load average is reported with the figures.

usage:
  python benchmarks/bench_stop.py --runs 10 --load 2            # every stage, both signals
  python benchmarks/bench_stop.py --stage transcription --signal SIGINT --runs 20 --load 6
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SCRIPT = "Science is about asking the right questions, Morty. " * 6
STAGES = {  # name -> (arguments, the JSON event that shows the stage is running)
    "kokoro": (["--script", SCRIPT, "--prompt", "alien"], {"event": "start", "task": "speech"}),
    "transcription": (["--audio", "{media}/take.wav", "--prompt", "alien"], {"event": "stage_start", "stage": "speech"}),
    "actor": (["--script", SCRIPT, "--photo", "{media}/astronaut.png"], {"event": "stage_start", "stage": "actor"}),
    "animation": (["--script", "Hi there, Morty.", "--prompt", "alien", "--duration", "300"],
                  {"event": "progress", "task": "animation"}),
}
BUSY = ("import os, time\nparent, end = os.getppid(), time.monotonic() + {seconds}\n"
        "while time.monotonic() < end and os.getppid() == parent:\n    for _ in range(100_000):\n        pass\n")
"""A busy process: it ends on its own after ``seconds``, or as soon as the benchmark has died."""
BUSY_SECONDS = 1800


def make_media(folder: Path) -> None:
    """A 40 s recording (real Kokoro speech, repeated) and a photo the project did not make."""
    import cv2
    import soundfile as sf
    from skimage import data

    from vortex.pipeline import VortexPipeline

    spoken = VortexPipeline().speech_backend("rick_c137").synthesize("Hello Morty, big science today.", "rick_c137")
    sf.write(str(folder / "take.wav"), np.tile(spoken.waveform, int(40 / spoken.duration) + 1), spoken.sample_rate)
    cv2.imwrite(str(folder / "astronaut.png"), data.astronaut()[:, :, ::-1])


def stop_once(stage: str, signum: int, media: Path) -> dict:
    """One run: seconds from the signal to the exit, the exit status and anything left behind."""
    work = Path(tempfile.mkdtemp(prefix="vortex-bench-stop-"))
    try:
        out, scratch = work / "out", work / "tmp"
        out.mkdir()
        scratch.mkdir()
        args, wanted = STAGES[stage]
        cmd = [sys.executable, "-m", "vortex.cli", "generate", *[a.replace("{media}", str(media)) for a in args],
               "--size", "256", "--log-json", "-o", str(out / "slot.mp4"), "--frames", str(out / "frames"),
               "--report", str(out / "slot.json")]
        env = dict(os.environ, TMPDIR=str(scratch), PYTHONPATH=os.pathsep.join(sys.path))
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=work)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr] + [lines.put(None)], daemon=True).start()
        try:
            while True:
                line = lines.get(timeout=600)
                if line is None:
                    return {"error": f"exited (rc {proc.wait()}) before the stage"}
                if line.startswith("{") and all(json.loads(line).get(k) == v for k, v in wanted.items()):
                    break
            proc.send_signal(signum)
            sent = time.monotonic()
            proc.wait(timeout=120)
            seconds = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        left = sorted(str(p.relative_to(work)) for p in [*out.rglob("*"), *scratch.rglob("*")])
        return {"seconds": seconds, "rc": proc.returncode, "left": left}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(stages: list[str], signals: list[str], runs: int, load: int) -> dict:
    """``runs`` stops per stage and signal while ``load`` busy processes run: max, p95, p50."""
    busy = [subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=BUSY_SECONDS)]) for _ in range(load)]
    try:
        with tempfile.TemporaryDirectory(prefix="vortex-bench-media-") as media:
            make_media(Path(media))
            loads, cases = [], {}
            for stage in stages:
                for name in signals:
                    signum = getattr(signal, name)
                    done = []
                    for _ in range(runs):
                        done.append(stop_once(stage, signum, Path(media)))
                        loads.append(os.getloadavg()[0])
                    seconds = np.array([r["seconds"] for r in done if "seconds" in r])
                    case = cases[f"{stage} {name}"] = {
                        "runs": len(done),
                        "max_s": round(float(seconds.max()), 3) if seconds.size else None,
                        "p95_s": round(float(np.percentile(seconds, 95)), 3) if seconds.size else None,
                        "p50_s": round(float(np.percentile(seconds, 50)), 3) if seconds.size else None,
                        "over_2_s": int((seconds >= 2.0).sum()),
                        "each_s": sorted(round(float(x), 3) for x in seconds),
                        "wrong_exit_status": sum(r.get("rc") != 128 + signum for r in done),
                        "left_behind": sorted({p for r in done for p in r.get("left", [])}),
                        "errors": [r["error"] for r in done if "error" in r],
                    }
                    print(json.dumps({f"{stage} {name}": case}), file=sys.stderr, flush=True)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    every = [s for c in cases.values() for s in (c["max_s"],) if s is not None]
    return {"busy_processes": load, "cores": os.cpu_count(),
            "load_average_1min": {"min": round(min(loads), 1), "max": round(max(loads), 1)},
            "worst_s": round(max(every), 3) if every else None, "cases": cases}


def run(quick: bool = False) -> dict:
    """For ``benchmarks/run.py``: every stage and signal, 5 runs each (1 with ``quick``), 2 busy processes."""
    return measure(list(STAGES), ["SIGINT", "SIGTERM"], 1 if quick else 5, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", choices=list(STAGES), action="append", help="default: every stage")
    parser.add_argument("--signal", choices=["SIGINT", "SIGTERM"], action="append", help="default: both")
    parser.add_argument("--runs", type=int, default=5, help="runs per stage and signal (default 5)")
    parser.add_argument("--load", type=int, default=2, help="busy processes kept running meanwhile (default 2)")
    opts = parser.parse_args()
    result = measure(opts.stage or list(STAGES), opts.signal or ["SIGINT", "SIGTERM"], opts.runs, opts.load)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
