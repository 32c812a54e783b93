"""The ``uploads`` resource of a GP service (spec 12), and the per-request file context of execute."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from gpserver import ARCGIS_VERSION
from gpserver.api.auth import authorize, may_see_job, may_use, principal_of, token_of
from gpserver.api.deps import AppState, base_url, callback, get_state, read_call
from gpserver.api.params import Params, add
from gpserver.api.render import output_format, render
from gpserver.api.routing import Routes
from gpserver.auth.users import Principal
from gpserver.errors import InvalidRequestError, LimitExceededError, NotFoundError
from gpserver.inputs import Resolver, ResultReader, scratch_dir
from gpserver.net.fetch import Fetcher
from gpserver.outputs import OutputArea, OutputDir
from gpserver.services.catalog import Service
from gpserver.settings import Settings
from gpserver.uploads import UploadStore

route = Routes()
UPLOADS = "/rest/services/{service:path}/GPServer/uploads"
_FORM_SLACK = 1024 * 1024  # multipart headers and the small fields beside the file


@dataclass
class Files:
    """The upload store and the output area of one app (``app.state.files``)."""

    settings: Settings
    uploads: UploadStore
    outputs: OutputArea

    @classmethod
    def create(cls, settings: Settings) -> Files:
        """Both under the data directory (created here)."""
        root = settings.storage.data_dir
        uploads_root, outputs_root = root / "uploads", root / "outputs"
        for path in (uploads_root, outputs_root, root / "tmp"):
            path.mkdir(parents=True, exist_ok=True)
        store = UploadStore(
            uploads_root, max_bytes=settings.files.max_upload_bytes, extensions=settings.files.upload_extensions
        )
        area = OutputArea(
            outputs_root, retention_hours=settings.files.output_retention_hours, uploads_root=uploads_root
        )
        return cls(settings, store, area)


def get_files(request: Request) -> Files:
    """The app's files."""
    files: Files = request.app.state.files
    return files


def _service_with_uploads(svc: Service) -> Service:
    if not svc.config.uploads:
        raise NotFoundError("Invalid URL", details=[f"Service '{svc.path}' does not accept uploads."])
    return svc


def _job_results(state: AppState, principal: Principal | None) -> ResultReader:
    """Reads succeeded job results of this server from the job store (own job-result URLs), of jobs
    the caller may see only (another user's job answers as a missing one)."""

    def read(service: str, job_id: str, param: str) -> bytes | None:
        lazy = state.jobs
        if lazy is None:
            return None
        store = lazy.get().store
        job = store.get(job_id)
        if job is None or job.service.lower() != service.strip("/").lower():
            return None
        svc = state.catalog.services.get(job.service.lower())
        if svc is None or not may_use(svc, principal) or not may_see_job(svc, job.owner, principal):
            return None
        row = store.result(job_id, param)
        return None if row is None else row.value

    return read


@dataclass
class RequestFiles:
    """What execute needs to resolve inputs and publish output files for one request."""

    files: Files
    service: str
    base: str
    read_result: ResultReader | None
    uploads: bool = True

    @contextmanager
    def session(self, params: Params, *, resolve: bool = True) -> Iterator[tuple[Resolver | None, OutputDir]]:
        """A resolver with a temporary work directory (none without ``resolve``: the caller knows
        no value names data to read), and a fresh output directory; multipart file parts of
        ``params`` are closed at the end."""
        if not resolve:
            yield None, self.files.outputs.new(self.base)
            return
        settings = self.files.settings
        resolver = Resolver(
            service=self.service,
            work_dir=scratch_dir(settings.storage.data_dir, "req"),
            fetcher=lambda: Fetcher(settings.fetch),
            uploads=self.files.uploads if self.uploads else None,
            own_urls=(self.base,),
            outputs=self.files.outputs,
            read_result=self.read_result,
            max_inline_bytes=settings.api.max_request_bytes,
            scratch=True,
        )
        try:
            yield resolver, self.files.outputs.new(self.base)
        finally:
            resolver.close()
            for value in params.values():
                if isinstance(value, UploadFile):
                    value.file.close()


