"""The framework floor: a bare FastAPI endpoint doing the same buffer, no GP machinery.

``uvicorn bench.bare_app:app`` -- same uvicorn (uvloop + httptools) as gpserver.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from bench.pipeline import parse_form, run_params

app = FastAPI()


@app.post("/buffer")
async def buffer(request: Request) -> Response:
    """Decode the form, buffer, answer the same Esri JSON results."""
    body = await request.body()
    return Response(run_params("buffer", parse_form(body)), media_type="application/json")
