"""The application factory: ``create_app(settings)`` builds one app with its own state."""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI

from gpserver import __version__
from gpserver.api import directories, gpserver, jobs, rest, tokens, uploads
from gpserver.api.deps import AppState, input_limits
from gpserver.api.errors import install_error_handlers
from gpserver.api.middleware import CORS, NormalizePath
from gpserver.api.ratelimit import RateLimit
from gpserver.auth import redact
from gpserver.auth.service import Authenticator
from gpserver.gp.execution import configure_limits
from gpserver.jobs.service import LazyJobs
from gpserver.services import catalog as services_catalog
from gpserver.services.catalog import Catalog
from gpserver.settings import Settings

log = logging.getLogger(__name__)


def load_catalog(settings: Settings) -> Catalog:
    """The services file resolved against the tool registry (fails start-up when bad)."""
    return services_catalog.load_catalog(settings.storage.services_file)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing is read from the environment unless ``settings`` is omitted."""
    settings = settings or Settings.from_env()
    redact.install()  # tokens never reach a log line (uvicorn's access log included)
    configure_limits(input_limits(settings))
    state = AppState(
        settings=settings,
        catalog=load_catalog(settings),
        sync_limiter=anyio.CapacityLimiter(1),
        auth=Authenticator(settings),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.sync_limiter = anyio.CapacityLimiter(settings.api.sync_workers)
        state.jobs = LazyJobs(settings)
        await anyio.to_thread.run_sync(state.jobs.start_if_needed)  # recovery runs from the start
        # Start-up objects (modules, tools, PROJ handles) never become garbage: keep them out of
        # every later full collection.
        gc.freeze()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(state.jobs.close)
            state.auth.close()

    app = FastAPI(
        **_telemetry(settings.api.telemetry),
        title="gpserver",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # the REST contract is ArcGIS's (docs/): no OpenAPI pages
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,  # NormalizePath strips trailing slashes: a redirect adding one would loop
    )
    app.state.gp = state
    app.state.files = uploads.Files.create(settings)
    # Matching order: execute and the job resources (the hot paths) first (each route passed costs
    # a regular expression match); uploads before the task resource, or ``GPServer/uploads`` would
    # be taken for a task named "uploads".
    order = (gpserver.hot, jobs.route, uploads.route, gpserver.route, rest.route, tokens.route, directories.route)
    for routes in order:
        routes.mount(app.router, settings.api.prefix)
    install_error_handlers(app)
    app.add_middleware(RateLimit, per_minute=settings.limits.rate_limit, secret=lambda: state.auth.secret)
    app.add_middleware(
        CORS,
        allow_origins=settings.api.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
    )
    app.add_middleware(NormalizePath)
    return app


def _telemetry(enabled: bool) -> dict[str, Any]:
    """FastAPI's ``telemetry`` argument (FastAPI 0.165+; older ones take none): all or nothing."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": enabled, "metrics": enabled, "logs": enabled}}


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory gpserver.app:app_from_env``."""
    return create_app(Settings.from_env())
