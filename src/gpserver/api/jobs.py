"""Asynchronous jobs: ``submitJob``, the job resource, ``cancel``, results and inputs (spec 6-9).

A result is stored once as encoded JSON bytes; ``results/<param>`` embeds them untouched
(``orjson.Fragment``) unless the request asks for something they do not already are (another
``outSR``, no z or m where the stored value has them, fewer records than stored).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import anyio
import orjson
from anyio import CapacityLimiter
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from gpserver.api.auth import authorize, may_see_job
from gpserver.api.deps import Call, base_url, callback, read_call
from gpserver.api.middleware import VARY_ORIGIN
from gpserver.api.render import Stream, dumps, free_after, render_parts
from gpserver.api.routing import Routes
from gpserver.errors import (
    GPServerError,
    InvalidRequestError,
    TooManyRequestsError,
    UnknownJobError,
    UnknownParameterError,
)
from gpserver.gp.esri_json import Keeping, gc_paused
from gpserver.gp.execution import decode_inputs, lookup, read_environment
from gpserver.gp.srs import SpatialReference
from gpserver.gp.tool import Parameter, Tool
from gpserver.gp.types import FULL, EncodeOptions, json_or_literal, parse_bool
from gpserver.inputs import resolve_inputs, resolver_for, scratch_dir
from gpserver.jobs.service import Jobs
from gpserver.jobs.store import (
    BASE_URL_KEY,
    CANCELLING,
    EXECUTING,
    SUCCEEDED,
    JobView,
    ResultRow,
    job_folder,
    large_inputs,
    read_copy,
)
from gpserver.services.catalog import Service
from gpserver.settings import Settings

route = Routes()
SERVICE = "/rest/services/{service:path}/GPServer"
JOB = SERVICE + "/{task}/jobs/{job_id}"
_JOB_ID = re.compile(r"j[0-9a-f]{32}")
# Request keys kept with a job besides its declared inputs: they shape what the tool computes.
ENV_KEYS = ("env:outSR", "env:processSR", "context")

AnyTool = type[Tool[Any, Any]]


def _unknown_job(job_id: str) -> UnknownJobError:
    return UnknownJobError("Invalid URL", details=[f"Job '{job_id[:40]}' does not exist"])


@dataclass(slots=True)
class JobCall:
    """A request to one job's resources: the call, the job's service, tool and current view."""

    call: Call
    jobs: Jobs
    svc: Service
    tool: AnyTool
    view: JobView

    @classmethod
    async def read(cls, request: Request, service: str, task: str, job_id: str) -> JobCall:
        """The job, only under the service and task it was submitted to, and only to whom may see
        it: another user's job of a secured service answers exactly as an unknown one."""
        call = await read_call(request)
        svc = call.service(service)
        name, tool = svc.task(task)
        if not _JOB_ID.fullmatch(job_id):
            raise _unknown_job(job_id)
        jobs = await call.jobs()
        view = await jobs.store.get_async(job_id)
        if view is None or view.service != svc.path or view.task != name:
            raise _unknown_job(job_id)
        if not may_see_job(svc, view.owner, call.principal):
            raise _unknown_job(job_id)
        return cls(call, jobs, svc, tool, view)

    async def build(self, make: Callable[[], bytes]) -> Response:
        """An answer serialised off the event loop (results can be large)."""
        return self.call.answer_bytes(await anyio.to_thread.run_sync(make, limiter=self.call.state.sync_limiter))


def job_json(view: JobView, tool: AnyTool, *, messages: bool = True) -> dict[str, Any]:
    """The job resource (spec 7.1): paramUrls are relative; results only once succeeded."""
    body: dict[str, Any] = {"jobId": view.id, "jobStatus": view.status}
    if view.status == SUCCEEDED:
        params = tool.parameters()
        body["results"] = {p.name: {"paramUrl": f"results/{p.name}"} for p in params if p.direction == "output"}
        body["inputs"] = {p.name: {"paramUrl": f"inputs/{p.name}"} for p in params if p.direction == "input"}
    if view.status == EXECUTING and view.progress:
        body["progress"] = view.progress
    if messages:
        body["messages"] = view.messages
    return body


