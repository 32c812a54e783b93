"""Inputs given by reference, resolved before decoding (``execute`` and jobs both call this).

* A feature or record set ``{"url": ...}`` (layer URL, ``query`` URL or JSON file; optional
  ``filter``, ``time`` and ``token`` members, or ``?token=`` in the URL) is fetched through
  ``gpserver.net.fetch`` and replaced by the feature-set JSON; ``{"itemID": ...}`` by the JSON
  of the uploaded file.
* A GPDataFile / raster ``{"itemID"}`` becomes a :class:`DataFile` with the upload's path; a
  ``{"url"}`` is downloaded into the request's work directory; a multipart file part is saved there.
* URLs on this server ("own" resources) are read directly, without HTTP: a job result
  ``<ctx>/rest/services/<svc>/GPServer/<task>/jobs/<jobId>/results/<param>`` (from the job store)
  and an output file ``<ctx>/rest/directories/arcgisoutput/<dir>/<name>``. This server publishes
  no FeatureServer layers, so those are the only own resources.

Multivalues, value tables and composites have their members resolved the same way. The codecs in
``gpserver.gp`` then decode plain data; nothing in ``gp/`` touches the network or the disk.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson

from gpserver.errors import GPServerError, InvalidParameterError
from gpserver.gp.execution import AnyTool
from gpserver.gp.structured import CompositeType, ValueTableType
from gpserver.gp.types import DataFileType, FeatureSetType, GPType, MultiValueType, RasterType, json_or_literal
from gpserver.gp.values import DataFile, RasterData
from gpserver.net.fetch import Fetcher, FetchError, redact
from gpserver.outputs import ROUTE, OutputArea
from gpserver.settings import Settings
from gpserver.uploads import UploadStore, safe_name

ResultReader = Callable[[str, str, str], bytes | None]  # (service, job id, param) -> result value JSON
_JOB_RESULT = re.compile(r"/rest/services/(?P<svc>.+)/GPServer/[^/]+/jobs/(?P<job>[^/]+)/results/(?P<param>[^/]+)/?$")
_OUTPUT = re.compile(re.escape(ROUTE) + r"/(?P<token>[^/]+)/(?P<name>[^/]+)$")
_JSON_FILES = ("json", "txt", "")


@dataclass
class Resolver:
    """Everything resolution needs for one request or job.

    Attributes:
        service: the service path (uploaded items belong to one service).
        work_dir: where downloads and inline files go (created on first use; the caller removes it
            unless ``scratch``).
        fetcher: the outbound client factory (made on first use, closed by :meth:`close`).
        uploads: the upload store, when uploads are possible.
        own_urls: absolute URLs of this server's context root (``http://host/arcgis``).
        outputs: the output area (own output-file URLs are read from it).
        read_result: reads a stored job result (own job-result URLs).
        max_inline_bytes: largest multipart file part read as a parameter value.
        offline: check references without fetching (``submitJob``): uploaded items are looked up,
            URLs are left for the worker (a feature set by URL validates as an empty one).
        scratch: ``work_dir`` is this resolver's own: :meth:`close` removes it if it was made.
    """

    service: str
    work_dir: Path
    fetcher: Callable[[], Fetcher]
    uploads: UploadStore | None = None
    own_urls: tuple[str, ...] = ()
    outputs: OutputArea | None = None
    read_result: ResultReader | None = None
    max_inline_bytes: int = 64 * 1024 * 1024
    offline: bool = False
    scratch: bool = False
    _made_work_dir: bool = field(default=False, init=False, repr=False)
    _client: Fetcher | None = field(default=None, repr=False)

    def close(self) -> None:
        """Close the outbound client if one was made; remove a scratch work directory if it was made."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.scratch and self._made_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> Fetcher:
        """The outbound client of this request."""
        if self._client is None:
            self._client = self.fetcher()
        return self._client

    def resolve(self, codec: GPType[Any], raw: object, name: str) -> object:
        """A request value with its references replaced by data (unchanged when there are none)."""
        if _is_upload(raw):
            if isinstance(codec, DataFileType | RasterType):
                return self._inline_file(codec, raw, name)
            raw = self._read_inline(raw, name).decode("utf-8", "replace")
        if isinstance(codec, FeatureSetType):
            return self._feature_set(raw, name)
        if isinstance(codec, DataFileType | RasterType):
            return self._file(codec, raw, name)
        if isinstance(codec, MultiValueType):
            items = raw if isinstance(raw, list) else json_or_literal(raw)
            if isinstance(items, list):
                return [self.resolve(codec.member, item, f"{name}[{i}]") for i, item in enumerate(items)]
            return raw
        if isinstance(codec, ValueTableType):
            return self._value_table(codec, raw, name)
        if isinstance(codec, CompositeType):
            return self._composite(codec, raw, name)
        return raw

    # -- feature sets -----------------------------------------------------------------------------

    def _feature_set(self, raw: object, name: str) -> object:
        value = json_or_literal(raw)
        if not isinstance(value, dict):
            return raw
        if "features" in value or "featureSet" in value:
            return value  # the codec takes the parsed dict: parsing twice cost 10 ms per 10,000 points
        if isinstance(value.get("url"), str):
            return _unwrap(self._feature_url(value, name))
        if isinstance(value.get("itemID"), str):
            item, path = self._item(value["itemID"], name)
            if path.suffix.lower().lstrip(".") not in _JSON_FILES:
                raise _invalid(
                    name, f"item '{item}' is not a JSON feature set file (use a GPDataFile tool to import it)"
                )
            try:
                return _unwrap(orjson.loads(path.read_bytes()))
            except orjson.JSONDecodeError:
                raise _invalid(name, f"item '{item}' does not hold valid JSON") from None
        return raw

    def _feature_url(self, value: dict[str, Any], name: str) -> Any:
        url: str = value["url"]
        if self.offline:
            return {"features": []}
        token = value.get("token") if isinstance(value.get("token"), str) else None
        own = self._own(url, name)
        if own is not None:
            if isinstance(own, Path):
                return orjson.loads(own.read_bytes())
            return own
        where = value.get("filter")
        time_extent = value.get("time")
        try:
            return self.client.feature_set(
                url,
                where=where if isinstance(where, str) and where.strip() else None,
                time_extent=None if time_extent in (None, "") else str(time_extent),
                token=token,
            )
        except FetchError as exc:
            raise _invalid(name, f"cannot read {redact(url)}: {_scrub(str(exc), url, token)}") from None

    # -- files ------------------------------------------------------------------------------------

    def _file(self, codec: GPType[Any], raw: object, name: str) -> object:
        value = raw if isinstance(raw, DataFile | RasterData) else json_or_literal(raw)
        if isinstance(value, str) and re.match(r"https?://", value, re.IGNORECASE):
            value = {"url": value}
        if not isinstance(value, dict):
            return raw
        fmt = value.get("format") if isinstance(value.get("format"), str) else None
        if isinstance(value.get("itemID"), str):
            item_id = value["itemID"]
            item, path = self._item(item_id, name)
            return _make(codec, DataFile(item_id=item_id, path=path, name=item), fmt)
        if isinstance(value.get("url"), str):
            url = value["url"]
            if self.offline:
                return _make(codec, DataFile(url=url, name=url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]), fmt)
            own = self._own(url, name)
            if isinstance(own, Path):
                return _make(codec, DataFile(url=url, path=own, name=own.name), fmt)
            dest = self._work_dir() / safe_name(url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "download")
            try:
                self.client.download(url, dest)
            except FetchError as exc:
                raise _invalid(name, f"cannot read {redact(url)}: {_scrub(str(exc), url, None)}") from None
            return _make(codec, DataFile(url=url, path=dest, name=dest.name), fmt)
        return raw

    def _inline_file(self, codec: GPType[Any], upload: Any, name: str) -> object:
        dest = self._work_dir() / safe_name(str(upload.filename or "upload"))
        dest.write_bytes(self._read_inline(upload, name))
        return _make(codec, DataFile(path=dest, name=dest.name), None)

    def _read_inline(self, upload: Any, name: str) -> bytes:
        upload.file.seek(0)
        data: bytes = upload.file.read(self.max_inline_bytes + 1)
        upload.file.close()  # read once; the spooled temporary file is not needed any more
        if len(data) > self.max_inline_bytes:
            raise _invalid(name, f"the file part is larger than {self.max_inline_bytes} bytes")
        return data

    def _item(self, item_id: str, name: str) -> tuple[str, Path]:
        if self.uploads is None:
            raise _invalid(name, "this service does not accept uploaded items")
        try:
            item, path = self.uploads.path(self.service, item_id.strip())
        except GPServerError:
            raise _invalid(name, f"no uploaded item '{item_id[:60]}' in this service") from None
        return item.item_name, path

    def _work_dir(self) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._made_work_dir = True
        return self.work_dir

    # -- own resources ----------------------------------------------------------------------------

    def _own(self, url: str, name: str) -> Path | Any | None:
        """An own job result (parsed JSON) or output file (its path), or ``None`` for other URLs."""
        low = url.lower()
        base = next((b for b in self.own_urls if low.startswith(b.lower().rstrip("/") + "/rest/")), None)
        if base is None:
            return None
        rel = url[len(base.rstrip("/")) :].split("?")[0]
        if (m := _OUTPUT.match(rel)) and self.outputs is not None:
            path = self.outputs.file(m["token"], m["name"])
            if path is None:
                raise _invalid(name, f"the output file {redact(url)} does not exist (any more)")
            return path
        if (m := _JOB_RESULT.match(rel)) and self.read_result is not None:
            data = self.read_result(m["svc"], m["job"], m["param"])
            if data is None:
                raise _invalid(name, f"{redact(url)} is not a result of a succeeded job")
            return orjson.loads(data)
        return None

    # -- structured -------------------------------------------------------------------------------

    def _value_table(self, codec: ValueTableType, raw: object, name: str) -> object:
        rows = json_or_literal(raw)
        if not isinstance(rows, list):
            return raw
        out: list[Any] = []
        for i, row in enumerate(rows):
            if isinstance(row, list):
                out.append([self._cell(codec, j, v, f"{name}[{i}]") for j, v in enumerate(row)])
            elif isinstance(row, dict):
                index = {c.name.lower(): j for j, c in enumerate(codec.columns)}
                out.append({k: self._cell(codec, index.get(str(k).lower()), v, f"{name}[{i}]") for k, v in row.items()})
            else:
                out.append(row)
        return out

    def _cell(self, codec: ValueTableType, j: int | None, value: object, where: str) -> object:
        if j is None or j >= len(codec.columns) or value is None:
            return value
        column = codec.columns[j]
        return self.resolve(column.codec, value, f"{where}.{column.name}")

    def _composite(self, codec: CompositeType, raw: object, name: str) -> object:
        value = json_or_literal(raw)
        if isinstance(value, dict) and set(value) == {"dataType", "value"}:
            for _, member in codec.members:
                if member.name.lower() == str(value["dataType"]).lower():
                    return {"dataType": value["dataType"], "value": self.resolve(member, value["value"], name)}
            return raw
        if not (isinstance(value, dict) and ("url" in value or "itemID" in value)):
            return raw
        first_error: InvalidParameterError | None = None
        for _, member in codec.members:
            if isinstance(member, FeatureSetType | DataFileType | RasterType):
                try:
                    return self.resolve(member, raw, name)
                except InvalidParameterError as exc:
                    first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return raw


