"""The tables: users (``gp_users``), one row per job (``gp_jobs``), one per job result (``gp_job_results``).

A job row is the truth about a job; Celery's result backend is never read. Results are stored once,
encoded as JSON bytes with full fidelity (z, m, every record), so ``results/<param>`` serves them
without re-encoding when the request asks for nothing different.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import Mapped, mapped_column

from gpserver.db.base import Base, JSONVariant


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store UTC; naive on SQLite so text comparisons stay ordered."""
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Always aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """JSON kept as plain text, written and read with orjson: for documents that are stored and
    handed back whole, never queried into (PostgreSQL need not parse them on the way in)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """The JSON text."""
        return None if value is None else orjson.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        """The parsed value."""
        return None if value is None else orjson.loads(value)


class Job(Base):
    """An asynchronous job (``submitJob``)."""

    __tablename__ = "gp_jobs"

    id: Mapped[str] = mapped_column(String(33), primary_key=True)
    service: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24))
    # Who submitted it; filled once authentication lands (per-user listings and queue limits).
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The request values of declared inputs and env options, as sent: the worker decodes exactly
    # what ``execute`` would. Deferred: a 10,000-feature input is never read when polling.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONText, deferred=True)
    messages: Mapped[list[dict[str, str]]] = mapped_column(JSONVariant)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONVariant, nullable=True)
    time_limit: Mapped[float] = mapped_column(Float)
    # Claims so far; also the fencing token a running attempt writes under.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    started: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index(None, "status", "created"),  # the embedded pool claims the oldest submitted job
        Index(None, "status", "heartbeat"),  # the stale sweep
        Index(None, "finished"),  # retention
        Index(None, "owner", "status"),  # per-user listings and queue limits
    )


class JobResult(Base):
    """One output parameter of a succeeded job.

    Attributes:
        value: the encoded value (JSON bytes), written with full fidelity.
        has_z / has_m: the value holds z / m coordinates (a plain request must drop them).
        count: number of records of a feature or record set (``maximumRecords`` check).
    """

    __tablename__ = "gp_job_results"

    job_id: Mapped[str] = mapped_column(String(33), ForeignKey("gp_jobs.id", ondelete="CASCADE"), primary_key=True)
    param: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    data_type: Mapped[str] = mapped_column(String(100))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    has_z: Mapped[bool] = mapped_column(Boolean, default=False)
    has_m: Mapped[bool] = mapped_column(Boolean, default=False)
    count: Mapped[int | None] = mapped_column(Integer, nullable=True)


class User(Base):
    """A user who may sign in (``generateToken``).

    Attributes:
        username: the name, case-sensitive as in ArcGIS.
        password_hash: Argon2id hash (``gpserver.auth.passwords``).
        role: ``viewer``, ``publisher`` or ``administrator``.
        token_generation: written into every token; bumping it revokes all of the user's tokens.
        disabled: a disabled user cannot sign in and their tokens are refused.
    """

    __tablename__ = "gp_users"

    username: Mapped[str] = mapped_column(String(200), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(400))
    role: Mapped[str] = mapped_column(String(32))
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
