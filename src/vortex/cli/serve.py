"""``vortex serve``: the resident service (HTTP API v1, a render queue, channels as live HLS, a web page)."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Serve Vortex over HTTP: models load once and stay resident, slot recipes queue and render
(--workers at once), jobs and outputs persist under --data (SQLite, atomic files; a restart
re-runs what a crash interrupted), and channels broadcast their slots as one live HLS stream.

API v1 (docs/openapi.json): POST /v1/slots (a recipe, or multipart with a photo/audio upload),
GET /v1/slots/{id}[/video.mp4|/report.json|/events], DELETE /v1/slots/{id}, POST /v1/channels,
GET /v1/channels/{name} (the programme guide), /channels/{name}/index.m3u8 (HLS),
/healthz, /readyz, /metrics. The web page is at /.

Binds 127.0.0.1 unless --host says otherwise; any other address needs --token-file (clients
send 'Authorization: Bearer TOKEN'). Recipes from the network may not name server-side files.
"""

EPILOG = """\
examples:
  vortex serve                                   http://127.0.0.1:8700, data in ~/.local/share/vortex/service
  vortex serve --port 0 --data /tmp/vx           a free port (the first line says which)
  vortex serve --host 0.0.0.0 --token-file token.txt --workers 2 --max-queue 32
  vortex submit --server http://127.0.0.1:8700 --recipe slot.json -o slot.mp4
  vortex serve --executor ray --ray-address auto --workers 4     slots on 4 Ray workers (vortex workers lists them)
"""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    from vortex.service.limits import ServiceLimits
    from vortex.service.server import DEFAULT_PORT

    defaults = ServiceLimits()
    p = subparsers.add_parser(
        "serve",
        parents=[common],
        help="serve slots and channels over HTTP (API, HLS, web page)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need --token-file)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument(
        "--data",
        metavar="DIR",
        help="jobs, uploads and outputs (default $VORTEX_DATA_DIR or ~/.local/share/vortex/service)",
    )
    p.add_argument("--workers", type=int, default=1, help="slots rendered at once (default 1, right for 2 cores)")
    p.add_argument("--token-file", metavar="F", help="a file holding the bearer token clients must send")
    p.add_argument(
        "--max-queue",
        type=int,
        default=defaults.max_queue,
        help=f"queued slots before POST answers 429 (default {defaults.max_queue})",
    )
    p.add_argument(
        "--slot-deadline",
        type=float,
        default=defaults.slot_deadline_sec,
        metavar="S",
        help=f"seconds a slot may take in all (default {defaults.slot_deadline_sec:g})",
    )
    p.add_argument(
        "--max-slot-seconds",
        type=float,
        default=defaults.max_slot_sec,
        metavar="S",
        help=f"longest slot a recipe may ask for (default {defaults.max_slot_sec:g})",
    )
    p.add_argument(
        "--animator", choices=("auto", "warp", "liveportrait"), default="auto", help="as for 'vortex generate'"
    )
    p.add_argument("--actor", choices=("auto", "procedural", "flux"), default="auto", help="as for 'vortex generate'")
    p.add_argument("--models-dir", metavar="D", help="official model files (as for 'vortex generate')")
    cluster = p.add_argument_group("scale-out on Ray (pip install 'vortex[ray]'; README 'Scaling out')")
    cluster.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where slots render: local (this process, default) or ray (--workers Ray actors, "
        "each with a resident pipeline, anywhere in the cluster)",
    )
    cluster.add_argument(
        "--ray-address",
        default="auto",
        metavar="auto|HOST:PORT",
        help="the Ray head node (default auto: the cluster 'ray start --head' began on this machine)",
    )
    cluster.add_argument(
        "--ray-num-cpus",
        type=float,
        default=1.0,
        metavar="N",
        help="CPUs each Ray worker reserves (default 1; also its BLAS/OpenMP threads)",
    )
    cluster.add_argument(
        "--ray-num-gpus",
        type=float,
        default=0.0,
        metavar="N",
        help="GPUs each Ray worker reserves (default 0; 1 for the production backends on GPU nodes)",
    )
    p.set_defaults(func=run, own_signals=True)  # uvicorn stops on SIGINT/SIGTERM and re-raises it


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from vortex.errors import InvalidInputError
    from vortex.service.limits import ServiceLimits
    from vortex.service.server import ServerConfig, default_data_dir, read_token, serve

    if args.workers < 1:
        raise InvalidInputError(f"--workers must be at least 1, got {args.workers}")
    if args.max_queue < 1:
        raise InvalidInputError(f"--max-queue must be at least 1, got {args.max_queue}")
    if not 0 <= args.port <= 65535:
        raise InvalidInputError(f"--port must be 0..65535, got {args.port}")
    for flag, value in (("--slot-deadline", args.slot_deadline), ("--max-slot-seconds", args.max_slot_seconds)):
        if not value > 0:
            raise InvalidInputError(f"{flag} must be a positive number of seconds, got {value:g}")
    if args.executor == "ray":  # at once, before anything loads: the package, the flags, the cluster
        from vortex.cluster.ray_support import check_address, check_reachable, require_ray

        require_ray()
        check_address(args.ray_address)
        if not args.ray_num_cpus > 0 or args.ray_num_gpus < 0:
            raise InvalidInputError(
                f"--ray-num-cpus must be > 0 and --ray-num-gpus >= 0, got {args.ray_num_cpus:g} "
                f"and {args.ray_num_gpus:g}"
            )
        check_reachable(args.ray_address)
    limits = replace(
        ServiceLimits(),
        max_queue=args.max_queue,
        slot_deadline_sec=args.slot_deadline,
        max_slot_sec=args.max_slot_seconds,
    )
    options = {"animator": args.animator, "actor": args.actor, "models_dir": args.models_dir}
    config = ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data) if args.data else default_data_dir(),
        workers=args.workers,
        token=read_token(args.token_file) if args.token_file else None,
        limits=limits,
        pipeline_options=options,
        executor=args.executor,
        ray_address=args.ray_address,
        ray_num_cpus=args.ray_num_cpus,
        ray_num_gpus=args.ray_num_gpus,
    )
    return serve(config, announce=sys.stderr)
