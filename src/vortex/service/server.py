"""Run the service: the app, its ``SlotService`` and its executor (local or Ray) under uvicorn.

``vortex serve`` calls ``serve(ServerConfig(...))``. The service starts with the server (its
lifespan) and stops with it: Ctrl-C or SIGTERM let running slots' rows stay ``running`` so
they re-run at the next start, and the workers' temporary files are removed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vortex.errors import InvalidInputError
from vortex.service.limits import ServiceLimits

DEFAULT_PORT = 8700


def default_data_dir() -> Path:
    return Path(os.environ.get("VORTEX_DATA_DIR") or Path.home() / ".local" / "share" / "vortex" / "service")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    workers: int = 1
    token: str | None = None
    limits: ServiceLimits = field(default_factory=ServiceLimits)
    pipeline_options: dict = field(default_factory=dict)
    executor: str = "local"
    """``local`` (this process) or ``ray`` (``workers`` Ray actors; ``vortex.cluster``)."""
    ray_address: str = "auto"
    ray_num_cpus: float = 1.0
    ray_num_gpus: float = 0.0


def make_executor(config: ServerConfig):
    """The executor ``config`` names: ``LocalExecutor`` or ``RayExecutor``."""
    if config.executor == "ray":
        from vortex.cluster.executor import RayExecutor

        executor = RayExecutor(
            config.ray_address,
            workers=config.workers,
            num_cpus=config.ray_num_cpus,
            num_gpus=config.ray_num_gpus,
            pipeline_options=config.pipeline_options,
        )
        executor.connect()  # now, on the main thread: no cluster is one line before the server starts
        return executor
    if config.executor != "local":
        raise InvalidInputError(f"unknown executor {config.executor!r}; choose local or ray")
    from vortex.service.executor import LocalExecutor

    return LocalExecutor(
        config.workers, work_dir=Path(config.data_dir) / "work", pipeline_options=config.pipeline_options
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    try:
        token = p.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--token-file: cannot read {p}: {exc}") from None
    if len(token) < 16:
        raise InvalidInputError(
            f"--token-file: {p} holds {len(token)} characters; use a token of at least 16 "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return token


def check_binding(config: ServerConfig) -> None:
    """Only loopback may be served without a token (anyone on the network could render otherwise)."""
    if not is_loopback(config.host) and config.token is None:
        raise InvalidInputError(
            f"--host {config.host} is reachable from other machines; give --token-file F "
            "(clients then send 'Authorization: Bearer TOKEN'), or bind 127.0.0.1"
        )


def build_app(config: ServerConfig):
    """The app with its service; the service starts and stops with the app's lifespan."""
    from vortex.service.app import create_app
    from vortex.service.service import SlotService

    executor = make_executor(config)
    service = SlotService(config.data_dir, executor, config.limits)
    app = create_app(service, token=config.token)

    @asynccontextmanager
    async def lifespan(_app):
        await service.start()
        try:
            yield
        finally:
            running = len(service.store.jobs(status="running"))
            await service.stop()
            print(
                f"vortex: stopped; {running} interrupted slot(s) re-run at the next start", file=sys.stderr, flush=True
            )

    app.router.lifespan_context = lifespan
    return app


def serve(config: ServerConfig, announce=sys.stderr) -> int:
    """Serve until Ctrl-C/SIGTERM (uvicorn then re-raises the signal, so the exit status says which);
    announces ``vortex: serving on http://HOST:PORT`` once listening
    (``--port 0`` picks a free port, and this line says which)."""
    import uvicorn

    check_binding(config)
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    app = build_app(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
    )

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            host = f"[{config.host}]" if ":" in config.host else config.host
            print(
                f"vortex: serving on http://{host}:{port} (data {config.data_dir}, {config.workers} worker(s); "
                f"ready once /readyz says so)",
                file=announce,
                flush=True,
            )
        await task

    asyncio.run(run())
    return 0 if server.started else 1
