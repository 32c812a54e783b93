"""Dependencies, named by ``Annotated`` aliases: the app state, parsed parameters, ``f``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import anyio
from fastapi import Depends
from starlette.requests import Request

from gpserver.api.params import Params, read_params
from gpserver.api.render import output_format
from gpserver.auth.service import Authenticator
from gpserver.errors import InvalidRequestError
from gpserver.gp.execution import InputLimits
from gpserver.jobs.service import Jobs, LazyJobs
from gpserver.services.catalog import Catalog
from gpserver.settings import Settings


@dataclass
class AppState:
    """What the app owns for its lifetime.

    Attributes:
        settings: all settings.
        catalog: the published services.
        sync_limiter: bounds concurrent synchronous executes (they run in threads).
        auth: users and tokens.
        jobs: the jobs machinery (store, runner, monitor), built on first use.
    """

    settings: Settings
    catalog: Catalog
    sync_limiter: anyio.CapacityLimiter
    auth: Authenticator
    jobs: LazyJobs | None = field(default=None)


def get_state(request: Request) -> AppState:
    """The app's state."""
    state: AppState = request.app.state.gp
    return state


async def get_params(request: Request) -> Params:
    """Query + body parameters; kept on the request so error bodies honour ``f`` and ``callback``."""
    cached: Params | None = getattr(request.state, "params", None)
    if cached is not None:
        return cached
    request.state.params = {k: v for k, v in request.query_params.items()}  # for errors while reading
    params = await read_params(request, get_state(request).settings.api.max_request_bytes)
    request.state.params = params
    return params


async def get_format(params: Annotated[Params, Depends(get_params)]) -> str:
    """The validated ``f``."""
    return output_format(params)


async def _state(request: Request) -> AppState:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a hop per request.
    return get_state(request)


StateDep = Annotated[AppState, Depends(_state)]
ParamsDep = Annotated[Params, Depends(get_params)]
FormatDep = Annotated[str, Depends(get_format)]


def input_limits(settings: Settings) -> InputLimits:
    """The input limits of the settings (GPSERVER_MAX_INPUT_FEATURES, ..._VERTICES_PER_GEOMETRY)."""
    return InputLimits(settings.limits.max_input_features, settings.limits.max_vertices_per_geometry)


def callback(params: Params) -> str | None:
    """The JSONP callback, if any."""
    value = params.get("callback")
    return value if isinstance(value, str) and value else None


def base_url(request: Request, state: AppState) -> str:
    """Absolute URL of this server's context root (``https://host/arcgis``)."""
    return str(request.base_url).rstrip("/") + state.settings.api.prefix


async def get_jobs(state: StateDep) -> Jobs:
    """The jobs machinery (built on first use: the SQLite default migrates itself then)."""
    lazy: LazyJobs | None = state.jobs
    if lazy is None:
        raise InvalidRequestError("Unable to complete operation.", details=["Asynchronous jobs are not available."])
    if lazy.ready:
        return lazy.get()
    return await anyio.to_thread.run_sync(lazy.get)


JobsDep = Annotated[Jobs, Depends(get_jobs)]
