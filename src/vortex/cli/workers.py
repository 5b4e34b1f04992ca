"""``vortex workers``: the Vortex workers in a Ray cluster, their backends and slots done."""

from __future__ import annotations

import argparse
import json

EPILOG = """\
examples:
  vortex workers                          the cluster started on this machine ('ray start --head')
  vortex workers --ray-address 10.0.0.5:6379 --json

Workers exist while a 'vortex serve --executor ray' service runs; each is a Ray actor with one
resident pipeline. A worker that is restarting (its process died) shows as 'restarting'.
"""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("workers", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
                              help="list the Ray cluster's Vortex workers (needs vortex[ray])",
                              description="List the Vortex workers of a Ray cluster: where each runs, its backends, "
                                          "what it renders now and the slots it made.",
                              epilog=EPILOG)
    p.add_argument("--ray-address", default="auto", metavar="auto|HOST:PORT",
                   help="the Ray head node (default auto: the cluster started on this machine)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_workers)


def _workers(args: argparse.Namespace) -> int:
    from vortex.cluster.inventory import cluster_workers
    from vortex.cluster.ray_support import check_address, require_ray

    require_ray()
    rows = cluster_workers(check_address(args.ray_address))
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    if not rows:
        print(f"no Vortex workers in the Ray cluster at {args.ray_address} (start 'vortex serve --executor ray')")
        return 0
    print(f"{'worker':<28} {'node':<16} {'pid':>7} {'state':<10} {'slots':>5}  {'job':<14} backends")
    for row in rows:
        backends = "/".join(row.get("backends", {}).values()) or "-"
        print(f"{row['name']:<28} {row.get('node', '-'):<16} {row.get('pid', '-'):>7} {row['state']:<10} "
              f"{row.get('slots_done', '-'):>5}  {row.get('job_id') or '-':<14} {backends}")
    return 0