def _is_upload(raw: object) -> bool:
    """A multipart file part (starlette ``UploadFile``), recognised without importing starlette."""
    return hasattr(raw, "filename") and hasattr(raw, "file")


def _make(codec: GPType[Any], file: DataFile, fmt: str | None) -> DataFile | RasterData:
    if isinstance(codec, RasterType):
        return RasterData(file.url, file.item_id, file.path, file.name, fmt or file.extension or None)
    return file


def _unwrap(value: Any) -> Any:
    """A GP result resource (``{"paramName", "dataType", "value"}``) gives its value."""
    if isinstance(value, dict) and "paramName" in value and "value" in value:
        return value["value"]
    return value


def _scrub(text: str, url: str, token: str | None) -> str:
    """Remove any token (the member's or the URL's) from a message."""
    secrets = [token] if token else []
    secrets += re.findall(r"[?&]token=([^&#]+)", url, re.IGNORECASE)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _invalid(name: str, reason: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"Invalid value for parameter '{name}'", details=[f"Invalid value for '{name}': {reason}"]
    )


def resolve_inputs(tool: type[AnyTool], params: Mapping[str, object], *, resolver: Resolver) -> dict[str, object]:
    """The request values with every URL, itemID and file part of an input resolved to data."""
    out = dict(params)
    problems: list[str] = []
    keys = {k.lower(): k for k in params}
    for param in tool.parameters():
        if param.direction != "input":
            continue
        key = param.name if param.name in params else keys.get(param.name.lower())
        if key is None or params[key] in (None, ""):
            continue
        try:
            out[key] = resolver.resolve(param.gp_type, params[key], param.name)
        except InvalidParameterError as exc:
            problems.extend(exc.details or [exc.message])
    if problems:
        raise InvalidParameterError("Invalid or missing input parameters.", details=problems)
    return out


