"""JobStore: the only writer of job rows.

Every state change is one conditional ``UPDATE ... WHERE status = ...`` so that competing
processes (API processes, workers, monitors) never both win. A running attempt writes under its
``attempts`` number (a fencing token): once a job was re-queued or finished by someone else, the
old attempt's heartbeats and results are refused.

    esriJobSubmitted ──claim──> esriJobExecuting ──finish──> esriJobSucceeded | esriJobFailed | esriJobTimedOut
          │                          │   ▲ stale heartbeat, first time: back to esriJobSubmitted
          │ cancel                   │ cancel
          ▼                          ▼
    esriJobCancelled <──finish── esriJobCancelling
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import anyio
import orjson
import psycopg
from sqlalchemy import (
    Connection,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.selectable import ExecutableReturnsRows
from sqlalchemy.types import TypeEngine

from gpserver.db.models import Job, JobResult
from gpserver.db.session import AsyncReads, EngineHolder
from gpserver.threads import helper_pool

log = logging.getLogger(__name__)

SUBMITTED = "esriJobSubmitted"
EXECUTING = "esriJobExecuting"
SUCCEEDED = "esriJobSucceeded"
FAILED = "esriJobFailed"
TIMED_OUT = "esriJobTimedOut"
CANCELLING = "esriJobCancelling"
CANCELLED = "esriJobCancelled"
RUNNING = (EXECUTING, CANCELLING)
FINAL = (SUCCEEDED, FAILED, TIMED_OUT, CANCELLED)

INFO = "esriJobMessageTypeInformative"
WARNING = "esriJobMessageTypeWarning"
ERROR = "esriJobMessageTypeError"
MAX_ATTEMPTS = 2

J = cast(Table, Job.__table__)
R = cast(Table, JobResult.__table__)


def new_job_id() -> str:
    """``j`` + 32 hex digits, unguessable (ArcGIS style)."""
    return "j" + secrets.token_hex(16)


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def msg(kind: str, text: str) -> dict[str, str]:
    """A job message as JSON."""
    return {"type": kind, "description": text}


@dataclass(frozen=True, slots=True)
class JobView:
    """What the job resource shows (never the inputs)."""

    id: str
    service: str
    task: str
    status: str
    messages: list[dict[str, str]]
    progress: dict[str, Any] | None
    owner: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job a worker now runs, with everything it needs."""

    id: str
    service: str
    task: str
    inputs: dict[str, Any]
    messages: list[dict[str, str]]
    time_limit: float
    attempt: int


