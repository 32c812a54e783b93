"""``/rest/info``, ``/rest/services`` and folders (spec 2)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gpserver import ARCGIS_VERSION
from gpserver.api.auth import PrincipalDep, may_use
from gpserver.api.deps import FormatDep, ParamsDep, StateDep, base_url, callback
from gpserver.api.render import render
from gpserver.auth.users import Principal

router = APIRouter()
GET_POST = ["GET", "POST"]


@router.api_route("/rest/info", methods=GET_POST, operation_id="info")
async def server_info(request: Request, state: StateDep, params: ParamsDep, fmt: FormatDep) -> Response:
    """Server info with ``authInfo`` (no ``owningSystemUrl``: a stand-alone server, spec 1.6)."""
    auth: dict[str, object] = {"isTokenBasedSecurity": False}
    if any(s.config.secured for s in state.catalog.services.values()):
        auth = {
            "isTokenBasedSecurity": True,
            "tokenServicesUrl": f"{base_url(request, state)}/tokens/generateToken",
            "shortLivedTokenValidity": state.settings.auth.token_minutes,
        }
    body = {"currentVersion": ARCGIS_VERSION, "fullVersion": f"{ARCGIS_VERSION}.0", "authInfo": auth}
    return render(body, fmt, callback(params))


@router.api_route("/rest/services", methods=GET_POST, operation_id="catalog")
async def catalog_root(state: StateDep, params: ParamsDep, fmt: FormatDep, principal: PrincipalDep) -> Response:
    """Root folders and services (secured services only for callers who may use them)."""
    return _listing(state, params, fmt, None, principal)


@router.api_route("/rest/services/{folder}", methods=GET_POST, operation_id="folder")
async def catalog_folder(
    folder: str, state: StateDep, params: ParamsDep, fmt: FormatDep, principal: PrincipalDep
) -> Response:
    """Services of one folder, named ``Folder/Service``."""
    return _listing(state, params, fmt, folder, principal)


def _listing(state: StateDep, params: ParamsDep, fmt: str, folder: str | None, principal: Principal | None) -> Response:
    services = [s for s in state.catalog.listing(folder) if may_use(s, principal)]
    folders = []
    if folder is None:  # a folder holding only services the caller may not use is not shown either
        visible = {(s.config.folder or "").lower() for s in state.catalog.services.values() if may_use(s, principal)}
        folders = [f for f in state.catalog.folders() if f.lower() in visible]
    body = {
        "currentVersion": ARCGIS_VERSION,
        "folders": folders,
        "services": [{"name": s.path, "type": "GPServer"} for s in services],
    }
    return render(body, fmt, callback(params))