@route(SERVICE + "/{task}/submitJob", name="submitJob")
async def submit_job(service: str, task: str, request: Request) -> Response:
    """Validate the inputs exactly as ``execute`` does, store the job, queue it (spec 6)."""
    call = await read_call(request)
    state, params, principal = call.state, call.params, call.principal
    svc = call.service(service)
    jobs = await call.jobs()
    owner = principal.username if principal is not None else None  # jobs of a secured service are theirs
    name, tool = svc.task(task)
    if not svc.is_async:
        raise InvalidRequestError(
            "Unable to complete operation.",
            details=[f"'{svc.path}' is a synchronous service: use execute, not submitJob."],
        )
    base = base_url(request, state)  # workers write absolute URLs of job files
    time_limit = svc.config.time_limit or state.settings.jobs.job_time_limit
    limit = state.settings.limits.max_queued_jobs_per_user
    garbage: list[Any] = []  # the decoded inputs, freed once the answer is sent
    resumes: list[Callable[[], None]] = []  # the collector's pause kept for them (_validate)

    def validate_store_queue() -> JobView:
        """Everything blocking in one trip off the event loop (each trip costs a thread hand-off)."""
        inputs = _kept_inputs(tool, params)
        inputs[BASE_URL_KEY] = base
        if owner is not None:
            _check_queue(jobs, owner, limit)
        # Committed before it is queued (a worker never looks for a missing row); a job that could
        # not be queued ends failed and GPServerError is raised. Validation decides whether it is
        # stored at all (large inputs are stored meanwhile, in a transaction: JobStore.create).
        return jobs.submit(
            service=svc.path,
            task=name,
            inputs=inputs,
            time_limit=time_limit,
            owner=owner,
            validate=partial(_validate, state.settings, svc, tool, params, garbage, resumes),
        )

    try:
        view = await anyio.to_thread.run_sync(validate_store_queue, limiter=state.sync_limiter)
    except BaseException:
        for resume in resumes:
            resume()
        raise
    return free_after(call.answer(job_json(view, tool)), garbage, resumes)


def _check_queue(jobs: Jobs, owner: str, limit: int) -> None:
    """TooManyRequestsError when the user already has ``limit`` jobs waiting or running (0: no limit)."""
    if limit and jobs.store.count_active(owner) >= limit:
        raise TooManyRequestsError(
            "Too many jobs.",
            details=[
                f"You have {limit} jobs waiting or running, the most allowed (GPSERVER_MAX_QUEUED_JOBS_PER_USER); "
                "wait for one to finish or cancel one."
            ],
        )


# A large submit's inputs (``large_inputs``) stay decoded, and the collector paused, until its answer
# is sent; the pause ends by itself after PAUSE_LIMIT seconds.
PAUSE_LIMIT = 2.0


def _validate(
    settings: Settings,
    svc: Service,
    tool: AnyTool,
    params: dict[str, Any],
    garbage: list[Any],
    resumes: list[Callable[[], None]],
) -> None:
    """Decode the inputs exactly as ``execute`` does (errors raise). Uploaded items are checked
    now; URL inputs are fetched by the worker, like ArcGIS does.

    What the inputs decoded into is left in ``garbage``, freed after the answer. For large inputs
    all of it, with the collector's pause kept until then (its end appended to ``resumes``): nothing
    large is built after validation, and freeing 100,000 parsed features (~23 ms) or having the
    collector traverse them (15-21 ms) would otherwise come before the answer."""
    read_environment(params)
    work = scratch_dir(settings.storage.data_dir, "submit")
    large = large_inputs(params)
    pause = gc_paused()  # as in execute
    with (
        resolver_for(settings, svc.path, work, offline=True, scratch=True) as resolver,
        pause,
        Keeping(garbage, everything=large),
    ):
        decoded = decode_inputs(tool, resolve_inputs(tool, params, resolver=resolver))
        if garbage:  # large inputs (their parsed JSON is kept): free their decoded values later too
            garbage.append(decoded)
            if large:
                resumes.append(pause.keep(PAUSE_LIMIT))


def _kept_inputs(tool: AnyTool, params: dict[str, Any]) -> dict[str, Any]:
    """The request values a job keeps: its declared inputs and env options, as sent."""
    kept: dict[str, Any] = {}
    for key in [p.name for p in tool.parameters() if p.direction == "input"] + list(ENV_KEYS):
        raw = lookup(params, key)
        if isinstance(raw, str) or (isinstance(raw, list) and all(isinstance(v, str) for v in raw)):
            kept[key] = raw
    return kept


@route(JOB, name="job")
async def job_status(service: str, task: str, job_id: str, request: Request) -> Response:
    """Status, messages, progress, and result/input links (spec 7)."""
    job = await JobCall.read(request, service, task, job_id)
    messages = parse_bool(job.call.params.get("returnMessages"), default=True)
    return job.call.answer(job_json(job.view, job.tool, messages=messages))


