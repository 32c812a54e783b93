"""``/rest/info``, ``/rest/services`` and folders (spec 2)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gpserver import ARCGIS_VERSION
from gpserver.api.deps import FormatDep, ParamsDep, StateDep, callback
from gpserver.api.render import render

router = APIRouter()
GET_POST = ["GET", "POST"]


@router.api_route("/rest/info", methods=GET_POST, operation_id="info")
async def server_info(request: Request, state: StateDep, params: ParamsDep, fmt: FormatDep) -> Response:
    """Server info with ``authInfo`` (no ``owningSystemUrl``: a stand-alone server, spec 1.6)."""
    body = {
        "currentVersion": ARCGIS_VERSION,
        "fullVersion": f"{ARCGIS_VERSION}.0",
        "authInfo": {"isTokenBasedSecurity": False},
    }
    return render(body, fmt, callback(params))


@router.api_route("/rest/services", methods=GET_POST, operation_id="catalog")
async def catalog_root(state: StateDep, params: ParamsDep, fmt: FormatDep) -> Response:
    """Root folders and services."""
    return _listing(state, params, fmt, None)


@router.api_route("/rest/services/{folder}", methods=GET_POST, operation_id="folder")
async def catalog_folder(folder: str, state: StateDep, params: ParamsDep, fmt: FormatDep) -> Response:
    """Services of one folder, named ``Folder/Service``."""
    return _listing(state, params, fmt, folder)


def _listing(state: StateDep, params: ParamsDep, fmt: str, folder: str | None) -> Response:
    services = state.catalog.listing(folder)
    body = {
        "currentVersion": ARCGIS_VERSION,
        "folders": state.catalog.folders() if folder is None else [],
        "services": [{"name": s.path, "type": "GPServer"} for s in services],
    }
    return render(body, fmt, callback(params))
