"""``python -m vortex.devicecheck``: the device check; one JSON document on stdout, one line on stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from vortex.devicecheck.runner import run_check

DEFAULT_BUDGET_S = 450.0
"""7.5 minutes: the check must finish in under 8, installation included (the script passes what is left)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vortex.devicecheck",
        description="Run the CUDA tests and GPU measurements (LivePortrait FP32/FP16, compile and CUDA graphs, warp "
                    "torch path, tiny Flux, VRAM limits) and print one JSON document; without a GPU, say so and run "
                    "the CPU parts.",
    )
    parser.add_argument("--budget", type=float, default=None, metavar="S",
                        help=f"seconds the check may take (default {DEFAULT_BUDGET_S:.0f}, less what "
                             "$VORTEX_DEVICECHECK_STARTED says has passed)")
    parser.add_argument("--frames", type=int, default=1080, metavar="N", help="LivePortrait frames on the GPU (default 1080)")
    parser.add_argument("--no-tests", action="store_true", help="skip pytest -m cuda")
    parser.add_argument("-o", "--output", metavar="FILE", help="also write the JSON document to FILE")
    parser.add_argument("--verbose", action="store_true", help="one stderr line per step as it finishes")
    args = parser.parse_args(argv)
    budget = args.budget if args.budget is not None else DEFAULT_BUDGET_S
    started = os.environ.get("VORTEX_DEVICECHECK_STARTED")  # set by scripts/device-check.sh before installing
    if args.budget is None and started:
        budget -= max(0.0, time.time() - float(started))
    if args.frames < 1:
        print("vortex.devicecheck: error: --frames must be at least 1", file=sys.stderr)
        return 2
    log = (lambda line: print(f"vortex.devicecheck: {line}", file=sys.stderr)) if args.verbose else None
    document = run_check(budget_s=budget, frames=args.frames, run_tests=not args.no_tests, log=log)
    text = json.dumps(document, indent=2)
    print(text)
    if args.output:
        from vortex.media.atomic import write_text_atomic

        write_text_atomic(args.output, text + "\n")
    statuses = [step["status"] for step in document["steps"].values()]
    summary = f"{statuses.count('ok')} of {len(statuses)} steps ok, {statuses.count('failed')} failed, " \
              f"{statuses.count('skipped')} skipped, in {document['elapsed_s']:.0f} s"
    if document["gpu"] is None:
        print(f"vortex.devicecheck: no NVIDIA GPU here ({document['no_gpu_reason']}); ran the CPU parts only: {summary}",
              file=sys.stderr)
    else:
        gpu = document["gpu"]
        print(f"vortex.devicecheck: {gpu['name']} (driver {gpu.get('driver')}, CUDA {gpu.get('cuda')}): {summary}", file=sys.stderr)
    return 0 if document["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
