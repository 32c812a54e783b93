"""What every route reads first: the app state and the :class:`Call` (parameters, ``f``, caller).

Routes read their call explicitly (``call = await read_call(request)``) rather than through
FastAPI dependencies: solving five dependencies cost more than a 1-point Buffer (bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from gpserver.api.auth import authorize, principal_of
from gpserver.api.params import Params, read_params
from gpserver.api.render import output_format, render, render_bytes
from gpserver.auth.service import Authenticator
from gpserver.auth.users import Principal
from gpserver.errors import InvalidRequestError
from gpserver.gp.execution import InputLimits
from gpserver.jobs.service import Jobs, LazyJobs
from gpserver.services.catalog import Catalog, Service
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


@dataclass(slots=True)
class Call:
    """One request, read once: its parameters, the validated ``f`` and the verified caller.

    Attributes:
        request: the request.
        state: the app's state.
        params: query + body parameters.
        fmt: ``json``, ``pjson`` or ``html``.
        principal: the caller of a valid token, ``None`` without one.
    """

    request: Request
    state: AppState
    params: Params
    fmt: str
    principal: Principal | None

    def service(self, path: str) -> Service:
        """The service of the URL, once the caller is allowed to use it (499/403 otherwise)."""
        return authorize(self.state.catalog.service(path), self.principal)

    def answer(self, payload: Any) -> Response:
        """The payload in the asked format (JSONP ``callback`` honoured)."""
        return render(payload, self.fmt, callback(self.params))

    def answer_bytes(self, body: bytes) -> Response:
        """Already-serialised JSON in the asked format."""
        return render_bytes(body, self.fmt, callback(self.params))

    async def jobs(self) -> Jobs:
        """The jobs machinery (built on first use: the SQLite default migrates itself then)."""
        lazy: LazyJobs | None = self.state.jobs
        if lazy is None:
            raise InvalidRequestError("Unable to complete operation.", details=["Asynchronous jobs are not available."])
        if lazy.ready:
            return lazy.get()
        return await anyio.to_thread.run_sync(lazy.get)


async def read_call(request: Request, *, caller: bool = True) -> Call:
    """Parameters, then the caller (a bad token is refused whatever else is wrong), then ``f``.

    ``caller=False`` skips the token: resources open to all (``/rest/info``, ``generateToken``)."""
    params = await get_params(request)
    principal = await principal_of(request, params) if caller else None
    return Call(request, get_state(request), params, output_format(params), principal)


def input_limits(settings: Settings) -> InputLimits:
    """The input limits of the settings (GPSERVER_MAX_INPUT_FEATURES, ..._VERTICES_PER_GEOMETRY)."""
    return InputLimits(settings.limits.max_input_features, settings.limits.max_vertices_per_geometry)


def callback(params: Params) -> str | None:
    """The JSONP callback, if any."""
    value = params.get("callback")
    return value if isinstance(value, str) and value else None


_BASE_URLS: dict[tuple[Any, ...], str] = {}  # (scheme, server, host header, root path) -> base URL


def base_url(request: Request, state: AppState) -> str:
    """Absolute URL of this server's context root (``https://host/arcgis``); remembered per host
    (building Starlette's URL cost as much as a small tool run)."""
    scope = request.scope
    server = scope.get("server")
    key = (scope.get("scheme"), server and tuple(server), request.headers.get("host"), scope.get("root_path"))
    url = _BASE_URLS.get(key)
    if url is None:
        if len(_BASE_URLS) > 1024:  # many distinct Host headers: start over rather than grow
            _BASE_URLS.clear()
        url = _BASE_URLS[key] = str(request.base_url).rstrip("/")
    return url + state.settings.api.prefix
