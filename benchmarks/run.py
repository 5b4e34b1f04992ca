"""Run every benchmark and print one JSON document.

Each ``benchmarks/bench_*.py`` module exposes ``run(quick: bool = False) -> dict``. This script
runs each one in its own Python process, so peak memory is that benchmark's alone and a crash or
a missing model in one is recorded without stopping the others.

usage:
  python benchmarks/run.py                  # full run (a 45-second slot, 1080-frame encodes...)
  python benchmarks/run.py --quick          # a short run for a smoke check
  python benchmarks/run.py --only encoding --only speech
  python benchmarks/run.py --quick -o bench.json   # also write the document to a file
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def discover(only: list[str] | None = None, directory: Path = HERE) -> dict[str, Path]:
    """Benchmark name (``bench_<name>.py``) -> file, sorted by name."""
    found = {p.stem[len("bench_") :]: p for p in sorted(Path(directory).glob("bench_*.py"))}
    if only:
        unknown = [name for name in only if name not in found]
        if unknown:
            raise SystemExit(f"run.py: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(found)}")
        found = {name: found[name] for name in only}
    return found


def _child(path: Path, quick: bool, result_file: Path) -> None:
    """Inside the subprocess: import the module, call ``run(quick)``, write its dict as JSON."""
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(quick=quick)
    record = {"result": result, "peak_vram_mb": None}
    torch = sys.modules.get("torch")  # only if the benchmark itself used torch
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        record["peak_vram_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    result_file.write_text(json.dumps(record, default=str))


def run_one(path: Path, quick: bool, timeout: float) -> dict:
    """Run one benchmark in a subprocess; never raises for the benchmark's own failures."""
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), "--result", str(result_file)]
        if quick:
            cmd.append("--quick")
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=HERE.parent)
            deadline = start + timeout
            timed_out = False
            while True:
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    timed_out = True
                    proc.kill()
                    _, status, rusage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = round(time.perf_counter() - start, 3)
            err.seek(0)
            stderr_tail = err.read()[-2000:]
        entry = {"wall_s": wall, "peak_rss_mb": round(rusage.ru_maxrss / 1024, 1), "returncode": proc.returncode}
        if timed_out:
            entry.update(ok=False, error=f"timed out after {timeout:g} s")
        elif proc.returncode == 0 and result_file.exists():
            record = json.loads(result_file.read_text())
            entry.update(ok=True, peak_vram_mb=record["peak_vram_mb"], result=record["result"])
        else:
            lines = [line for line in stderr_tail.strip().splitlines() if line.strip()]
            entry.update(ok=False, error=lines[-1] if lines else f"exited with {proc.returncode}", stderr_tail=stderr_tail)
        return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short versions of every benchmark")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable): encoding, speech, ...")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per benchmark (default 1800)")
    parser.add_argument("-o", "--output", type=Path, help="also write the JSON document to this file")
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)  # other benchmark folders (tests)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.quick, args.result)
        return 0

    benches = discover(args.only, args.dir)
    document = {
        "machine": None,  # filled in last: importing torch here would count in every child's peak RSS
        "quick": args.quick,
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "benchmarks": {},
    }
    for name, path in benches.items():
        print(f"run.py: {name} ...", file=sys.stderr, flush=True)
        entry = run_one(path, args.quick, args.timeout)
        print(f"run.py: {name} {'ok' if entry['ok'] else 'FAILED: ' + entry['error']} ({entry['wall_s']} s)", file=sys.stderr, flush=True)
        document["benchmarks"][name] = entry
    from common import machine

    document["machine"] = machine()
    document["failed"] = [name for name, entry in document["benchmarks"].items() if not entry["ok"]]
    text = json.dumps(document, indent=2)
    print(text)
    if args.output:
        sys.path.insert(0, str(HERE.parent / "src"))
        from vortex.media.atomic import write_text_atomic

        write_text_atomic(args.output, text + "\n")
    return 1 if document["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
