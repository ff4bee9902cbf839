"""The HTTP app factory every inferwatch service is built with.

``create_app(settings, parts)`` gives a FastAPI app with ``/metrics``,
``/healthz``, ``/readyz``, OpenAPI, bearer-token auth (when a token is set: the
write token on write endpoints, a read or write token everywhere outside
``server.open_paths``), admission of request bodies before anything parses them
(``inferwatch.admission``), JSON access logs, and the routers of the requested parts. Parts
are constructed here (cheap, no I/O) and migrated and started in the lifespan,
so tests drive the whole thing with ``with TestClient(create_app(...))``.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, make_asgi_app
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from inferwatch import __version__
from inferwatch.access import ReadAccessMiddleware
from inferwatch.admission import AdmissionMetrics, AdmissionMiddleware
from inferwatch.docs_ui import add_docs
from inferwatch.errors import ClientError, StorageBusyError, StorageError
from inferwatch.handoffs import Handoffs
from inferwatch.httputil import route_template
from inferwatch.parts import Part, PartBuilder, PartContext, load_builder
from inferwatch.registry import STORE_READERS, import_target
from inferwatch.service_metrics import QUIET_ROUTES, ServiceMetrics
from inferwatch.settings import Settings
from inferwatch.storage import Storage, open_storage

log = logging.getLogger("inferwatch.http")
_bearer = HTTPBearer(auto_error=False, description="Needed on write endpoints when a token is set.")
OWN_AUTH = {"x-inferwatch-auth": "own"}
"""``openapi_extra`` of a route that checks its own credentials (skips the read-token check)."""


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse a write without the configured bearer token; open when none is configured."""
    settings: Settings = request.app.state.settings
    expected = settings.server.api_token
    if expected is None:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


WriteAuth = Annotated[None, Depends(require_token)]
"""Add ``_: WriteAuth`` to a write endpoint's parameters to protect it."""


