"""Request parameters: the query string merged with a form-encoded or multipart body (spec 1.1).

Form bodies are decoded with numpy instead of the standard library: a 10,000-point feature set is
a ~1.6 MB field full of ``%XX`` escapes, which ``urllib`` decodes an escape at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.datastructures import UploadFile
from starlette.requests import Request

from gpserver.errors import InvalidRequestError, LimitExceededError

Params = dict[str, Any]  # name -> str, or list[str] for a repeated key, or UploadFile

_HEX = np.full(256, -1, dtype=np.int16)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF", start=10):
    _HEX[_c] = _i


def unquote_plus(raw: bytes) -> str:
    """Percent-decode a form value (``+`` is a space), vectorised; invalid escapes stay as they are."""
    if b"%" not in raw:
        return raw.replace(b"+", b" ").decode("utf-8", "replace")
    if len(raw) < 256:
        from urllib.parse import unquote_plus as std

        return std(raw.decode("latin-1"), encoding="utf-8", errors="replace")
    arr = np.frombuffer(raw, dtype=np.uint8)
    out = arr.copy()
    out[out == 43] = 32  # '+' -> ' ' (an escaped %2B decodes to '+' below)
    pct = np.flatnonzero(arr[:-2] == 37)  # '%' with two characters after it
    hi, lo = _HEX[arr[pct + 1]], _HEX[arr[pct + 2]]
    ok = (hi >= 0) & (lo >= 0)
    pct = pct[ok]
    out[pct] = (hi[ok] * 16 + lo[ok]).astype(np.uint8)
    keep = np.ones(len(arr), dtype=bool)
    keep[pct + 1] = False
    keep[pct + 2] = False
    return out[keep].tobytes().decode("utf-8", "replace")


def parse_form(body: bytes) -> dict[str, str | list[str]]:
    """Parse ``application/x-www-form-urlencoded``; a repeated key becomes a list."""
    out: dict[str, str | list[str]] = {}
    for pair in body.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        add(out, unquote_plus(name), unquote_plus(value))
    return out


def add(params: dict[str, Any], name: str, value: Any) -> None:
    """Add a value; a second value under the same name turns it into a list."""
    if name in params:
        prev = params[name]
        params[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
    else:
        params[name] = value


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused past ``limit`` bytes (checked before and while reading)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise LimitExceededError("Request too large.", details=[f"The body may hold at most {limit} bytes."])
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise LimitExceededError("Request too large.", details=[f"The body may hold at most {limit} bytes."])
        chunks.append(chunk)
    return b"".join(chunks)


async def read_params(request: Request, limit: int) -> Params:
    """Query parameters, then body parameters over them (POST)."""
    params: Params = {}
    for name, value in request.query_params.multi_items():
        add(params, name, value)
    if request.method != "POST":
        return params
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=16, max_fields=10_000, max_part_size=limit)
        except Exception as exc:  # python-multipart's errors have no common base we can name
            raise InvalidRequestError("Unable to read the multipart body.", details=[str(exc)[:200]]) from None
        body_params: Params = {}
        for key, item in form.multi_items():
            add(body_params, key, item if isinstance(item, UploadFile) else str(item))
    else:
        body = await read_body(request, limit)
        if ctype in ("", "application/x-www-form-urlencoded", "text/plain"):
            body_params = dict(parse_form(body))
        elif ctype == "application/json":
            raise InvalidRequestError("JSON bodies are not accepted.", details=["Send parameters form-encoded."])
        else:
            body_params = dict(parse_form(body))
    params.update(body_params)
    return params