@route(JOB + "/cancel", name="cancel")
async def cancel_job(service: str, task: str, job_id: str, request: Request) -> Response:
    """Cancel: a waiting job never starts; a running one is asked to stop, then stopped (spec 9)."""
    job = await JobCall.read(request, service, task, job_id)
    view, changed = await anyio.to_thread.run_sync(job.jobs.store.request_cancel, job_id)
    if view is None:
        raise _unknown_job(job_id)
    if not changed and view.status != CANCELLING:
        raise InvalidRequestError(
            "Invalid or missing input parameters.",
            details=[f"Job '{job_id}' cannot be cancelled: it has ended ({view.status})."],
        )
    return job.call.answer({"jobId": view.id, "jobStatus": view.status, "messages": view.messages})


def _output(tool: AnyTool, name: str) -> Parameter:
    low = name.lower()
    for p in tool.parameters():
        if p.direction == "output" and p.name.lower() == low:
            return p
    raise UnknownParameterError("Invalid URL", details=[f"Result parameter '{name}' does not exist"])


def _input(tool: AnyTool, name: str) -> Parameter:
    low = name.lower()
    for p in tool.parameters():
        if p.direction == "input" and p.name.lower() == low:
            return p
    raise UnknownParameterError("Invalid URL", details=[f"Input parameter '{name}' does not exist"])


def result_options(params: dict[str, Any], svc: Service) -> EncodeOptions:
    """``outSR`` (or ``env:outSR``), ``returnZ``, ``returnM``, ``returnFeatureCollection``, ``maximumRecords``."""
    raw = lookup(params, "outSR")
    if raw in (None, ""):
        raw = lookup(params, "env:outSR")
    out_sr = None if raw in (None, "") else SpatialReference.from_json(json_or_literal(raw), param="outSR")
    return EncodeOptions(
        out_sr=out_sr,
        return_z=parse_bool(lookup(params, "returnZ")),
        return_m=parse_bool(lookup(params, "returnM")),
        max_records=svc.config.maximum_records,
        feature_collection=parse_bool(lookup(params, "returnFeatureCollection")),
    )


def stored_as_is(row: ResultRow, opts: EncodeOptions) -> bool:
    """True when the stored value already answers the request (no other ``outSR``, no z or m
    dropped that it has, no fewer records than it holds)."""
    return (
        opts.out_sr is None
        and not opts.feature_collection
        and (opts.return_z or not row.has_z)
        and (opts.return_m or not row.has_m)
        and (row.count is None or opts.max_records is None or row.count <= opts.max_records)
    )


def result_value(row: ResultRow, param: Parameter, opts: EncodeOptions) -> orjson.Fragment | Any:
    """The stored value as is when it already answers the request, else decoded and re-encoded."""
    if stored_as_is(row, opts):
        return orjson.Fragment(row.value)
    value = orjson.loads(row.value)
    if value is None:
        return None
    return param.gp_type.encode(param.gp_type.decode(value, param=param.name), opts)


@route(JOB + "/results/{param}", name="result")
async def job_result(service: str, task: str, job_id: str, param: str, request: Request) -> Response:
    """One result: exactly ``{paramName, dataType, value}`` (spec 8.1)."""
    job = await JobCall.read(request, service, task, job_id)
    p = _output(job.tool, param)
    _require_succeeded(job.view)
    opts = result_options(job.call.params, job.svc)
    fmt, store, piece = job.call.fmt, job.jobs.store, job.call.state.settings.jobs.result_slice_bytes
    start = await anyio.to_thread.run_sync(store.result_start, job_id, p.name, piece)
    if start is None:
        return job.call.answer({"paramName": p.name, "dataType": p.data_type, "value": None})
    row, size = start.row, start.size
    have = len(row.value)
    read = partial(read_copy, start.copy) if start.copy else partial(store.result_slice, job_id, p.name)
    if stored_as_is(row, opts) and fmt == "json":
        # The stored bytes go out between their envelope, never copied; a value over the slice size
        # a slice at a time (GPSERVER_RESULT_SLICE_BYTES), each sent while the next is read; from
        # the worker's copy of it when there is one (GPSERVER_RESULT_COPY_BYTES).
        head = dumps({"paramName": p.name, "dataType": row.data_type, "value": None})[: -len(b"null}")]
        step = min(piece, _COPY_STEP) if start.copy else piece
        rest = Stream(size - have, partial(_slices, read, have, size, step, job.call.state.sync_limiter))
        return render_parts([head, row.value, rest, b"}"], fmt, callback(job.call.params))
    if have < size:
        more = await anyio.to_thread.run_sync(read, have, size - have)
        if len(more) != size - have:  # deleted meanwhile (retention)
            raise _unknown_job(job_id)
        row = replace(row, value=row.value + more)
    return await job.build(partial(_result_bytes, row, p, opts, fmt))


# A result's copy on disk is read and sent this many bytes at a time (the page cache answers each
# read in a few milliseconds, and sending one overlaps reading the next).
_COPY_STEP = 8 * 1024 * 1024


