"""``/rest/info``, ``/rest/services`` and folders (spec 2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gpserver import ARCGIS_VERSION
from gpserver.api.auth import may_use
from gpserver.api.deps import Call, base_url, read_call
from gpserver.api.routing import Routes

route = Routes()


@route("/rest/info", name="info")
async def server_info(request: Request) -> Response:
    """Server info with ``authInfo`` (no ``owningSystemUrl``: a stand-alone server, spec 1.6)."""
    call = await read_call(request, caller=False)
    state = call.state
    auth: dict[str, object] = {"isTokenBasedSecurity": False}
    if any(s.config.secured for s in state.catalog.services.values()):
        auth = {
            "isTokenBasedSecurity": True,
            "tokenServicesUrl": f"{base_url(request, state)}/tokens/generateToken",
            "shortLivedTokenValidity": state.settings.auth.token_minutes,
        }
    body = {"currentVersion": ARCGIS_VERSION, "fullVersion": f"{ARCGIS_VERSION}.0", "authInfo": auth}
    return call.answer(body)


@route("/rest/services", name="catalog")
async def catalog_root(request: Request) -> Response:
    """Root folders and services (secured services only for callers who may use them)."""
    return _listing(await read_call(request), None)


@route("/rest/services/{folder}", name="folder")
async def catalog_folder(folder: str, request: Request) -> Response:
    """Services of one folder, named ``Folder/Service``."""
    return _listing(await read_call(request), folder)


def _listing(call: Call, folder: str | None) -> Response:
    state, principal = call.state, call.principal
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
    return call.answer(body)
