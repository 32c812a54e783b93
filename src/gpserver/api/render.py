"""One payload -> ``f=json`` | ``pjson`` | ``html``, with JSONP ``callback=`` (spec 1.3)."""

from __future__ import annotations

import html
import re
from typing import Any

import orjson
from starlette.responses import Response

from gpserver.errors import InvalidRequestError

FORMATS = ("json", "pjson", "html")
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*")
_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def output_format(params: dict[str, Any]) -> str:
    """The ``f`` parameter: absent means JSON until the HTML directory lands; unknown is an error."""
    raw = params.get("f")
    f = (raw[-1] if isinstance(raw, list) else raw or "json").strip().lower()
    if f not in FORMATS:
        raise InvalidRequestError("Invalid format", details=[f"'f={f[:20]}' is not supported here; use json or pjson"])
    return f


def dumps(payload: Any, fmt: str = "json") -> bytes:
    """Serialise JSON (numpy arrays and ``orjson.Fragment`` included)."""
    return orjson.dumps(payload, option=_OPTS | (orjson.OPT_INDENT_2 if fmt == "pjson" else 0))


def render(payload: Any, fmt: str, callback: str | None = None, *, status: int = 200) -> Response:
    """A response in the asked format."""
    return render_bytes(dumps(payload, fmt), fmt, callback, status=status)


def render_bytes(body: bytes, fmt: str, callback: str | None = None, *, status: int = 200) -> Response:
    """A response from already-serialised JSON."""
    if fmt == "html":
        pretty = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
        page = f"<!doctype html><html><body><pre>{html.escape(pretty)}</pre></body></html>"
        return Response(page, status_code=status, media_type="text/html")
    if callback and _CALLBACK.fullmatch(callback) and len(callback) <= 200:
        return Response(
            b"/**/" + callback.encode() + b"(" + body + b");", status_code=200, media_type="text/javascript"
        )
    return Response(body, status_code=status, media_type="application/json")
