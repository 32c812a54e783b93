"""A FeatureServer-like HTTP server for URL inputs: paging, tokens, slow, oversized and redirecting answers."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import free_port

TOTAL = 25
PAGE = 10
TOKEN = "s3cret-token-value"  # noqa: S105 - a test fixture, not a secret


def feature(i: int) -> dict[str, Any]:
    """Feature i: a point at (i, 2i) in Web Mercator with an id and a name."""
    return {"attributes": {"OBJECTID": i, "id": i, "name": f"p{i}"}, "geometry": {"x": 1000.0 * i, "y": 2000.0 * i}}


def fields() -> list[dict[str, Any]]:
    """The layer's fields."""
    return [
        {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"},
        {"name": "id", "type": "esriFieldTypeInteger", "alias": "id"},
        {"name": "name", "type": "esriFieldTypeString", "alias": "name", "length": 20},
    ]


def feature_set(features: list[dict[str, Any]], exceeded: bool = False) -> dict[str, Any]:
    """A query answer."""
    body: dict[str, Any] = {
        "objectIdFieldName": "OBJECTID",
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 102100, "latestWkid": 3857},
        "fields": fields(),
        "features": features,
    }
    if exceeded:
        body["exceededTransferLimit"] = True
    return body


class Recorder:
    """Query parameters the server received, in order."""

    def __init__(self) -> None:
        self.queries: list[dict[str, str]] = []


async def params_of(request: Request) -> dict[str, str]:
    """Query string and form body merged."""
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: str(v) for k, v in (await request.form()).items()})
    return params


def make_app(recorder: Recorder) -> Starlette:
    """The test server."""

    async def query(request: Request) -> Response:
        params = await params_of(request)
        recorder.queries.append(params)
        if request.path_params.get("svc") == "Secure":
            token = params.get("token")
            if not token:
                return JSONResponse({"error": {"code": 499, "message": "Token Required", "details": []}})
            if token != TOKEN:
                return JSONResponse({"error": {"code": 498, "message": f"Invalid token {token}", "details": []}})
        where = params.get("where", "1=1")
        low = int(m.group(1)) if (m := re.search(r"id\s*>\s*(\d+)", where)) else 0
        matching = [feature(i) for i in range(1, TOTAL + 1) if i > low]
        offset = int(params.get("resultOffset", 0))
        count = min(int(params.get("resultRecordCount", PAGE)), PAGE)
        page = matching[offset : offset + count]
        return JSONResponse(feature_set(page, exceeded=offset + len(page) < len(matching)))

    async def points_file(request: Request) -> Response:
        return JSONResponse(feature_set([feature(i) for i in range(1, 4)]))

    async def geojson_file(request: Request) -> Response:
        gj = {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, -i]}, "properties": {"k": i}}
                for i in range(1, 6)
            ],
        }
        return Response(json.dumps(gj), media_type="application/geo+json")

    async def slow(request: Request) -> Response:
        await asyncio.sleep(3)
        return JSONResponse(feature_set([feature(1)]))

    # Built once: under load, building 40,000 features per request took longer than the
    # client's 1 s timeout, so the test saw a time-out instead of the size cap.
    big_body = json.dumps(feature_set([feature(i % 25 + 1) for i in range(40_000)])).encode()

    async def big(request: Request) -> Response:
        return Response(big_body, media_type="application/json")

    async def big_chunked(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"features": ['
            for _ in range(2000):
                yield b'{"attributes": {"id": 1}, "geometry": {"x": 1, "y": 2}},' * 20
            yield b"]}"

        return StreamingResponse(chunks(), media_type="application/json")

    async def drip(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" "
                await asyncio.sleep(0.1)

        return StreamingResponse(chunks(), media_type="application/json")

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    async def echo_host(request: Request) -> Response:
        return JSONResponse({"features": [], "host": request.headers.get("host")})

    routes = [
        Route("/arcgis/rest/services/{svc}/FeatureServer/0/query", query, methods=["GET", "POST"]),
        Route("/data/points.json", points_file),
        Route("/data/points.geojson", geojson_file),
        Route("/slow/FeatureServer/0/query", slow),
        Route("/big/FeatureServer/0/query", big),
        Route("/chunked/FeatureServer/0/query", big_chunked),
        Route("/drip/FeatureServer/0/query", drip),
        Route("/redirect", redirect),
        Route("/echo/FeatureServer/0/query", echo_host),
    ]
    return Starlette(routes=routes)


class FeatureServer:
    """The test server running in a thread on 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            make_app(self.recorder),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="test-featureserver", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test FeatureServer did not start")
            time.sleep(0.02)

    def layer(self, svc: str = "Pts") -> str:
        """A layer URL."""
        return f"{self.url}/arcgis/rest/services/{svc}/FeatureServer/0"

    def stop(self) -> None:
        """Shut down and join."""
        self.server.should_exit = True
        self.thread.join(10)