def request_files(request: Request, svc: Service, principal: Principal | None = None) -> RequestFiles:
    """The file context of a request to a service, made by ``principal``."""
    state = get_state(request)
    base = base_url(request, state)
    return RequestFiles(get_files(request), svc.path, base, _job_results(state, principal), svc.config.uploads)


@route(UPLOADS, name="uploads")
async def uploads_info(service: str, request: Request) -> Response:
    """The uploads resource: what may be uploaded (items are not listed)."""
    call = await read_call(request)
    _service_with_uploads(call.service(service))
    settings = call.state.settings.files
    body = {
        "currentVersion": ARCGIS_VERSION,
        "maxUploadFileSize": settings.max_upload_bytes // (1024 * 1024),
        "allowedUploadFileTypes": ",".join(settings.upload_extensions),
        "operations": ["upload"],
    }
    return call.answer(body)


@route(UPLOADS + "/upload", name="upload", methods=["POST"])
async def upload(service: str, request: Request) -> Response:
    """Store one multipart ``file`` (with an optional ``description``) and answer its item."""
    state = get_state(request)
    request.state.params = dict(request.query_params)
    svc = state.catalog.service(service)
    if not svc.config.secured or token_of(request, request.state.params) is not None:
        authorize(svc, await principal_of(request, request.state.params))  # before reading the file
        svc = _service_with_uploads(svc)
    files = get_files(request)
    params = await _read_upload_form(request, files.uploads.max_bytes + _FORM_SLACK)
    request.state.params = {k: v for k, v in params.items() if isinstance(v, str)}
    if svc.config.secured and token_of(request, dict(request.query_params)) is None:
        try:  # the token came in the multipart form
            authorize(svc, await principal_of(request, request.state.params))
            svc = _service_with_uploads(svc)
        except Exception:
            await _close_parts(params)
            raise
    fmt = output_format(params)
    part = params.get("file")
    if not isinstance(part, UploadFile):
        for value in params.values():
            if isinstance(value, UploadFile):
                await value.close()
        raise InvalidRequestError("Upload failed.", details=["Send the file as the multipart field 'file'."])
    description = params.get("description")
    try:
        item = await anyio.to_thread.run_sync(
            lambda: files.uploads.save(
                svc.path, part.filename or "upload", part.file, description if isinstance(description, str) else ""
            )
        )
    finally:
        for value in params.values():
            if isinstance(value, UploadFile):
                await value.close()
    return render({"success": True, "item": item.to_json()}, fmt, callback(params))


@route(UPLOADS + "/{item_id}", name="item")
async def item_info(service: str, item_id: str, request: Request) -> Response:
    """An uploaded item's description."""
    call = await read_call(request)
    svc = _service_with_uploads(call.service(service))
    item = get_files(request).uploads.get(svc.path, item_id)
    return call.answer({"item": item.to_json()})


@route(UPLOADS + "/{item_id}/delete", name="deleteItem", methods=["POST"])
async def delete_item(service: str, item_id: str, request: Request) -> Response:
    """Delete an uploaded item."""
    call = await read_call(request)
    svc = _service_with_uploads(call.service(service))
    get_files(request).uploads.delete(svc.path, item_id)
    return call.answer({"success": True, "itemID": item_id})


async def _close_parts(params: Params) -> None:
    for value in params.values():
        if isinstance(value, UploadFile):
            await value.close()


async def _read_upload_form(request: Request, limit: int) -> Params:
    """Query and multipart fields; the body is cut off past ``limit`` bytes, declared or not."""
    declared = request.headers.get("content-length", "")
    too_large = LimitExceededError("Upload failed.", details=[f"The file is larger than the limit of {limit} bytes."])
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
        raise InvalidRequestError("Upload failed.", details=["Uploads are multipart/form-data requests."])
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large
        return message

    limited = Request(request.scope, receive)
    try:
        form = await limited.form(max_files=1, max_fields=50)
    except LimitExceededError:
        raise
    except Exception as exc:  # python-multipart's errors have no common base we can name
        raise InvalidRequestError("Unable to read the multipart body.", details=[str(exc)[:200]]) from None
    params: dict[str, Any] = dict(request.query_params)
    for key, value in form.multi_items():
        add(params, key, value)
    return params
