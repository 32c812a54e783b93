"""``<ctx>/tokens/generateToken`` (and ``<ctx>/tokens``): username and password for a token (spec 1.6).

POST only unless ``GPSERVER_ALLOW_GET_TOKEN`` is set, as ArcGIS Server; credentials in a URL would
end up in access logs and browser histories, so a POST with the password in its query string is
refused too. Unknown users cost as much as wrong passwords (``gpserver.auth.passwords``).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from gpserver.api.auth import client_ip
from gpserver.api.deps import read_call
from gpserver.api.routing import Routes
from gpserver.errors import InvalidRequestError

log = logging.getLogger(__name__)
route = Routes()
FAILED = "Unable to generate token."


def _text(params: dict[str, Any], name: str, *, strip: bool = True) -> str:
    raw = params.get(name)
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    if not isinstance(raw, str):
        return ""
    return raw.strip() if strip else raw


def _refuse(detail: str) -> InvalidRequestError:
    return InvalidRequestError(FAILED, details=[detail])


def _expiration(params: dict[str, Any]) -> int | None:
    raw = _text(params, "expiration")
    if not raw:
        return None
    try:
        minutes = int(float(raw))
    except (ValueError, OverflowError):
        raise _refuse("'expiration' is a number of minutes.") from None
    if minutes < 1:
        raise _refuse("'expiration' is a number of minutes, at least 1.")
    return minutes


def _binding(request: Request, params: dict[str, Any]) -> tuple[str | None, str | None]:
    """The IP address or referer the token is bound to (``client``); none when not asked."""
    client = _text(params, "client").lower()
    if client == "requestip":
        return client_ip(request), None
    if client == "ip":
        ip = _text(params, "ip")
        if not ip:
            raise _refuse("'ip' is required when client=ip.")
        return ip, None
    if client == "referer":
        referer = _text(params, "referer")
        if not referer:
            raise _refuse("'referer' is required when client=referer.")
        return None, referer
    if client:
        raise _refuse("'client' is one of referer, ip, requestip.")
    return None, None


@route("/tokens/generateToken", name="generateToken")
@route("/tokens", name="tokens")
async def generate_token(request: Request) -> Response:
    """A token for a username and password: ``{token, expires (epoch ms), ssl}``."""
    call = await read_call(request, caller=False)
    state, params = call.state, call.params
    allow_get = state.settings.api.allow_get_token
    if request.method != "POST" and not allow_get:
        raise _refuse("generateToken accepts POST requests only.")
    if not allow_get and any(k.lower() == "password" for k in request.query_params):
        raise _refuse("Send the password in the POST body, not in the URL.")
    username, password = _text(params, "username"), _text(params, "password", strip=False)
    if not username or not password:
        raise _refuse("'username' and 'password' are required.")
    ip, referer = _binding(request, params)
    sign_in = partial(state.auth.sign_in, username, password, minutes=_expiration(params), ip=ip, referer=referer)
    issued = await anyio.to_thread.run_sync(sign_in)
    if issued is None:
        log.warning("failed sign-in as %r from %s", username[:200], client_ip(request))
        raise _refuse("Invalid username or password.")
    token, expires = issued
    log.info("issued a token to %r from %s, valid until %d", username, client_ip(request), expires)
    response = call.answer({"token": token, "expires": int(expires * 1000), "ssl": False})
    response.headers["Cache-Control"] = "no-store"
    return response
