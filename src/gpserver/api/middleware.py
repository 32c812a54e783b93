"""ASGI middleware: path normalisation (trailing and doubled slashes, spec 0 and 18.17)."""

from __future__ import annotations

import re

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
