"""ASGI middleware: path normalisation (trailing and doubled slashes, spec 0 and 18.17) and CORS."""

from __future__ import annotations

import re

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

_SLASHES = re.compile(r"/{2,}")


class NormalizePath:
    """Route ``/a//b/`` as ``/a/b``: esri-leaflet adds a trailing slash, one client doubles one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the path, then pass on."""
        if scope["type"] == "http":
            path: str = scope["path"]
            new = _SLASHES.sub("/", path)
            if len(new) > 1:
                new = new.rstrip("/")
            if new != path:
                scope = dict(scope, path=new)
        await self.app(scope, receive, send)


# File downloads carry validators (a cache may keep them): they say they vary by Origin themselves.
VARY_ORIGIN = {"Vary": "Origin"}


class CORS(CORSMiddleware):
    """Starlette's CORS, skipped for requests without an ``Origin`` header (curl, the Python
    clients, server-to-server calls): wrapping every response to add ``Vary: Origin`` cost 13 us of
    a 1-point execute. JSON answers carry no validators or freshness, so no cache keeps one to hand
    a browser; file downloads send ``Vary: Origin`` themselves (:data:`VARY_ORIGIN`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass requests without ``Origin`` straight on; the rest as Starlette does."""
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
