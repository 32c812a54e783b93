"""THE table: domain error -> ArcGIS error body; and the handlers that apply it (spec 1.5).

With ``f=json``/``pjson`` every error is HTTP 200 (real clients break on 4xx); the code lives in
the body. Unknown exceptions give a generic 500 body; their trace goes to the log only.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gpserver import errors as e
from gpserver.api.render import FORMATS, render

log = logging.getLogger(__name__)

# (error class, body code, message used when the error has none)
TABLE: list[tuple[type[e.GPServerError], int, str]] = [
    (e.NotFoundError, 400, "Invalid URL"),
    (e.TokenRequiredError, 499, "Token Required"),
    (e.InvalidTokenError, 498, "Invalid Token"),
    (e.PermissionDeniedError, 403, "You do not have permissions to access this resource or perform this operation."),
    (e.TooManyRequestsError, 429, "Too many requests."),
    (e.LimitExceededError, 400, "Unable to complete operation."),
    (e.InvalidRequestError, 400, "Unable to complete operation."),
    (e.ToolExecutionError, 400, "Error executing tool."),
    (e.GPServerError, 500, "Unable to complete operation."),
]
HTTP_STATUS = {400: 400, 403: 403, 429: 429, 498: 401, 499: 401, 500: 500}


def error_body(code: int, message: str, details: list[str]) -> dict[str, object]:
    """``{"error": {"code", "message", "details"}}``."""
    return {"error": {"code": code, "message": message, "details": details}}


def classify(exc: e.GPServerError) -> tuple[int, str]:
    """Body code and message of a domain error."""
    for cls, code, fallback in TABLE:
        if isinstance(exc, cls):
            return code, exc.message or fallback
    return 500, "Unable to complete operation."  # pragma: no cover - GPServerError is last in TABLE


def _respond(request: Request, code: int, message: str, details: list[str]) -> Response:
    params = getattr(request.state, "params", None) or dict(request.query_params)
    raw_f = params.get("f")
    f = str(raw_f[-1] if isinstance(raw_f, list) else raw_f or "json").lower()
    f = f if f in FORMATS else "json"
    callback = params.get("callback")
    status = HTTP_STATUS.get(code, 400) if f == "html" else 200
    return render(error_body(code, message, details), f, callback if isinstance(callback, str) else None, status=status)


def error_response(request: Request, exc: e.GPServerError) -> Response:
    """The error body of a domain error, outside the exception handlers (middleware)."""
    code, message = classify(exc)
    return _respond(request, code, message, exc.details)


def install_error_handlers(app: FastAPI) -> None:
    """Send every error through the table."""

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, e.GPServerError)
        code, message = classify(exc)
        if code == 500:
            log.error("server error: %s", exc.message, exc_info=exc)
        return _respond(request, code, message, exc.details)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return _respond(request, 400, "Invalid URL", ["The requested resource does not exist."])
        if exc.status_code == 405:
            return _respond(request, 400, "Unable to complete operation.", ["Method not supported."])
        return _respond(request, exc.status_code, str(exc.detail), [])

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = [f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in exc.errors()]
        return _respond(request, 400, "Unable to complete operation.", details)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _respond(request, 500, "Unable to complete operation.", ["An internal error occurred."])

    app.add_exception_handler(e.GPServerError, domain)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(Exception, unexpected)
