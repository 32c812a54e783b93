"""Who is calling and what they may use: tokens (spec 1.6), secured services, job ownership.

A token arrives, in this order of precedence, as the ``token`` query or form parameter, an
``X-Esri-Authorization: Bearer`` header (the ArcGIS API for Python), an ``Authorization: Bearer``
header, or an ``agstoken`` cookie (bmi restapi). A token that is present is always checked, on
public services too (ArcGIS answers 498 there as well); a secured service needs one (499).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import anyio
from starlette.requests import Request

from gpserver.auth.users import Principal
from gpserver.errors import PermissionDeniedError, TokenRequiredError
from gpserver.services.catalog import Service

log = logging.getLogger(__name__)
_BEARER_HEADERS = (b"x-esri-authorization", b"authorization")
_TOKEN_HEADERS = (*_BEARER_HEADERS, b"cookie")


def token_of(request: Request, params: dict[str, Any]) -> str | None:
    """The token sent with a request, if any (never logged: see ``gpserver.auth.redact``): the
    ``token`` parameter, else a bearer header, else the ``agstoken`` cookie."""
    raw = params.get("token")
    if isinstance(raw, list):
        raw = raw[-1] if raw else None
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    found: dict[bytes, bytes] = {}  # the first of each (one pass over the raw headers)
    for name, value in request.scope["headers"]:
        if name in _TOKEN_HEADERS and name not in found:
            found[name] = value
    if not found:
        return None
    for header in _BEARER_HEADERS:
        scheme, _, credentials = found.get(header, b"").decode("latin-1").strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    cookie = request.cookies.get("agstoken", "").strip() if b"cookie" in found else ""
    return cookie or None


def client_ip(request: Request) -> str | None:
    """The caller's address (uvicorn applies ``X-Forwarded-For`` from trusted proxies)."""
    return request.client.host if request.client else None


async def principal_of(request: Request, params: dict[str, Any]) -> Principal | None:
    """The verified caller, ``None`` without a token; InvalidTokenError for a bad one."""
    token = token_of(request, params)
    if token is None:
        return None
    auth = request.app.state.gp.auth
    check = partial(auth.principal, token, ip=client_ip(request), referer=request.headers.get("referer"))
    principal: Principal = await anyio.to_thread.run_sync(check)
    log.debug("%s %s by %s (%s)", request.method, request.url.path, principal.username, principal.role)
    return principal


def may_use(svc: Service, principal: Principal | None) -> bool:
    """True when the caller may use (and see) the service."""
    if not svc.config.secured:
        return True
    return principal is not None and (principal.is_admin or principal.role in svc.config.allowed_roles())


def authorize(svc: Service, principal: Principal | None) -> Service:
    """The service when the caller may use it; 499 without a token, 403 for a role not allowed."""
    if may_use(svc, principal):
        return svc
    if principal is None:
        raise TokenRequiredError("Token Required")
    raise PermissionDeniedError("")


def may_see_job(svc: Service, owner: str | None, principal: Principal | None) -> bool:
    """Jobs of a secured service are their submitter's (and administrators'); others are public."""
    if not svc.config.secured:
        return True
    return principal is not None and (principal.is_admin or (owner is not None and owner == principal.username))
