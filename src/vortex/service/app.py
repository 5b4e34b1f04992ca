"""The HTTP layer (FastAPI): API v1, channels' HLS, health, metrics and the web page.

Every answer a client gets is JSON with one line (``{"detail": ..., "field": ...}``) or the
file it asked for; an unexpected error is logged on the server and answered with a 500 that
carries no traceback. When the server has a token, every route but ``/healthz`` and the page
itself needs it (``Authorization: Bearer TOKEN``, or ``?token=`` for media elements, which
cannot send headers), compared in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from vortex import __version__
from vortex.recipe import recipe_json_schema
from vortex.service.limits import LimitError, ServiceLimits
from vortex.service.service import Conflict, NotFound, QueueFull, SlotService

log = logging.getLogger("vortex.service")

SSE_KEEPALIVE_SEC = 15.0


class ErrorBody(BaseModel):
    detail: str
    field: str | None = None


class SlotAccepted(BaseModel):
    id: str
    status_url: str


class ChannelCreated(BaseModel):
    name: str
    guide_url: str
    playlist_url: str
    slots: list[SlotAccepted]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "malformed request"),
        (401, "missing or wrong token"),
        (404, "not found"),
        (409, "conflict"),
        (413, "too large"),
        (415, "unsupported content type"),
        (422, "invalid recipe or upload"),
        (429, "queue full; see Retry-After"),
    )
}

RECIPE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Recipe"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["recipe"],
                "properties": {
                    "recipe": {"type": "string", "description": "The recipe as JSON text (no photo_file/audio_file)."},
                    "photo": {"type": "string", "format": "binary", "description": "A face photo: PNG, JPEG or WebP."},
                    "audio": {
                        "type": "string",
                        "format": "binary",
                        "description": "Recorded speech: WAV, FLAC, OGG, MP3 or M4A.",
                    },
                },
            }
        },
    },
}


def _content(*media_types: str, binary: bool = True) -> dict:
    """A 200 response documented as one of ``media_types`` (errors stay JSON)."""
    schema = {"type": "string", "format": "binary"} if binary else {"type": "string"}
    return {200: {"content": {media: {"schema": schema} for media in media_types}, "description": "OK"}, **ERRORS}


def _error(status: int, detail: str, field: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status_code=status, headers=headers)


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _error(413, f"request body of {int(declared)} bytes is over the limit of {self.limit}")(
                scope, receive, send
            )
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _error(413, f"request body is over the limit of {self.limit} bytes")(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def create_app(
    service: SlotService | None = None, token: str | None = None, limits: ServiceLimits | None = None
) -> FastAPI:
    """The ASGI app. ``service`` None builds it for the OpenAPI document only."""
    limits = limits or (service.limits if service else ServiceLimits())
    app = FastAPI(
        title="Vortex",
        version=__version__,
        description="Talking-head slots from recipes, rendered on a queue, and channels broadcast as live HLS. "
        "Generated from the code: `python -m vortex.service.openapi > docs/openapi.json`.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service

    def authorize(request: Request) -> None:
        if token is None:
            return
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else request.query_params.get("token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _Unauthorized()

    def svc() -> SlotService:
        if app.state.service is None:
            raise RuntimeError("this app was built without a service (OpenAPI only)")
        return app.state.service

    # -- errors: one JSON line, never a traceback ----------------------------------------------

    @app.exception_handler(_Unauthorized)
    async def unauthorized(request, exc):
        return _error(
            401, "this server needs a token: send 'Authorization: Bearer TOKEN'", headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(LimitError)
    async def limit_error(request, exc: LimitError):
        return _error(exc.status, str(exc), exc.field)

    @app.exception_handler(QueueFull)
    async def queue_full(request, exc: QueueFull):
        return _error(429, str(exc), headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(NotFound)
    async def not_found(request, exc):
        return _error(404, str(exc))

    @app.exception_handler(Conflict)
    async def conflict(request, exc):
        return _error(409, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header"))
        return _error(422, f"{where or 'request'}: {first.get('msg', 'invalid')}", where or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal(request, exc: Exception):
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error; the server's log has the details")

    # -- health, metrics, catalogs -------------------------------------------------------------

    @app.get("/healthz", tags=["health"], summary="The process answers.")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Models loaded and workers ready (503 until then).",
        dependencies=[Depends(authorize)],
        responses={503: {"description": "still loading, or failed to load"}},
    )
    async def readyz() -> JSONResponse:
        s = svc()
        body = {"ready": s.ready, "workers": [vars(w) for w in s.executor.workers()], "error": s.load_error}
        return JSONResponse(body, status_code=200 if s.ready else 503)

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus text format.",
        response_class=Response,
        responses=_content("text/plain; version=0.0.4", binary=False),
        dependencies=[Depends(authorize)],
    )
    async def metrics() -> PlainTextResponse:
        import psutil

        s = svc()
        text = s.metrics.text(
            s.store.count("queued"), s.store.count("running"), psutil.Process().memory_info().rss, s.executor.capacity
        )
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @app.get("/v1/voices", tags=["catalog"], summary="Voices a recipe may name (offered: measured at or under 2 % WER; the others still speak).", dependencies=[Depends(authorize)])
    async def voices() -> list[dict]:
        from vortex.speech import voices as catalog

        return [
            {"id": v.id, "kind": v.kind, "recipe": v.recipe, "speed": v.speed, "default": v.id == catalog.DEFAULT_VOICE,
             "offered": v.offered}
            for v in catalog.VOICES.values()
        ]

    @app.get(
        "/v1/presets", tags=["catalog"], summary="Expression presets and emotions.", dependencies=[Depends(authorize)]
    )
    async def presets() -> dict:
        from vortex.recipe import known_emotions, known_presets

        return {"expressions": list(known_presets()), "emotions": list(known_emotions())}

    # -- slots ------------------------------------------------------------------------------------

    @app.post(
        "/v1/slots",
        status_code=202,
        tags=["slots"],
        response_model=SlotAccepted,
        responses=ERRORS,
        summary="Queue a slot: a recipe (JSON), or multipart with the recipe and a photo and/or audio upload.",
        openapi_extra={
            "requestBody": RECIPE_BODY,
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "The same key returns the same job.",
                }
            ],
        },
        dependencies=[Depends(authorize)],
    )
    async def submit_slot(request: Request) -> JSONResponse:
        recipe, uploads = await _read_recipe(request, limits)
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= 200:
            raise LimitError(422, "Idempotency-Key", "Idempotency-Key: must be 1 to 200 characters")
        job, _ = await asyncio.to_thread(svc().submit, recipe, uploads, key)
        return JSONResponse({"id": job.id, "status_url": f"/v1/slots/{job.id}"}, status_code=202)

    @app.get("/v1/slots", tags=["slots"], summary="Recent slots, newest first.", dependencies=[Depends(authorize)])
    async def list_slots(limit: int = 20) -> list[dict]:
        s = svc()
        return [s.status(job) | {"recipe": None, "report": None} for job in s.store.jobs(limit=max(1, min(limit, 200)))]

    @app.get(
        "/v1/slots/{slot_id}",
        tags=["slots"],
        summary="Status, progress, timings, warnings and the report.",
        responses=ERRORS,
        dependencies=[Depends(authorize)],
    )
    async def slot_status(slot_id: str) -> dict:
        s = svc()
        return s.status(s.job(slot_id))

    @app.get(
        "/v1/slots/{slot_id}/video.mp4",
        tags=["slots"],
        summary="The MP4 (byte ranges supported).",
        responses=_content("video/mp4"),
        response_class=Response,
        dependencies=[Depends(authorize)],
    )
    async def slot_video(slot_id: str) -> FileResponse:
        return FileResponse(_done_file(svc(), slot_id, "video"), media_type="video/mp4")

    @app.get(
        "/v1/slots/{slot_id}/report.json",
        tags=["slots"],
        summary="The slot report (JSON).",
        responses=ERRORS,
        dependencies=[Depends(authorize)],
    )
    async def slot_report(slot_id: str) -> FileResponse:
        return FileResponse(_done_file(svc(), slot_id, "report"), media_type="application/json")

    @app.get(
        "/v1/slots/{slot_id}/thumbnail.jpg",
        tags=["slots"],
        summary="A frame of the slot.",
        responses=_content("image/jpeg"),
        response_class=Response,
        dependencies=[Depends(authorize)],
    )
    async def slot_thumbnail(slot_id: str) -> FileResponse:
        return FileResponse(_done_file(svc(), slot_id, "thumbnail"), media_type="image/jpeg")

    @app.get(
        "/v1/slots/{slot_id}/events",
        tags=["slots"],
        responses=_content("text/event-stream", binary=False),
        dependencies=[Depends(authorize)],
        response_class=Response,
        summary="Server-Sent Events: the status at every change, ending with done, failed or cancelled.",
    )
    async def slot_events(slot_id: str) -> StreamingResponse:
        s = svc()
        s.job(slot_id)  # 404 before the stream starts
        return StreamingResponse(
            _sse(s, slot_id),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.delete(
        "/v1/slots/{slot_id}",
        tags=["slots"],
        summary="Cancel a queued or running slot (it leaves nothing).",
        responses=ERRORS,
        dependencies=[Depends(authorize)],
    )
    async def cancel_slot(slot_id: str) -> dict:
        s = svc()
        return s.status(await s.cancel(slot_id))

    # -- channels ---------------------------------------------------------------------------------

    @app.post(
        "/v1/channels",
        status_code=201,
        tags=["channels"],
        response_model=ChannelCreated,
        responses=ERRORS,
        summary="Create a channel from recipes, rendered and broadcast in order.",
        dependencies=[Depends(authorize)],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["name", "recipes"],
                            "additionalProperties": False,
                            "properties": {
                                "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"},
                                "recipes": {"type": "array", "items": {"$ref": "#/components/schemas/Recipe"}},
                            },
                        }
                    }
                },
            }
        },
    )
    async def create_channel(request: Request) -> JSONResponse:
        body = await _json_body(request, limits.max_body_bytes)
        if not isinstance(body, dict):
            raise LimitError(422, "body", 'body: must be an object {"name", "recipes"}')
        jobs = await asyncio.to_thread(svc().create_channel, body.get("name"), body.get("recipes"))
        name = body["name"]
        return JSONResponse(
            {
                "name": name,
                "guide_url": f"/v1/channels/{name}",
                "playlist_url": f"/channels/{name}/index.m3u8",
                "slots": [{"id": j.id, "status_url": f"/v1/slots/{j.id}"} for j in jobs],
            },
            status_code=201,
        )

    @app.get("/v1/channels", tags=["channels"], summary="Channel names.", dependencies=[Depends(authorize)])
    async def list_channels() -> list[str]:
        return svc().channel_names()

    @app.get(
        "/v1/channels/{name}",
        tags=["channels"],
        responses=ERRORS,
        dependencies=[Depends(authorize)],
        summary="The programme guide: on air, next, the lead time and the programme.",
    )
    async def channel_guide(name: str) -> dict:
        return svc().channel_guide(name)

    @app.post(
        "/v1/channels/{name}/slots",
        status_code=202,
        tags=["channels"],
        response_model=SlotAccepted,
        responses=ERRORS,
        summary="Append a slot to a channel.",
        openapi_extra={"requestBody": RECIPE_BODY},
        dependencies=[Depends(authorize)],
    )
    async def append_slot(name: str, request: Request) -> JSONResponse:
        recipe, uploads = await _read_recipe(request, limits)
        job = await asyncio.to_thread(svc().append_to_channel, name, recipe, uploads)
        return JSONResponse({"id": job.id, "status_url": f"/v1/slots/{job.id}"}, status_code=202)

    @app.get(
        "/channels/{name}/index.m3u8",
        tags=["channels"],
        responses=_content("application/vnd.apple.mpegurl", binary=False),
        dependencies=[Depends(authorize)],
        response_class=Response,
        summary="The channel as one live HLS playlist (grows as slots finish; 404 until the first one has).",
    )
    async def channel_playlist(name: str) -> FileResponse:
        return FileResponse(
            svc().channel_playlist(name),
            media_type="application/vnd.apple.mpegurl",
            headers={"Cache-Control": "no-cache"},
        )

    @app.get(
        "/slots/{slot_id}/hls/{name}",
        tags=["channels"],
        responses=_content("video/mp2t", "application/vnd.apple.mpegurl"),
        response_class=Response,
        summary="A finished channel slot's HLS playlist or MPEG-TS segment (what channel playlists point at).",
        dependencies=[Depends(authorize)],
    )
    async def slot_hls(slot_id: str, name: str) -> FileResponse:
        path = svc().slot_hls_file(slot_id, name)
        return FileResponse(path, media_type="video/mp2t" if path.suffix == ".ts" else "application/vnd.apple.mpegurl")

    # -- the page -------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(resources.files("vortex.service").joinpath("web/index.html").read_text(encoding="utf-8"))

    def openapi() -> dict:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            recipe = {k: v for k, v in recipe_json_schema().items() if not k.startswith("$")}
            schema.setdefault("components", {}).setdefault("schemas", {})["Recipe"] = recipe
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)
    return app


class _Unauthorized(Exception):
    pass


def _done_file(service: SlotService, slot_id: str, kind: str):
    job = service.job(slot_id)
    path = getattr(service.files, kind)(job.id)
    if not path.is_file():
        raise NotFound(f"slot {slot_id} has no {kind} (it is {job.status})")
    return path


async def _json_body(request: Request, limit: int) -> Any:
    body = await request.body()
    if len(body) > limit:
        raise LimitError(413, "body", f"body: {len(body)} bytes, over the limit of {limit}")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LimitError(422, "body", f"body: not valid JSON: {exc}") from None


async def _read_recipe(request: Request, limits: ServiceLimits) -> tuple[Any, dict[str, bytes]]:
    """A recipe from a JSON body, or from multipart (``recipe`` text plus ``photo``/``audio`` files)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=2, max_fields=1, max_part_size=limits.max_recipe_bytes)
        try:
            unknown = sorted(set(form.keys()) - {"recipe", "photo", "audio"})
            if unknown:
                raise LimitError(
                    422, unknown[0], f"{unknown[0]}: unknown multipart part; send recipe, photo and/or audio"
                )
            text = form.get("recipe")
            if not isinstance(text, str):
                raise LimitError(
                    422, "recipe", "recipe: the multipart part 'recipe' (the recipe as JSON text) is required"
                )
            try:
                recipe = json.loads(text)
            except json.JSONDecodeError as exc:
                raise LimitError(
                    422, "recipe", f"recipe: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                ) from None
            uploads = {}
            for name, cap in (("photo", limits.max_photo_bytes), ("audio", limits.max_audio_bytes)):
                part = form.get(name)
                if part is None:
                    continue
                if isinstance(part, str):
                    raise LimitError(422, name, f"{name}: must be a file upload")
                data = await part.read(cap + 1)
                if len(data) > cap:
                    raise LimitError(413, name, f"{name}: over the limit of {cap / 1e6:g} MB")
                uploads[name] = data
            return recipe, uploads
        finally:
            await form.close()
    if kind not in ("application/json", ""):
        raise LimitError(415, "content-type", f"content-type: send application/json or multipart/form-data, got {kind}")
    return await _json_body(request, limits.max_recipe_bytes), {}


async def _sse(service: SlotService, slot_id: str):
    """``event: status`` lines while the slot moves, the last one named after its outcome."""
    events = service.events(slot_id).__aiter__()
    pending: asyncio.Task | None = None
    try:
        while True:
            pending = pending or asyncio.ensure_future(events.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=SSE_KEEPALIVE_SEC)
            if not done:
                yield ": keep-alive\n\n"
                continue
            try:
                status = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            name = status["status"] if status["status"] in ("done", "failed", "cancelled") else "status"
            yield f"event: {name}\ndata: {json.dumps(status)}\n\n"
    finally:
        if pending is not None:
            pending.cancel()
        await events.aclose()
