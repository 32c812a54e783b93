"""Settings, one class per concern, every one read from ``GPSERVER_*`` environment variables.

Settings are built once by the CLI (or a test) and passed down; nothing reads them at import.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Any

import platformdirs
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_ENV = SettingsConfigDict(env_prefix="GPSERVER_", extra="ignore")


class ApiSettings(BaseSettings):
    """The HTTP face.

    Attributes:
        host: address ``gpserver serve`` binds (``GPSERVER_HOST``).
        port: port ``gpserver serve`` binds (``GPSERVER_PORT``).
        context: instance prefix without slashes (``arcgis`` gives ``/arcgis/rest/services``).
        cors_origins: origins allowed by CORS, comma-separated; ``*`` (default) allows all.
        max_request_bytes: largest request body accepted.
        sync_workers: threads that run synchronous ``execute`` calls.
        allow_get_token: let ``generateToken`` answer GET too (ArcGIS: POST only by default).
        telemetry: FastAPI's own OpenTelemetry spans, metrics and logs (FastAPI 0.165+), for the
            providers configured before the app starts. Off by default: it asks for the global
            providers on every request (~3.5% of a 1-point execute).
    """

    model_config = _ENV

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    context: str = ""
    cors_origins: Annotated[list[str], NoDecode] = ["*"]
    max_request_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    sync_workers: int = Field(default=8, ge=1)
    allow_get_token: bool = False
    telemetry: bool = False

    @field_validator("context")
    @classmethod
    def _context(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]*", value):
            raise ValueError("GPSERVER_CONTEXT is one path segment: letters, digits, '_', '.', '-'")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @property
    def prefix(self) -> str:
        """The URL prefix routes are mounted under: ``""`` or ``"/<context>"``."""
        return f"/{self.context}" if self.context else ""


class StorageSettings(BaseSettings):
    """Where state lives.

    Attributes:
        data_dir: directory for the SQLite database, job files, uploads and the secret key.
        database_url: SQLAlchemy URL; ``postgresql://user@host/db`` works as is.
            Default: ``sqlite:///<data_dir>/gpserver.db``.
        services_file: the services file (YAML); default: the bundled samples.
        secret_key: signs tokens; default: generated once into ``<data_dir>/secret_key``.
    """

    model_config = _ENV

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("gpserver")))
    database_url: str | None = None
    services_file: Path | None = None
    secret_key: str | None = None

    def resolved_database_url(self) -> str:
        """The database URL with a driver chosen for plain ``postgresql://`` URLs."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'gpserver.db'}"
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain) :]
        return url

    def resolved_secret_key(self) -> str:
        """The secret key; generated once into the data directory when not set."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            key = secrets.token_urlsafe(48)
            fh.write(key)
        return key


class JobSettings(BaseSettings):
    """Asynchronous jobs.

    Attributes:
        broker_url: Celery broker (``redis://...``); unset runs jobs in the embedded pool.
        job_queue: the Celery queue of this deployment (several may share one Redis database).
        embedded_workers: worker processes of the embedded runner.
        job_time_limit: default run-time limit of a job in seconds (a service may set its own).
        heartbeat_seconds: how often a running job writes its heartbeat, messages and progress.
        stale_seconds: a running job whose heartbeat is older than this is re-queued once.
        cancel_grace_seconds: how long a cancelled or timed-out job may take to stop by itself
            before its process is killed.
        retention_hours: finished jobs and their files are deleted after this age.
        result_slice_bytes: a stored result larger than this is read and sent this many bytes at
            a time (``results/<param>``): the API holds one slice of it, never all of it.
        result_copy_bytes: a job result at least this large is also written to the job's
            directory by its worker, and ``results/<param>`` sends it from there when the API
            sees the same directory (0: never).
    """

    model_config = _ENV

    broker_url: str | None = None
    job_queue: str = Field(default="gpserver", pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    embedded_workers: int = Field(default=2, ge=1)
    job_time_limit: float = Field(default=3600.0, gt=0)
    heartbeat_seconds: float = Field(default=1.0, gt=0)
    stale_seconds: float = Field(default=30.0, gt=0)
    cancel_grace_seconds: float = Field(default=2.0, ge=0)
    retention_hours: float = Field(default=6.0, gt=0)
    result_slice_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024)
    result_copy_bytes: int = Field(default=1024 * 1024, ge=0)


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class FetchSettings(BaseSettings):
    """Inputs given by URL: the one outbound HTTP client (``gpserver.net.fetch``).

    Attributes:
        input_url_allowlist: hosts or CIDRs (comma-separated, ``GPSERVER_INPUT_URL_ALLOWLIST``)
            exempted from the block on private, loopback, link-local and other non-public
            addresses; public addresses are always allowed. Example: ``gis.local,10.1.0.0/16``.
        fetch_timeout: seconds one request may take in all (connect, wait, download).
        fetch_max_bytes: largest response body, and the most bytes all pages of one input may add up to.
        fetch_max_pages: most pages read while a query answers ``exceededTransferLimit``.
    """

    model_config = _ENV

    input_url_allowlist: Annotated[list[str], NoDecode] = []
    fetch_timeout: float = Field(default=30.0, gt=0)
    fetch_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    fetch_max_pages: int = Field(default=100, ge=1)

    @field_validator("input_url_allowlist", mode="before")
    @classmethod
    def _allowlist(cls, value: Any) -> Any:
        return _comma_list(value)


class FilesSettings(BaseSettings):
    """Uploaded items and output files.

    Attributes:
        max_upload_bytes: largest uploaded file (``GPSERVER_MAX_UPLOAD_BYTES``).
        upload_extensions: extensions (no dot, comma-separated) an upload may have; an upload
            without an allowed extension is refused.
        output_retention_hours: output files of ``execute`` (``rest/directories/arcgisoutput``) and
            uploaded items are deleted after this age.
    """

    model_config = _ENV

    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    upload_extensions: Annotated[list[str], NoDecode] = [
        "json", "geojson", "txt", "csv", "zip", "gpkg", "kml", "kmz", "tif", "tiff", "png", "jpg", "xml", "prj",
    ]  # fmt: skip
    output_retention_hours: float = Field(default=24.0, gt=0)

    @field_validator("upload_extensions", mode="before")
    @classmethod
    def _extensions(cls, value: Any) -> Any:
        value = _comma_list(value)
        return [v.lower().lstrip(".") for v in value] if isinstance(value, list) else value


class AuthSettings(BaseSettings):
    """Token-based security (users are in the database: ``gpserver user add``).

    Attributes:
        token_minutes: validity of a token when ``generateToken`` is given no ``expiration``;
            also published as ``shortLivedTokenValidity``.
        token_max_minutes: longest validity a token may be given (longer requests are clamped).
    """

    model_config = _ENV

    token_minutes: int = Field(default=60, ge=1)
    token_max_minutes: int = Field(default=1440, ge=1)


class LimitSettings(BaseSettings):
    """Limits on what one request or one caller may ask for (0 turns a count limit off).

    Attributes:
        max_input_features: most features (records) one input parameter may hold.
        max_vertices_per_geometry: most vertices one input geometry may have.
        max_queued_jobs_per_user: most jobs one user may have waiting or running at once
            (signed-in users only; anonymous callers are held back by ``rate_limit``).
        rate_limit: requests per minute per caller (the user of a token, else the client IP),
            counted in each API process; 0: off.
    """

    model_config = _ENV

    max_input_features: int = Field(default=1_000_000, ge=0)
    max_vertices_per_geometry: int = Field(default=1_000_000, ge=0)
    max_queued_jobs_per_user: int = Field(default=20, ge=0)
    rate_limit: int = Field(default=0, ge=0)


class Settings(BaseModel):
    """All settings, one attribute per concern."""

    api: ApiSettings = Field(default_factory=ApiSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    files: FilesSettings = Field(default_factory=FilesSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)

    @classmethod
    def from_env(cls) -> Settings:
        """Read every concern from the environment."""
        return cls(
            api=ApiSettings(),
            storage=StorageSettings(),
            jobs=JobSettings(),
            fetch=FetchSettings(),
            files=FilesSettings(),
            auth=AuthSettings(),
            limits=LimitSettings(),
        )
