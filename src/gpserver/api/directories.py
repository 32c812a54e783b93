"""Output files of ``execute``: ``<ctx>/rest/directories/arcgisoutput/<dir>/<name>`` (read-only).

Only names matching the output-area patterns are looked up (no traversal); files live until
``GPSERVER_OUTPUT_RETENTION_HOURS`` after they were written.
"""

from __future__ import annotations

import mimetypes

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from gpserver.api.middleware import VARY_ORIGIN
from gpserver.api.routing import Routes
from gpserver.api.uploads import get_files
from gpserver.errors import NotFoundError
from gpserver.outputs import ROUTE

route = Routes()


@route(ROUTE + "/{token}/{name}", name="outputFile", methods=["GET"])
async def output_file(token: str, name: str, request: Request) -> Response:
    """Download one output file."""
    path = get_files(request).outputs.file(token, name)
    if path is None:
        raise NotFoundError("Invalid URL", details=["The output file does not exist (output files expire)."])
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, filename=name, headers=VARY_ORIGIN)
