"""Routes as plain Starlette routes: an endpoint is called with the request and its path parameters.

Every endpoint reads its parameters, ``f`` and caller itself (``deps.read_call``), so FastAPI's
request handling (dependency solving, parameter validation) would only add cost: a plain route
answers a 1-point ``execute`` about 0.1 ms sooner (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router

GET_POST = ("GET", "POST")
Endpoint = Callable[..., Awaitable[Response]]


@dataclass
class Routes:
    """The routes of one module, in matching order."""

    routes: list[tuple[str, Endpoint, Sequence[str], str]] = field(default_factory=list)

    def __call__(self, path: str, *, name: str, methods: Sequence[str] = GET_POST) -> Callable[[Endpoint], Endpoint]:
        """Register ``async def endpoint(request, **path_params)`` for ``path``."""

        def register(fn: Endpoint) -> Endpoint:
            self.routes.append((path, fn, methods, name))
            return fn

        return register

    def mount(self, router: Router, prefix: str) -> None:
        """Add the routes to ``router`` under ``prefix`` (the context root, e.g. ``/arcgis``)."""
        for path, fn, methods, name in self.routes:
            router.add_route(prefix + path, _call_with_path_params(fn), methods=list(methods), name=name)


def _call_with_path_params(fn: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        params: dict[str, Any] = request.path_params
        return await fn(request=request, **params)

    endpoint.__name__ = endpoint.__qualname__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint
