"""The GP service and task resources, and synchronous ``execute`` (spec 3-5)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from gpserver import ARCGIS_VERSION
from gpserver.api.deps import input_limits, read_call
from gpserver.api.render import dumps, free_after
from gpserver.api.routing import Routes
from gpserver.api.uploads import RequestFiles, request_files
from gpserver.errors import InvalidRequestError
from gpserver.gp.describe import EXECUTION_TYPES, describe_task
from gpserver.gp.esri_json import Keeping
from gpserver.gp.execution import InputLimits, invoke, read_environment
from gpserver.gp.tool import ToolContext
from gpserver.inputs import may_read, resolve_inputs
from gpserver.services.catalog import Service

route = Routes()
hot = Routes()  # matched before every other route (app.py): execute is the hottest path
SERVICE = "/rest/services/{service:path}/GPServer"
# Parameters up to this size are decoded, run and encoded on the event loop: a thread hand-off cost
# more than a small request's whole work (bench/README.md). Larger ones go to the bounded pool.
INLINE_BYTES = 16 * 1024


@hot(SERVICE + "/{task}/execute", name="execute")
async def execute(service: str, task: str, request: Request) -> Response:
    """Run a task now and answer with its results and messages (synchronous services)."""
    call = await read_call(request)
    svc = call.service(service)
    _, tool = svc.task(task)
    if svc.is_async:
        raise InvalidRequestError(
            "Unable to complete operation.",
            details=[f"'{svc.path}' is an asynchronous service: use submitJob, not execute."],
        )
    files = request_files(request, svc, call.principal)
    garbage: list[Any] = []
    plain = _small(call.params)
    limits = input_limits(call.state.settings)
    run = partial(_execute, svc, tool, call.params, call.fmt, files, limits, garbage, resolve=not plain)
    if tool.bounded and plain:
        return call.answer_bytes(run())
    # The parsed inputs and encoded results (tens of thousands of objects) are freed once the answer
    # is sent, not before: their deallocation was 5-8 ms of a 10,000-feature answer's latency.
    return free_after(call.answer_bytes(await anyio.to_thread.run_sync(run, limiter=call.state.sync_limiter)), garbage)


def _small(params: dict[str, Any]) -> bool:
    """True when the parameters are short and name nothing to read from the disk or the network."""
    size = sum(len(v) if isinstance(v, str) else INLINE_BYTES + 1 for v in params.values())
    return size <= INLINE_BYTES and not may_read(params)


@route(SERVICE, name="service")
async def service_info(service: str, request: Request) -> Response:
    """The service: its tasks and execution type."""
    call = await read_call(request)
    svc = call.service(service)
    body = {
        "currentVersion": ARCGIS_VERSION,
        "serviceDescription": svc.config.description,
        "tasks": list(svc.tasks),
        "executionType": EXECUTION_TYPES[svc.config.execution],
        "resultMapServerName": "",
        "maximumRecords": svc.config.maximum_records,
        "capabilities": "Uploads" if svc.config.uploads else "",
    }
    return call.answer(body)


@route(SERVICE + "/{task}", name="task")
async def task_info(service: str, task: str, request: Request) -> Response:
    """The task: parameters derived from the tool's declaration."""
    call = await read_call(request)
    svc = call.service(service)
    name, tool = svc.task(task)
    body = describe_task(tool, execution=svc.config.execution)
    body["name"] = name
    return call.answer(body)


def _execute(
    svc: Service,
    tool: Any,
    params: dict[str, Any],
    fmt: str,
    files: RequestFiles,
    limits: InputLimits,
    garbage: list[Any],
    *,
    resolve: bool,
) -> bytes:
    """Resolve URL/itemID inputs (unless ``resolve`` is false: a short request naming nothing to
    read), decode, run, encode and serialise (off the event loop unless small).

    The encoded results and the parsed JSON of large inputs are left in ``garbage`` for the caller
    to free when it likes."""
    env, opts = read_environment(params)
    with files.session(params, resolve=resolve) as (resolver, out), Keeping(garbage):
        ctx = ToolContext(env=env, output_dir=out.path)
        opts = replace(opts, max_records=svc.config.maximum_records, file_url=out.url_for)
        raw = dict(params) if resolver is None else resolve_inputs(tool, params, resolver=resolver)
        results = invoke(tool, raw, ctx, opts, limits)
    messages, _ = ctx.snapshot()
    body = dumps({"results": results, "messages": messages}, fmt)
    garbage.append(results)
    return body