def create_app(
    settings: Settings,
    part_names: Sequence[str] = (),
    *,
    storage: Storage | None = None,
    registry: CollectorRegistry | None = None,
    builders: dict[str, PartBuilder] | None = None,
    handoffs: Handoffs | None = None,
) -> FastAPI:
    """Build a service running the named parts on the given settings.

    ``handoffs`` carries objects published before the parts are built (a test hands
    the drift engine a window source without running the collector).

    Example:
        >>> from inferwatch.settings import load_settings
        >>> app = create_app(load_settings(database_url="sqlite:///:memory:"))
        >>> sorted(p for p in app.openapi()["paths"] if p.endswith("z"))
        ['/healthz', '/readyz']
    """
    registry = registry if registry is not None else CollectorRegistry()
    owns_storage = storage is None
    store: Storage = (
        storage
        if storage is not None
        else open_storage(
            settings.storage_url(), busy_timeout=settings.database_busy_timeout_seconds
        )
    )
    context = PartContext(
        settings=settings,
        storage=store,
        registry=registry,
        handoffs=handoffs if handoffs is not None else Handoffs(),
    )
    _fall_back_to_store_readers(context)
    parts: list[Part] = []
    for name in part_names:
        builder = (builders or {}).get(name) or load_builder(name)
        parts.append(builder(context))
    metrics = ServiceMetrics(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.migrate(loc for part in parts for loc in part.migrations())
        started: list[Part] = []
        try:
            for part in parts:
                await part.start()
                started.append(part)
                metrics.up.labels(part=part.name).set(1)
            app.state.started = True
            log.info("service started", extra={"fields": {"parts": [p.name for p in parts]}})
            yield
        finally:
            app.state.started = False
            for part in reversed(started):
                try:
                    await part.stop()
                except Exception:
                    log.exception("part %s failed to stop cleanly", part.name)
                metrics.up.labels(part=part.name).set(0)
            if owns_storage:
                store.close()

    app = FastAPI(
        title="inferwatch",
        version=__version__,
        description="Observability and drift monitoring for AI inference.",
        lifespan=lifespan,
        docs_url=None,  # served from installed assets by add_docs, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.storage = store
    app.state.registry = registry
    app.state.parts = parts
    app.state.context = context
    app.state.started = False

    part_routes: list[BaseRoute] = []  # matched by admission for each route's own body limit
    app.add_middleware(
        AdmissionMiddleware,
        limits=settings.server.limits,
        routes=lambda: part_routes,
        metrics=AdmissionMetrics(registry),
    )
    # outside admission: a request without a token is refused before it takes a body slot
    app.add_middleware(
        ReadAccessMiddleware, server=settings.server, own_auth_paths=lambda: _own_auth_paths(app)
    )
    _add_access_log(app, metrics)  # added last, so it is outermost and logs every refusal
    _add_error_handlers(app)
    _add_probes(app, store, parts)
    add_docs(app)
    app.router.routes.append(Route("/metrics", _AsgiEndpoint(make_asgi_app(registry=registry))))
    for part in parts:
        router = part.router()
        if router is not None:
            part_routes.extend(router.routes)
            app.include_router(router)
    return app


def _fall_back_to_store_readers(context: PartContext) -> None:
    """Hand-offs no part in this process publishes are read from the shared store."""
    for key_target, reader_target in STORE_READERS.items():

        def build(target: str = reader_target) -> Any:
            return import_target(target)(context.storage)

        context.handoffs.fallback(import_target(key_target), build)


def _own_auth_paths(app: FastAPI) -> list[str]:
    """Paths of the routes marked ``OWN_AUTH``, read from the OpenAPI document."""
    paths = app.openapi().get("paths", {})
    key, value = next(iter(OWN_AUTH.items()))
    return [
        path
        for path, operations in paths.items()
        if any(isinstance(op, dict) and op.get(key) == value for op in operations.values())
    ]


class _AsgiEndpoint:
    """Serve an ASGI app at an exact path (``/metrics``, no redirect to ``/metrics/``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _add_probes(app: FastAPI, store: Storage, parts: Sequence[Part]) -> None:
    @app.get("/healthz", tags=["probes"], summary="Liveness: the process answers.")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["probes"],
        summary="Readiness: started, store reachable, every part ready.",
        responses={503: {"description": "Not ready; `reasons` says why."}},
    )
    def readyz() -> JSONResponse:
        reasons: dict[str, str] = {}
        if not app.state.started:
            reasons["service"] = "starting or stopping"
        if not store.ping():
            reasons["storage"] = "state store does not answer"
        for part in parts:
            reason = part.ready()
            if reason:
                reasons[part.name] = reason
        if reasons:
            return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
        return JSONResponse({"status": "ready", "parts": [p.name for p in parts]})


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ClientError)
    async def client_error(_: Request, exc: ClientError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    @app.exception_handler(StorageError)
    async def storage_error(request: Request, exc: StorageError) -> JSONResponse:
        route = route_template(request.scope)
        if isinstance(exc, StorageBusyError):
            log.error("%s %s: %s", request.method, route, exc, exc_info=exc)
            return JSONResponse(
                {"detail": "state store busy (locked by another writer); retry later"},
                status_code=503,
                headers={"Retry-After": str(exc.retry_after_seconds)},
            )
        log.error("%s %s: state store error: %s", request.method, route, exc, exc_info=exc)
        return JSONResponse({"detail": "state store unavailable"}, status_code=503)


def _add_access_log(app: FastAPI, metrics: ServiceMetrics) -> None:
    @app.middleware("http")
    async def access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            elapsed = time.perf_counter() - start
            route = route_template(request.scope)
            metrics.duration.labels(request.method, route, str(status)).observe(elapsed)
            if status >= 500:
                metrics.errors.labels(route).inc()
            log.log(
                logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
                "request",
                extra={
                    "fields": {
                        "method": request.method,
                        "route": route,
                        "status": status,
                        "duration_s": round(elapsed, 6),
                    }
                },
            )