async def _slices(
    read: Callable[[int, int], bytes], start: int, end: int, piece: int, limiter: CapacityLimiter
) -> AsyncIterator[bytes]:
    """The stored value from ``start`` to ``end``, ``piece`` bytes at a time (read off the loop)."""
    while start < end:
        part = await anyio.to_thread.run_sync(read, start, min(piece, end - start), limiter=limiter)
        if not part:  # deleted meanwhile (retention): the response ends short, the connection closes
            return
        start += len(part)
        yield part


def _result_bytes(row: ResultRow, param: Parameter, opts: EncodeOptions, fmt: str) -> bytes:
    return dumps({"paramName": param.name, "dataType": row.data_type, "value": result_value(row, param, opts)}, fmt)


def _require_succeeded(view: JobView) -> None:
    if view.status != SUCCEEDED:
        raise InvalidRequestError(
            "Unable to complete operation.",
            details=[f"Job '{view.id}' has no results: its status is {view.status}."],
        )


@route(JOB + "/results", name="results")
async def job_results(service: str, task: str, job_id: str, request: Request) -> Response:
    """Every result, as a JSON array (spec 8.2); empty for a job that did not succeed."""
    job = await JobCall.read(request, service, task, job_id)
    opts = result_options(job.call.params, job.svc)
    rows = await anyio.to_thread.run_sync(job.jobs.store.results, job_id) if job.view.status == SUCCEEDED else []
    by_name = {p.name: p for p in job.tool.parameters() if p.direction == "output"}

    def build() -> bytes:
        items = [
            {"paramName": r.param, "dataType": r.data_type, "value": result_value(r, by_name[r.param], opts)}
            for r in rows
            if r.param in by_name
        ]
        return dumps(items, job.call.fmt)

    return await job.build(build)


def input_value(param: Parameter, stored: dict[str, Any]) -> Any:
    """An input as submitted, in its canonical JSON form (the default when it was not given)."""
    raw = lookup(stored, param.name)
    if raw is None or raw == "" or raw == []:
        return None if param.default is None else param.gp_type.encode(param.default, FULL)
    try:
        return param.gp_type.encode(param.gp_type.decode(raw, param=param.name), FULL)
    except GPServerError:
        return json_or_literal(raw)


@route(JOB + "/inputs/{param}", name="input")
async def job_input(service: str, task: str, job_id: str, param: str, request: Request) -> Response:
    """One input, as submitted (spec 8.3)."""
    job = await JobCall.read(request, service, task, job_id)
    p = _input(job.tool, param)
    stored = await anyio.to_thread.run_sync(job.jobs.store.inputs, job_id) or {}

    def build() -> bytes:
        return dumps({"paramName": p.name, "dataType": p.data_type, "value": input_value(p, stored)}, job.call.fmt)

    return await job.build(build)


@route(JOB + "/inputs", name="inputs")
async def job_inputs(service: str, task: str, job_id: str, request: Request) -> Response:
    """Every input, as a JSON array (spec 8.4)."""
    job = await JobCall.read(request, service, task, job_id)
    stored = await anyio.to_thread.run_sync(job.jobs.store.inputs, job_id) or {}

    def build() -> bytes:
        items = [
            {"paramName": p.name, "dataType": p.data_type, "value": input_value(p, stored)}
            for p in job.tool.parameters()
            if p.direction == "input"
        ]
        return dumps(items, job.call.fmt)

    return await job.build(build)


@route("/rest/directories/arcgisjobs/{folder}/{job_id}/{file:path}", name="jobFile", methods=["GET"])
async def job_file(folder: str, job_id: str, file: str, request: Request) -> Response:
    """A file a job wrote into its directory (ArcGIS serves ``arcgisjobs`` the same way); the
    service's access rule and the job's ownership apply as to the job resource."""
    call = await read_call(request)
    state, principal = call.state, call.principal
    jobs = await call.jobs()
    svc = next((s for s in state.catalog.services.values() if job_folder(s.path).lower() == folder.lower()), None)
    if svc is None or not _JOB_ID.fullmatch(job_id):
        raise _unknown_job(job_id)
    authorize(svc, principal)  # from the folder alone: says nothing about the job
    view = await jobs.store.get_async(job_id)
    if view is None or view.service != svc.path or not may_see_job(svc, view.owner, principal):
        raise _unknown_job(job_id)
    base = (jobs.store.jobs_dir / job_id).resolve()
    path = (base / file).resolve()
    hidden = any(part.startswith(".") for part in path.relative_to(base).parts) if base in path.parents else True
    if hidden or not path.is_file():  # outside the job's directory, or its copies of results
        raise UnknownParameterError("Invalid URL", details=[f"File '{file[:80]}' does not exist"])
    return FileResponse(path, headers=VARY_ORIGIN)
