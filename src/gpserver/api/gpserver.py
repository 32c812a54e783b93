"""The GP service and task resources, and synchronous ``execute`` (spec 3-5)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gpserver import ARCGIS_VERSION
from gpserver.api.auth import PrincipalDep, ServiceDep
from gpserver.api.deps import FormatDep, ParamsDep, StateDep, callback, input_limits
from gpserver.api.render import dumps, render, render_bytes
from gpserver.api.uploads import RequestFiles, request_files
from gpserver.errors import InvalidRequestError
from gpserver.gp.describe import EXECUTION_TYPES, describe_task
from gpserver.gp.execution import InputLimits, invoke, read_environment
from gpserver.gp.tool import ToolContext
from gpserver.inputs import resolve_inputs
from gpserver.services.catalog import Service

router = APIRouter()
GET_POST = ["GET", "POST"]
SERVICE = "/rest/services/{service:path}/GPServer"


@router.api_route(SERVICE, methods=GET_POST, operation_id="service")
async def service_info(svc: ServiceDep, params: ParamsDep, fmt: FormatDep) -> Response:
    """The service: its tasks and execution type."""
    body = {
        "currentVersion": ARCGIS_VERSION,
        "serviceDescription": svc.config.description,
        "tasks": list(svc.tasks),
        "executionType": EXECUTION_TYPES[svc.config.execution],
        "resultMapServerName": "",
        "maximumRecords": svc.config.maximum_records,
        "capabilities": "Uploads" if svc.config.uploads else "",
    }
    return render(body, fmt, callback(params))


@router.api_route(SERVICE + "/{task}", methods=GET_POST, operation_id="task")
async def task_info(svc: ServiceDep, task: str, params: ParamsDep, fmt: FormatDep) -> Response:
    """The task: parameters derived from the tool's declaration."""
    name, tool = svc.task(task)
    body = describe_task(tool, execution=svc.config.execution)
    body["name"] = name
    return render(body, fmt, callback(params))


@router.api_route(SERVICE + "/{task}/execute", methods=GET_POST, operation_id="execute")
async def execute(
    svc: ServiceDep,
    task: str,
    request: Request,
    state: StateDep,
    params: ParamsDep,
    fmt: FormatDep,
    principal: PrincipalDep,
) -> Response:
    """Run a task now and answer with its results and messages (synchronous services)."""
    _, tool = svc.task(task)
    if svc.is_async:
        raise InvalidRequestError(
            "Unable to complete operation.",
            details=[f"'{svc.path}' is an asynchronous service: use submitJob, not execute."],
        )
    files = request_files(request, svc, principal)
    run = partial(_execute, svc, tool, params, fmt, files, input_limits(state.settings))
    body = await anyio.to_thread.run_sync(run, limiter=state.sync_limiter)
    return render_bytes(body, fmt, callback(params))


def _execute(
    svc: Service, tool: Any, params: dict[str, Any], fmt: str, files: RequestFiles, limits: InputLimits
) -> bytes:
    """Resolve URL/itemID inputs, decode, run, encode and serialise, all off the event loop."""
    env, opts = read_environment(params)
    with files.session(params) as (resolver, out):
        params = resolve_inputs(tool, params, resolver=resolver)
        ctx = ToolContext(env=env, output_dir=out.path)
        opts = replace(opts, max_records=svc.config.maximum_records, file_url=out.url_for)
        results = invoke(tool, params, ctx, opts, limits)
    messages, _ = ctx.snapshot()
    return dumps({"results": results, "messages": messages}, fmt)
