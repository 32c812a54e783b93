"""Signed tokens: ``<payload>.<signature>``, HMAC-SHA256 with the server's secret key.

The payload names the user, the user's token generation (bumping it revokes every token of that
user), the expiry and the client binding ArcGIS offers (``requestip``/``ip``: an IP address;
``referer``: a referer). Signatures are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import orjson

from gpserver.errors import InvalidTokenError


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a token says.

    Attributes:
        username: whose token it is.
        generation: the user's token generation when it was issued.
        expires: expiry, epoch seconds.
        ip: the only client IP it is valid from, if bound to one.
        referer: the only referer it is valid with, if bound to one.
    """

    username: str
    generation: int
    expires: float
    ip: str | None = None
    referer: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue(secret: str, claims: TokenClaims) -> str:
    """A signed token for the claims."""
    body = {"u": claims.username, "g": claims.generation, "e": int(claims.expires)}
    if claims.ip:
        body["i"] = claims.ip
    if claims.referer:
        body["r"] = claims.referer
    payload = _b64(orjson.dumps(body))
    return f"{payload}.{_sign(secret, payload)}"


def read(secret: str, token: str, *, now: float | None = None) -> TokenClaims:
    """Verify the signature and expiry; raise InvalidTokenError otherwise."""
    payload, dot, signature = token.strip().partition(".")
    if not dot or len(token) > 4096:
        raise InvalidTokenError("Invalid Token")
    if not hmac.compare_digest(_sign(secret, payload), signature):
        raise InvalidTokenError("Invalid Token")
    try:
        body = orjson.loads(_unb64(payload))
        claims = TokenClaims(str(body["u"]), int(body["g"]), float(body["e"]), body.get("i"), body.get("r"))
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise InvalidTokenError("Invalid Token") from None
    if claims.expires <= (time.time() if now is None else now):
        raise InvalidTokenError("Invalid Token", details=["The token has expired."])
    return claims
