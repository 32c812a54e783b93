"""One payload -> ``f=json`` | ``pjson`` | ``html``, with JSONP ``callback=`` (spec 1.3)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gpserver.errors import InvalidRequestError

FORMATS = ("json", "pjson", "html")
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*")
_OPTS = orjson.OPT_SERIALIZE_NUMPY


def output_format(params: dict[str, Any]) -> str:
    """The ``f`` parameter: absent means JSON until the HTML directory lands; unknown is an error."""
    raw = params.get("f")
    f = (raw[-1] if isinstance(raw, list) else raw or "json").strip().lower()
    if f not in FORMATS:
        raise InvalidRequestError("Invalid format", details=[f"'f={f[:20]}' is not supported here; use json or pjson"])
    return f


def free_after(response: Response, garbage: list[Any], then: Sequence[Callable[[], None]] = ()) -> Response:
    """The response, clearing ``garbage`` (a request's large objects: parsed inputs, encoded
    results) in a worker thread once it is sent, then calling each of ``then``: their deallocation
    is not the client's wait, and tens of thousands of objects would hold the event loop for
    milliseconds. Nothing to clear costs nothing (no thread)."""
    if garbage or then:
        response.background = BackgroundTask(anyio.to_thread.run_sync, _free, garbage, then)
    return response


def _free(garbage: list[Any], then: Sequence[Callable[[], None]]) -> None:
    garbage.clear()
    for call in then:
        call()


def dumps(payload: Any, fmt: str = "json") -> bytes:
    """Serialise JSON (numpy arrays and ``orjson.Fragment`` included).

    Keys that are not strings (a user tool's dict) are written as strings, as ``json`` would; orjson
    is asked for that only when a payload has them: the option halves its speed on every dict (an
    answer of 10,000 features: 1.9 against 3.3 ms)."""
    option = _OPTS | (orjson.OPT_INDENT_2 if fmt == "pjson" else 0)
    try:
        return orjson.dumps(payload, option=option)
    except orjson.JSONEncodeError:
        return orjson.dumps(payload, option=option | orjson.OPT_NON_STR_KEYS)


def render(payload: Any, fmt: str, callback: str | None = None, *, status: int = 200) -> Response:
    """A response in the asked format."""
    return render_bytes(dumps(payload, fmt), fmt, callback, status=status)


def render_bytes(body: bytes, fmt: str, callback: str | None = None, *, status: int = 200) -> Response:
    """A response from already-serialised JSON."""
    return render_parts([body], fmt, callback, status=status)


@dataclass(frozen=True, slots=True)
class Stream:
    """A body part of known size made a chunk at a time (a large stored result, read in slices)."""

    size: int
    chunks: Callable[[], AsyncIterator[bytes]]


Part = bytes | Stream


def render_parts(parts: Sequence[Part], fmt: str, callback: str | None = None, *, status: int = 200) -> Response:
    """A response from JSON serialised in consecutive parts (``f=json`` sends them without joining;
    a :class:`Stream` part only there)."""
    if fmt != "json" and any(isinstance(p, Stream) for p in parts):
        raise TypeError("a streamed part can only be sent as f=json")
    if fmt == "html":
        pretty = orjson.dumps(orjson.loads(_join(parts)), option=orjson.OPT_INDENT_2).decode()
        page = f"<!doctype html><html><body><pre>{html.escape(pretty)}</pre></body></html>"
        return Response(page, status_code=status, media_type="text/html")
    if fmt == "pjson" and len(parts) > 1:  # indented whole (orjson leaves a Fragment as it is)
        parts = [dumps(orjson.loads(_join(parts)), fmt)]
    if callback and _CALLBACK.fullmatch(callback) and len(callback) <= 200:
        return PartsResponse([b"/**/" + callback.encode() + b"(", *parts, b");"], media_type="text/javascript")
    return PartsResponse(parts, status=status)


def _join(parts: Sequence[Part]) -> bytes:
    return b"".join(p for p in parts if isinstance(p, bytes))


class PartsResponse(Response):
    """A body sent as consecutive parts under one Content-Length, never joined: a stored result of
    tens of megabytes goes out between its JSON envelope without being copied into a new one, or a
    slice at a time as it is read (:class:`Stream`)."""

    def __init__(self, parts: Sequence[Part], *, status: int = 200, media_type: str = "application/json") -> None:
        self.parts = [p for p in parts if (p.size if isinstance(p, Stream) else p)]
        self.status_code = status
        self.media_type = media_type
        self.background = None
        self.body = self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], bytes) else b""
        size = sum(p.size if isinstance(p, Stream) else len(p) for p in self.parts)
        self.init_headers({"content-length": str(size)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head, then each part (``more_body`` until the last byte)."""
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        last = len(self.parts) - 1
        for i, part in enumerate(self.parts):
            if isinstance(part, bytes):
                await send({"type": "http.response.body", "body": part, "more_body": i < last})
                continue
            sent = 0
            async for chunk in part.chunks():
                sent += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if sent != part.size:  # the head promised part.size bytes: end the connection, not the answer
                raise RuntimeError(f"a streamed part ended after {sent} of {part.size} bytes")
            if i == last:
                await send({"type": "http.response.body", "body": b""})
        if last < 0:
            await send({"type": "http.response.body", "body": b""})
        if self.background is not None:
            await self.background()
