"""Request parameters: the query string merged with a form-encoded or multipart body (spec 1.1).

Large form values are not decoded with ``urllib``: a 10,000-point feature set is a ~1.3 MB field
full of ``%XX`` escapes (a fifth of its bytes are '%'), which ``urllib`` decodes an escape at a time.
"""

from __future__ import annotations

import binascii
from typing import Any

import anyio
import numpy as np
from starlette.datastructures import UploadFile
from starlette.requests import Request

from gpserver.errors import InvalidRequestError, LimitExceededError

Params = dict[str, Any]  # name -> str, or list[str] for a repeated key, or UploadFile

# For each two-byte window "XY" read as a little-endian uint16: the byte %XY decodes to, or -1.
_PAIR = np.full(1 << 16, -1, dtype=np.int16)
_HEX_BYTE: dict[bytes, bytes] = {}  # b"7B" -> b"{" (both cases), for short values
_DIGITS = {c: i for i, c in enumerate(b"0123456789abcdef")} | {c: i for i, c in enumerate(b"ABCDEF", start=10)}
for _hi, _hv in _DIGITS.items():
    for _lo, _lv in _DIGITS.items():
        _PAIR[_hi | (_lo << 8)] = _hv * 16 + _lv
        _HEX_BYTE[bytes((_hi, _lo))] = bytes((_hv * 16 + _lv,))
_PCT_AS_QP = bytes.maketrans(b"%", b"=")
_SMALL = 2048  # below this, numpy's per-call overhead outweighs its passes (counting, the fallback)
_INLINE_BODY = 64 * 1024  # larger form bodies are decoded in a worker thread


def unquote_plus(raw: bytes) -> str:
    """Percent-decode a form value (``+`` is a space) as UTF-8; invalid escapes stay as they are."""
    if b"+" in raw:
        raw = raw.replace(b"+", b" ")
    if b"%" not in raw:
        return raw.decode("utf-8", "replace")
    out = _unquote_qp(raw)
    if out is None:
        out = _unquote_split(raw) if len(raw) < _SMALL else _unquote_numpy(raw)
    return out.decode("utf-8", "replace")


def _unquote_qp(raw: bytes) -> bytes | None:
    """Percent-decoding by the C quoted-printable decoder, whose ``=XX`` escapes are ours with
    another sign: 2x the numpy passes below on a 1 MB value, 15x the split below on a 1-point
    feature set; ``None`` when the value has an invalid escape.

    A literal '=' is first escaped (``%3D``), then every '%' becomes '='. A line break after an '='
    would be a soft line break to it, so values with raw CR or LF are left to the others. Each
    escape shortens the text by two bytes, and an invalid one (``%zz``, ``%%``, a '%' at the end) by
    less: the length of the output tells whether every '%' was an escape, and then it is exact.
    """
    if b"\r" in raw or b"\n" in raw:
        return None
    if b"=" in raw:
        raw = raw.replace(b"=", b"%3D")
    # numpy counts a large value 7x faster than bytes.count here, and costs more on a small one
    escapes = raw.count(b"%") if len(raw) < _SMALL else np.count_nonzero(np.frombuffer(raw, dtype=np.uint8) == 37)
    out = binascii.a2b_qp(raw.translate(_PCT_AS_QP))  # translate: 2x bytes.replace
    return out if len(out) == len(raw) - 2 * escapes else None


def _unquote_split(raw: bytes) -> bytes:
    """Percent-decoding an escape at a time (short values with an invalid escape or a line break)."""
    head, *items = raw.split(b"%")
    out = [head]
    for item in items:
        byte = _HEX_BYTE.get(item[:2])
        out.extend((b"%", item) if byte is None else (byte, item[2:]))
    return b"".join(out)


def _unquote_numpy(raw: bytes) -> bytes:
    """Percent-decoding in a few vectorised passes: one gather of the two bytes after each ``%``
    (a strided uint16 view) through a 64 Ki table, then one compress dropping the hex digits."""
    n = len(raw)
    arr = np.frombuffer(raw, dtype=np.uint8)
    pct = np.flatnonzero(arr[: n - 2] == 37)  # a '%' with two bytes after it
    pairs = np.ndarray((n - 1,), dtype="<u2", buffer=raw, strides=(1,))  # every window of two bytes
    val = _PAIR[pairs[pct + 1]]
    buf = arr.copy()
    keep = np.ones(n, dtype=bool)
    ok = val >= 0
    pct = pct[ok]
    buf[pct] = val[ok]
    keep[pct + 1] = False
    keep[pct + 2] = False
    return buf[keep].tobytes()


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
        if ctype == "application/json":
            raise InvalidRequestError("JSON bodies are not accepted.", details=["Send parameters form-encoded."])
        body = await read_body(request, limit)
        # A large body is decoded off the event loop (100,000 points: ~120 ms of decoding).
        small = len(body) <= _INLINE_BODY
        body_params = dict(parse_form(body) if small else await anyio.to_thread.run_sync(parse_form, body))
    params.update(body_params)
    return params