def scratch_dir(data_dir: Path, prefix: str) -> Path:
    """A fresh path under ``<data dir>/tmp`` for one request's downloads (not created here: most
    requests need none, and a directory per request cost a third of a 1-point execute)."""
    return data_dir / "tmp" / f"{prefix}-{secrets.token_hex(8)}"


def may_read(params: Mapping[str, object]) -> bool:
    """True when a request value may name data to read (a file part, a URL, an uploaded item):
    resolving it may then wait on the disk or the network. A file input may be a bare address
    (``https://host/data.csv``), not only ``{"url": ...}``."""
    if any(not isinstance(value, str) for value in params.values()):
        return True
    text = "".join(cast(Iterable[str], params.values())).lower()
    return "url" in text or "itemid" in text or "://" in text


def resolver_for(settings: Settings, service: str, work_dir: Path, **extra: Any) -> Resolver:
    """A resolver built from settings alone (job workers): uploads, output area and outbound client."""
    root = settings.storage.data_dir
    uploads = UploadStore(
        root / "uploads", max_bytes=settings.files.max_upload_bytes, extensions=settings.files.upload_extensions
    )
    outputs = OutputArea(root / "outputs", retention_hours=settings.files.output_retention_hours)
    return Resolver(service, work_dir, lambda: Fetcher(settings.fetch), uploads, outputs=outputs, **extra)
