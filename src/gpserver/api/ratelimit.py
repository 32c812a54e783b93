"""A per-caller rate limit (``GPSERVER_RATE_LIMIT`` requests per minute), kept in each API process.

The caller is the user named by a correctly signed token in the query string, a header or the
cookie (checked without the database: a revoked token still counts against its user), else the
client IP. A token bucket per caller: bursts up to the minute's allowance, refilled steadily.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gpserver.api.auth import client_ip, token_of
from gpserver.api.errors import error_response
from gpserver.auth import tokens
from gpserver.errors import GPServerError, TooManyRequestsError

_MAX_CALLERS = 50_000  # buckets kept before idle ones are dropped


class RateLimit:
    """ASGI middleware answering 429 error bodies past the limit."""

    def __init__(self, app: ASGIApp, per_minute: int, secret: Callable[[], str]) -> None:
        self.app, self.per_minute, self.secret = app, per_minute, secret
        self.rate = per_minute / 60.0
        self.buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens left, when)

    def caller(self, request: Request) -> str:
        """``user:<name>`` for a signed token, else ``ip:<address>``."""
        token = token_of(request, dict(request.query_params))
        if token is not None:
            try:
                return "user:" + tokens.read(self.secret(), token).username
            except GPServerError:
                pass
        return f"ip:{client_ip(request)}"

    def take(self, caller: str, now: float) -> bool:
        """Spend one request of the caller's allowance; False when none is left."""
        left, when = self.buckets.get(caller, (float(self.per_minute), now))
        left = min(float(self.per_minute), left + (now - when) * self.rate)
        if left < 1.0:
            self.buckets[caller] = (left, now)
            return False
        if len(self.buckets) >= _MAX_CALLERS and caller not in self.buckets:
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 60}
        self.buckets[caller] = (left - 1.0, now)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 429."""
        if scope["type"] != "http" or self.per_minute <= 0:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.take(self.caller(request), time.monotonic()):
            await self.app(scope, receive, send)
            return
        error = TooManyRequestsError(
            "Too many requests.",
            details=[f"The limit is {self.per_minute} requests per minute (GPSERVER_RATE_LIMIT); retry later."],
        )
        response = error_response(request, error)
        response.headers["Retry-After"] = str(max(1, round(60 / self.per_minute)))
        await response(scope, receive, send)
