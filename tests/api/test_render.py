"""Serialisation of answers (``gpserver.api.render``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import anyio
import numpy as np
import orjson
import pytest
from starlette.background import BackgroundTask

from gpserver.api.render import PartsResponse, Stream, dumps


def test_dumps_writes_numpy_fragments_and_non_string_keys_as_json_would() -> None:
    plain = {"a": np.array([1.5, 2.0]), "b": orjson.Fragment(b'{"c":1}')}
    assert dumps(plain) == b'{"a":[1.5,2.0],"b":{"c":1}}'
    # A user tool's dict with integer keys: keys become strings (the strict first try fails).
    assert dumps({"v": {1: "x", 2: np.array([3])}}) == b'{"v":{"1":"x","2":[3]}}'
    assert orjson.loads(dumps({"v": {1: "x"}}, "pjson")) == {"v": {"1": "x"}}
    assert dumps({"v": {1: "x"}}, "pjson").count(b"\n") == 4


async def _collect(response: PartsResponse) -> list[MutableMapping[str, Any]]:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await response({"type": "http"}, receive, send)
    return sent


def test_parts_response_sends_parts_and_streams_under_one_length_then_runs_its_background() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"12", b"345"):
            yield part

    done: list[int] = []
    response = PartsResponse([b'{"v":"', Stream(5, chunks), b'"}'])
    response.background = BackgroundTask(done.append, len(done) + 1)
    sent = anyio.run(_collect, response)
    assert dict(response.raw_headers)[b"content-length"] == b"13"
    assert [m.get("body") for m in sent[1:]] == [b'{"v":"', b"12", b"345", b'"}']
    assert [m.get("more_body") for m in sent[1:]] == [True, True, True, False]
    assert done == [1]  # after the body


def test_a_stream_that_ends_short_ends_the_connection() -> None:
    async def short() -> AsyncIterator[bytes]:
        yield b"12"

    with pytest.raises(RuntimeError, match="ended after 2 of 5 bytes"):
        anyio.run(_collect, PartsResponse([b"[", Stream(5, short), b"]"]))