@dataclass(frozen=True, slots=True)
class ResultStart:
    """The start of one stored result (:meth:`JobStore.result_start`)."""

    row: ResultRow  # its value: the first bytes of the stored value (none when ``copy`` is set)
    size: int  # the stored value's length
    copy: Path | None = None  # a file holding exactly the stored value


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One stored result parameter (see ``gpserver.db.models.JobResult``)."""

    param: str
    data_type: str
    value: bytes
    has_z: bool = False
    has_m: bool = False
    count: int | None = None


_VIEW_COLUMNS = (
    J.c.id,
    J.c.service,
    J.c.task,
    J.c.status,
    J.c.messages,
    J.c.progress,
    J.c.owner,
    J.c.created,
    J.c.started,
    J.c.finished,
)
_CLAIM_COLUMNS = (J.c.id, J.c.service, J.c.task, J.c.inputs, J.c.messages, J.c.time_limit, J.c.attempts)
_RESULT_COLUMNS = (R.c.param, R.c.data_type, R.c.value, R.c.has_z, R.c.has_m, R.c.count)

_PSYCOPG = psycopg_dialect()  # type: ignore[no-untyped-call]
_Process = Callable[[Any], Any]  # a bind or result processor


class _Statement:
    """A statement of a job's hot path, and the SQL SQLAlchemy compiles from it for psycopg (constant
    IN lists expanded) with its fixed parameters: on PostgreSQL it runs through the driver's binary
    cursor, elsewhere through SQLAlchemy. bytea arrives as bytes, not as hex text to decode (a 20 MB
    value in 32 ms instead of 135 ms), and SQLAlchemy's execution machinery is skipped: a third of a
    poll's cost, ~0.2 of ~0.55 ms of CPU a claim, ~0.3 of ~0.7 ms a finish. The values still pass
    the bind and result processors SQLAlchemy would apply (JSON wrapped as psycopg ``Jsonb``,
    timestamps in UTC, the inputs' text parsed), so both paths write and read the same.

    The values bound when it runs are those of its bind parameters declared without one."""

    __slots__ = ("query", "sql", "fixed", "binds", "_results")

    def __init__(self, query: ExecutableReturnsRows) -> None:
        compiled = query.compile(dialect=_PSYCOPG)
        expanded = compiled.construct_expanded_state(compiled.params)
        processors = {
            **{name: process for name, bind in compiled.binds.items() if (process := _bind_processor(bind.type))},
            **expanded.processors,  # those of the expanded IN values
        }
        bound = {name for name, bind in compiled.binds.items() if bind.required}
        self.query = query
        self.sql = expanded.statement
        self.fixed = {
            name: processors[name](value) if name in processors else value
            for name, value in expanded.parameters.items()
            if name not in bound
        }
        self.binds = {name: processors[name] for name in bound if name in processors}
        # (position, processor) of the result columns that have one: known from the column types
        # of the first rows.
        self._results: list[tuple[int, _Process]] | None = None

    def rows(self, conn: Connection, bound: dict[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows for the values ``bound`` (within ``conn``'s transaction, if any). A statement
        that finds the connection gone invalidates it, as SQLAlchemy does: the next one reconnects."""
        if not _on_psycopg(conn):
            return conn.execute(self.query, bound).all()
        with _driver_cursor(conn) as cur:
            cur.execute(self.sql, self.values(bound))
            rows: list[Any] = cur.fetchall()
            return self.processed(rows, cur.description if self.describes else None)

    def rows_while(self, conn: Connection, bound: dict[str, Any], work: Callable[[], None]) -> None:
        """Run the statement for the values ``bound`` while ``work`` runs here: on PostgreSQL it
        is sent first, in pipeline mode, and the server executes it meanwhile (its outcome is read
        after ``work``, whose error wins); elsewhere ``work`` runs first. Within ``conn``'s
        transaction."""
        if not (_on_psycopg(conn) and _PIPELINE):
            work()
            self.rows(conn, bound)
            return
        with _driver_cursor(conn) as cur:
            with cur.connection.pipeline():
                cur.execute(self.sql, self.values(bound))
                work()
            cur.fetchall()

    def values(self, bound: dict[str, Any]) -> dict[str, Any]:
        """The driver's parameters for the values ``bound``."""
        values = {**self.fixed, **bound}
        for name, process in self.binds.items():
            values[name] = process(values[name])
        return values

    @property
    def describes(self) -> bool:
        """Whether :meth:`processed` still needs the description of the columns (only the first
        rows' is read: psycopg builds it anew at each request, ~10 objects)."""
        return self._results is None

    def processed(self, rows: list[Any], described: Sequence[Any] | None) -> Sequence[Sequence[Any]]:
        """The driver's ``rows`` (of columns ``described``) as SQLAlchemy would return them."""
        if self._results is None and described is not None:
            self._results = _result_processors(self.query, described)
        if not self._results:
            return rows
        processed = [list(row) for row in rows]
        for row in processed:
            for i, process in self._results:
                row[i] = process(row[i])
        return processed


def _on_psycopg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


_PIPELINE = psycopg.Pipeline.is_supported()  # libpq 14+


@contextmanager
def _driver_cursor(conn: Connection) -> Iterator[Any]:
    """A binary cursor of ``conn``'s psycopg connection; a statement that finds the connection gone
    invalidates it, as SQLAlchemy does: the next one reconnects."""
    driver: Any = conn.connection.driver_connection
    try:
        with driver.cursor(binary=True) as cur:
            yield cur
    except Exception as error:
        if conn.dialect.is_disconnect(cast(Any, error), driver, None):  # it checks for a driver error
            conn.invalidate(error)
        raise


def _bind_processor(type_: TypeEngine[Any]) -> _Process | None:
    return type_.dialect_impl(_PSYCOPG).bind_processor(_PSYCOPG)


def _result_processors(query: ExecutableReturnsRows, description: Sequence[Any]) -> list[tuple[int, _Process]]:
    """Those of ``query``'s result columns that have one, for the column types the server sent."""
    found = []
    for i, (column, described) in enumerate(zip(query.exported_columns, description, strict=True)):
        process = column.type.dialect_impl(_PSYCOPG).result_processor(_PSYCOPG, described.type_code)
        if process is not None:
            found.append((i, process))
    return found


# The statements of a job's hot path (submit, poll, claim, finish), built once: only their bound
# values change. Values of the SET clause are bound as ``b_*`` (plain column names are reserved there).
# A new job: the columns JobStore.create writes, bound as b_<column>.
_NEW_COLUMNS = ("id", "service", "task", "status", "owner", "inputs", "messages", "time_limit", "attempts", "created")
_INSERT = _Statement(
    insert(J).values({c: bindparam(f"b_{c}", type_=J.c[c].type) for c in _NEW_COLUMNS}).returning(J.c.id)
)
_OURS = (J.c.id == bindparam("b_id"), J.c.attempts == bindparam("b_attempt"))
_HEARTBEAT = _Statement(
    update(J)
    .where(*_OURS, J.c.status.in_(RUNNING))
    .values(
        heartbeat=bindparam("b_now", type_=J.c.heartbeat.type),
        messages=bindparam("b_messages", type_=J.c.messages.type),
        progress=bindparam("b_progress", type_=J.c.progress.type),
    )
    .returning(J.c.status)
)
# One statement ends a running attempt: a job cancelled meanwhile (Cancelling) ends Cancelled.
_FINISH_UPDATE = (
    update(J)
    .where(*_OURS, J.c.status.in_(RUNNING))
    .values(
        status=case((J.c.status == CANCELLING, CANCELLED), else_=bindparam("b_status", type_=J.c.status.type)),
        messages=case(
            (J.c.status == CANCELLING, bindparam("b_cancelled", type_=J.c.messages.type)),
            else_=bindparam("b_messages", type_=J.c.messages.type),
        ),
        progress=None,
        heartbeat=bindparam("b_now", type_=J.c.heartbeat.type),
        finished=bindparam("b_now", type_=J.c.heartbeat.type),
    )
    .returning(J.c.id, J.c.status)
)
_FINISH = _Statement(_FINISH_UPDATE)
_RESULT_COLUMNS_IN = (R.c.param, R.c.position, R.c.data_type, R.c.value, R.c.has_z, R.c.has_m, R.c.count)
_FINISH_WITH: dict[int, _Statement] = {0: _FINISH}


def _finish_with(n: int) -> _Statement:
    """``_FINISH`` and the insert of ``n`` results (bound as ``r<i>_<column>``) in one PostgreSQL
    statement: the rows are inserted only when the job ended succeeded. Built once per ``n``."""
    query = _FINISH_WITH.get(n)
    if query is None:
        done = _FINISH_UPDATE.cte("done")
        rows = [
            select(done.c.id, *(bindparam(f"r{i}_{c.name}", type_=c.type) for c in _RESULT_COLUMNS_IN)).where(
                done.c.status == SUCCEEDED
            )
            for i in range(n)
        ]
        added = insert(R).from_select([R.c.job_id, *_RESULT_COLUMNS_IN], rows[0] if n == 1 else union_all(*rows))
        query = _FINISH_WITH[n] = _Statement(select(done.c.id, done.c.status).add_cte(added.cte("added")))
    return query


_EXECUTING_NOTE = orjson.dumps(msg(INFO, "Executing...")).decode()


_ONE = (R.c.job_id == bindparam("b_job"), R.c.param == bindparam("b_param"))
_FIRST: BindParameter[int] = bindparam("b_first")
_GET = _Statement(select(*_VIEW_COLUMNS).where(J.c.id == bindparam("b_id")))
_RESULTS = _Statement(select(*_RESULT_COLUMNS).where(R.c.job_id == bindparam("b_job")).order_by(R.c.position))
_RESULT = _Statement(select(*_RESULT_COLUMNS).where(*_ONE))
# substr() of an uncompressed out-of-line value (STORAGE EXTERNAL) reads only the TOAST chunks it
# covers; a value that fits is read as it is (substr() would copy it once more in the server); none
# of a value that may have a copy on disk (b_copied), which its position and the job's attempt name.
_RESULT_START = _Statement(
    select(
        R.c.param,
        R.c.data_type,
        case(
            (func.length(R.c.value) >= bindparam("b_copied"), func.substr(R.c.value, 1, 0)),
            (func.length(R.c.value) <= _FIRST, R.c.value),
            else_=func.substr(R.c.value, 1, _FIRST),
        ),
        R.c.has_z,
        R.c.has_m,
        R.c.count,
        func.length(R.c.value),
        R.c.position,
        J.c.attempts,
    )
    .select_from(R.join(J, J.c.id == R.c.job_id))
    .where(*_ONE)
)
_RESULT_SLICE = _Statement(select(func.substr(R.c.value, bindparam("b_from"), bindparam("b_size"))).where(*_ONE))


# A job's copies of its large results, in its directory (JobStore.finish, JobStore.result_start).
_COPIES = ".results"


_NEVER = 1 << 62  # no stored value is this long


def _copy_name(attempt: int, position: int) -> str:
    """The file of the result at ``position`` written by ``attempt`` (a re-queued job's older
    attempt, still running somewhere, never overwrites the copy of the attempt that succeeded)."""
    return f"{attempt}-{position}.json"


def _wait(copying: Future[None] | None) -> None:
    if copying is not None:
        copying.result()


def read_copy(path: Path, start: int, size: int) -> bytes:
    """``size`` bytes (fewer at the end) of a result's copy from offset ``start``; empty when it is
    gone (the job deleted after the retention age)."""
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            return fh.read(size)
    except OSError:
        return b""


# Inputs above this size are large: inserted while they are validated (JobStore.create), and kept
# decoded until the submit has answered (api/jobs).
LARGE_INPUT_BYTES = 64 * 1024


def large_inputs(values: Mapping[str, Any]) -> bool:
    """True when the text of ``values`` (a submit's parameters or a job's inputs) is large."""
    return sum(len(v) for v in values.values() if isinstance(v, str)) > LARGE_INPUT_BYTES


class JobStore:
    """Reads and conditional writes of job rows; each method is one short transaction."""

    def __init__(self, engine: EngineHolder, jobs_dir: Path, *, copy_bytes: int = 0) -> None:
        self.engine = engine
        self.jobs_dir = jobs_dir
        self.copy_bytes = copy_bytes  # results this large are also written to the job's directory
        self._aio = AsyncReads(engine.url) if AsyncReads.usable(engine.url) else None
        self._claim_id: _Statement | None = None  # built on first use (they depend on the dialect)
        self._claim_oldest: _Statement | None = None

    # -- creation and reading -------------------------------------------------------------------

    def create(
        self,
        *,
        service: str,
        task: str,
        inputs: dict[str, Any],
        time_limit: float,
        owner: str | None = None,
        validate: Callable[[], None] | None = None,
    ) -> JobView:
        """Store a new submitted job (committed when this returns).

        ``validate`` (checks that raise) decides whether the job is stored at all. With large inputs
        on PostgreSQL the INSERT is sent first, in pipeline mode, in a transaction committed once
        ``validate`` returns and rolled back if it raises: the server stores the document while
        Python decodes it. Nobody sees the row before the commit. Otherwise (SQLite keeps one
        writer: no write lock held while validating) the checks come first."""
        now = utcnow()
        messages = [msg(INFO, "Submitted.")]
        job_id = new_job_id()
        values = (job_id, service, task, SUBMITTED, owner, inputs, messages, time_limit, 0, now)
        row = {f"b_{c}": v for c, v in zip(_NEW_COLUMNS, values, strict=True)}
        engine = self.engine.get()
        if validate is not None and large_inputs(inputs) and engine.dialect.name == "postgresql":
            with engine.begin() as conn:  # committed once both are done, rolled back if either raised
                _INSERT.rows_while(conn, row, validate)
        else:
            if validate is not None:
                validate()
            with self.engine.autocommit().begin() as conn:
                _INSERT.rows(conn, row)
        return JobView(job_id, service, task, SUBMITTED, messages, None, owner, now, None, None)

    def get(self, job_id: str) -> JobView | None:
        """The job, without its inputs."""
        with self.engine.autocommit().connect() as conn:
            rows = _GET.rows(conn, {"b_id": job_id})
        return JobView(*rows[0]) if rows else None

    async def get_async(self, job_id: str) -> JobView | None:
        """:meth:`get` from the event loop (the statement every poll makes): on PostgreSQL read
        there by an asyncio connection, elsewhere in a worker thread."""
        if self._aio is None:
            return await anyio.to_thread.run_sync(self.get, job_id)
        rows = _GET.processed(*await self._aio.rows(_GET.sql, _GET.values({"b_id": job_id}), describe=_GET.describes))
        return JobView(*rows[0]) if rows else None

    def inputs(self, job_id: str) -> dict[str, Any] | None:
        """The submitted request values."""
        with self.engine.autocommit().connect() as conn:
            value = conn.execute(select(J.c.inputs).where(J.c.id == job_id)).scalar_one_or_none()
        return value if isinstance(value, dict) else None

    def results(self, job_id: str) -> list[ResultRow]:
        """Every stored result, in parameter order."""
        with self.engine.autocommit().connect() as conn:
            return [ResultRow(*row) for row in _RESULTS.rows(conn, {"b_job": job_id})]

    def result(self, job_id: str, param: str) -> ResultRow | None:
        """One stored result."""
        with self.engine.autocommit().connect() as conn:
            rows = _RESULT.rows(conn, {"b_job": job_id, "b_param": param})
        return ResultRow(*rows[0]) if rows else None

    def result_start(self, job_id: str, param: str, first: int) -> ResultStart | None:
        """One stored result with at most the ``first`` bytes of its value, and the value's length;
        :meth:`result_slice` reads the rest (the API then never holds a large value whole).

        When the job's directory holds the copy its worker wrote of this value (results of at least
        ``copy_bytes``; see :meth:`finish`) and it has the stored length, no byte of the value is
        read from the database: the answer names the file. Smaller values, and any value of a job
        without copies (small results, a worker on another machine), start in the same query."""
        folder = self.jobs_dir / job_id / _COPIES
        try:
            copies = set(os.listdir(folder))
        except OSError:
            copies = set()
        copied = self.copy_bytes if copies and self.copy_bytes else _NEVER
        bound = {"b_job": job_id, "b_param": param, "b_first": first, "b_copied": copied}
        with self.engine.autocommit().connect() as conn:
            rows = _RESULT_START.rows(conn, bound)
        if not rows:
            return None
        *values, size, position, attempt = rows[0]
        row = ResultRow(*values)
        name = _copy_name(attempt, position)
        if name in copies:
            try:
                if (folder / name).stat().st_size == size:
                    return ResultStart(row, size, folder / name)
            except OSError:
                pass
        return ResultStart(row, size)

    def result_slice(self, job_id: str, param: str, start: int, size: int) -> bytes:
        """``size`` bytes (fewer at the end) of a stored value, from offset ``start``; empty when
        the result is gone (deleted after the retention age)."""
        bound = {"b_job": job_id, "b_param": param, "b_from": start + 1, "b_size": size}
        with self.engine.autocommit().connect() as conn:
            rows = _RESULT_SLICE.rows(conn, bound)
        return bytes(rows[0][0]) if rows else b""

    def has_submitted(self) -> bool:
        """True when some job waits to be claimed."""
        with self.engine.autocommit().connect() as conn:
            return conn.execute(select(J.c.id).where(J.c.status == SUBMITTED).limit(1)).first() is not None

    def count_active(self, owner: str) -> int:
        """Jobs of one owner that wait or run (the per-user queue limit)."""
        query = select(func.count()).select_from(J).where(J.c.owner == owner, J.c.status.in_((SUBMITTED, *RUNNING)))
        with self.engine.autocommit().connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count(self, status: str | None = None) -> int:
        """Number of jobs (in a status)."""
        query = select(func.count()).select_from(J)
        if status is not None:
            query = query.where(J.c.status == status)
        with self.engine.autocommit().connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- running ----------------------------------------------------------------------------------

    def claim(self, job_id: str) -> ClaimedJob | None:
        """Submitted -> Executing; ``None`` when the job is not waiting (a redelivery, a cancelled job)."""
        if self._claim_id is None:
            self._claim_id = self._claim_statement(J.c.id == bindparam("b_id"))
        return self._claim(self._claim_id, job_id)

    def claim_next(self) -> ClaimedJob | None:
        """Claim the oldest submitted job, if any (the embedded pool's queue is the table)."""
        if self._claim_oldest is None:
            oldest = select(J.c.id).where(J.c.status == SUBMITTED).order_by(J.c.created).limit(1)
            if self.engine.get().dialect.name == "postgresql":
                oldest = oldest.with_for_update(skip_locked=True)
            self._claim_oldest = self._claim_statement(J.c.id == oldest.scalar_subquery())
        return self._claim(self._claim_oldest, None)

    def _claim_statement(self, which: ColumnElement[bool]) -> _Statement:
        return _Statement(
            update(J)
            .where(which, J.c.status == SUBMITTED)
            .values(
                status=EXECUTING,
                attempts=J.c.attempts + 1,
                started=bindparam("b_now", type_=J.c.heartbeat.type),
                heartbeat=bindparam("b_now", type_=J.c.heartbeat.type),
                progress=None,
                messages=self._append(bindparam("b_note", type_=String)),
            )
            .returning(*_CLAIM_COLUMNS)
        )

    def _claim(self, query: _Statement, job_id: str | None) -> ClaimedJob | None:
        bound = {"b_now": utcnow(), "b_note": _EXECUTING_NOTE}
        if job_id is not None:
            bound["b_id"] = job_id
        with self.engine.autocommit().begin() as conn:
            rows = query.rows(conn, bound)
        return ClaimedJob(*rows[0]) if rows else None  # the columns of _CLAIM_COLUMNS

    def _append(self, message: dict[str, str] | ColumnElement[Any]) -> ColumnElement[Any]:
        """``messages`` with one more message at the end, computed by the database (one statement);
        ``message`` is a message or an expression of its JSON text (a bound parameter)."""
        text = literal(orjson.dumps(message).decode(), String) if isinstance(message, dict) else message
        if self.engine.get().dialect.name == "postgresql":
            return J.c.messages.op("||")(cast_(text, JSONB))  # jsonb array || object appends it
        return func.json_insert(J.c.messages, "$[#]", func.json(text))

    def heartbeat(
        self, job_id: str, attempt: int, messages: list[dict[str, str]], progress: dict[str, Any] | None
    ) -> str | None:
        """Record liveness, messages and progress; the status (``None``: this attempt no longer owns the job)."""
        bound = {
            "b_id": job_id,
            "b_attempt": attempt,
            "b_now": utcnow(),
            "b_messages": messages,
            "b_progress": progress,
        }
        with self.engine.autocommit().begin() as conn:
            rows = _HEARTBEAT.rows(conn, bound)
        status: str | None = rows[0][0] if rows else None
        return status

    def finish(
        self,
        job_id: str,
        attempt: int,
        status: str,
        messages: list[dict[str, str]],
        results: Sequence[ResultRow] = (),
    ) -> str | None:
        """End a running attempt; a job cancelled meanwhile ends cancelled. The final status, or ``None``.

        One statement on PostgreSQL (the results are inserted by the same statement, so a client
        that sees the job succeeded finds its results); a transaction on SQLite. Copies of large
        results (:meth:`_write_copies`) are written by a helper thread meanwhile and are in place
        before the commit.
        """
        big = [(i, r.value) for i, r in enumerate(results) if 0 < self.copy_bytes <= len(r.value)]
        copying = (
            helper_pool("copies", 4).submit(self._write_copies, job_id, attempt, big)
            if status == SUCCEEDED and big
            else None
        )
        cancelled = [*messages, msg(INFO, "Cancel complete.")]
        bound = {
            "b_id": job_id,
            "b_attempt": attempt,
            "b_now": utcnow(),
            "b_status": status,
            "b_messages": cancelled if status == CANCELLED else messages,
            "b_cancelled": cancelled,
        }
        rows = [
            {
                "param": r.param,
                "position": i,
                "data_type": r.data_type,
                "value": r.value,
                "has_z": r.has_z,
                "has_m": r.has_m,
                "count": r.count,
            }
            for i, r in enumerate(results if status == SUCCEEDED else ())
        ]
        if self.engine.get().dialect.name == "postgresql":
            for i, r in enumerate(rows):
                bound.update({f"r{i}_{name}": value for name, value in r.items()})
            with (self.engine.get() if copying else self.engine.autocommit()).begin() as conn:
                ended = _finish_with(len(rows)).rows(conn, bound)
                _wait(copying)
            return str(ended[0][1]) if ended else None
        with self.engine.get().begin() as conn:
            ended = _FINISH.rows(conn, bound)
            if ended and ended[0][1] == SUCCEEDED and rows:
                conn.execute(insert(R), [{"job_id": job_id, **r} for r in rows])
            _wait(copying)
        return str(ended[0][1]) if ended else None

    def _write_copies(self, job_id: str, attempt: int, values: Sequence[tuple[int, bytes]]) -> None:
        """The values of results of at least ``copy_bytes`` (by position) also go to
        ``<jobs_dir>/<jobId>/.results/``, each renamed into place once written whole. The database
        stays the record; a copy only spares the API reading tens of megabytes back from it. A copy
        that cannot be written is skipped (logged)."""
        folder = self.jobs_dir / job_id / _COPIES
        for position, value in values:
            path = folder / _copy_name(attempt, position)
            part = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")  # a retried finish writes its own
            try:
                folder.mkdir(parents=True, exist_ok=True)
                part.write_bytes(value)
                os.replace(part, path)
            except OSError:
                log.exception("could not write the copy of a result of job %s", job_id)
                part.unlink(missing_ok=True)

    def fail_submitted(self, job_id: str, reason: str) -> None:
        """A job that could not be queued ends failed."""
        with self.engine.autocommit().begin() as conn:
            conn.execute(
                update(J)
                .where(J.c.id == job_id, J.c.status == SUBMITTED)
                .values(status=FAILED, finished=utcnow(), messages=self._append(msg(ERROR, reason)))
            )

    # -- cancel -----------------------------------------------------------------------------------

    def request_cancel(self, job_id: str) -> tuple[JobView | None, bool]:
        """Submitted -> Cancelled at once; Executing -> Cancelling. The job after, and whether it changed."""
        now = utcnow()
        with self.engine.get().begin() as conn:
            row = conn.execute(
                update(J)
                .where(J.c.id == job_id, J.c.status.in_((SUBMITTED, EXECUTING)))
                .values(
                    status=case((J.c.status == SUBMITTED, CANCELLED), else_=CANCELLING),
                    cancel_requested_at=now,
                    finished=case((J.c.status == SUBMITTED, now), else_=None),
                    messages=case(
                        (J.c.status == SUBMITTED, self._append(msg(INFO, "Cancel complete."))), else_=J.c.messages
                    ),
                )
                .returning(*_VIEW_COLUMNS)
            ).one_or_none()
            if row is not None:
                return JobView(**row._asdict()), True
            view = conn.execute(select(*_VIEW_COLUMNS).where(J.c.id == job_id)).one_or_none()
        return (None if view is None else JobView(**view._asdict())), False

    # -- recovery and retention (the monitor) --------------------------------------------------------

    def requeue_stale(self, cutoff: datetime) -> list[str]:
        """Running jobs whose heartbeat is older than ``cutoff``: re-queued once, then failed.

        Returns the ids to submit again.
        """
        stale = J.c.heartbeat < cutoff
        lost = "The process running this job stopped responding"
        with self.engine.get().begin() as conn:
            requeued = list(
                conn.execute(
                    update(J)
                    .where(J.c.status == EXECUTING, stale, J.c.attempts < MAX_ATTEMPTS)
                    .values(
                        status=SUBMITTED,
                        started=None,
                        heartbeat=None,
                        progress=None,
                        messages=self._append(msg(WARNING, f"{lost}; the job was submitted again.")),
                    )
                    .returning(J.c.id)
                ).scalars()
            )
            conn.execute(
                update(J)
                .where(J.c.status == EXECUTING, stale, J.c.attempts >= MAX_ATTEMPTS)
                .values(
                    status=FAILED,
                    finished=utcnow(),
                    progress=None,
                    messages=self._append(msg(ERROR, f"{lost} {MAX_ATTEMPTS} times; the job failed.")),
                )
            )
            conn.execute(
                update(J)
                .where(J.c.status == CANCELLING, stale)
                .values(
                    status=CANCELLED,
                    finished=utcnow(),
                    progress=None,
                    messages=self._append(msg(INFO, "Cancel complete.")),
                )
            )
        if requeued:
            log.warning("re-queued jobs with a stale heartbeat: %s", ", ".join(requeued))
        return requeued

    def overdue(self, now: datetime, margin: float) -> list[str]:
        """End running jobs whose own process failed to end them in time (past limit or cancel + margin).

        Returns the ids whose processes should be terminated.
        """
        with self.engine.autocommit().connect() as conn:
            rows = conn.execute(
                select(J.c.id, J.c.status, J.c.started, J.c.time_limit, J.c.cancel_requested_at, J.c.attempts).where(
                    J.c.status.in_(RUNNING)
                )
            ).all()
        ended: list[str] = []
        for row in rows:
            if row.status == EXECUTING and row.started + timedelta(seconds=row.time_limit + margin) < now:
                final, note = TIMED_OUT, msg(ERROR, f"The job exceeded its time limit of {row.time_limit:g} seconds.")
            elif row.status == CANCELLING and row.cancel_requested_at + timedelta(seconds=margin) < now:
                final, note = CANCELLED, msg(INFO, "Cancel complete.")
            else:
                continue
            with self.engine.autocommit().begin() as conn:
                got = conn.execute(
                    update(J)
                    .where(J.c.id == row.id, J.c.status == row.status, J.c.attempts == row.attempts)
                    .values(status=final, finished=utcnow(), progress=None, messages=self._append(note))
                    .returning(J.c.id)
                ).first()
            if got is not None:
                ended.append(row.id)
        return ended

    def purge(self, older_than: datetime, batch: int = 1000) -> int:
        """Delete jobs finished before ``older_than`` with their results and files."""
        total = 0
        while True:
            ids = select(J.c.id).where(J.c.finished < older_than).limit(batch).scalar_subquery()
            with self.engine.get().begin() as conn:
                conn.execute(delete(R).where(R.c.job_id.in_(ids)))
                gone = conn.execute(delete(J).where(J.c.id.in_(ids)).returning(J.c.id)).scalars().all()
            for job_id in gone:
                shutil.rmtree(self.jobs_dir / job_id, ignore_errors=True)
            total += len(gone)
            if len(gone) < batch:
                return total

    def dispose(self) -> None:
        """Close this process's connections."""
        self.engine.dispose()
        if self._aio is not None:
            self._aio.close()


# Key of a job's stored inputs holding the submitting request's context root URL (a colon keeps it
# apart from tool parameter names): workers answer file outputs with absolute URLs under it.
BASE_URL_KEY = "gpserver:base_url"


def job_folder(service_path: str) -> str:
    """``<service>_gpserver`` as ArcGIS names a service's job directory (folders joined by ``_``)."""
    return service_path.replace("/", "_") + "_gpserver"
