"""Engines: one per process, built on first use (so after a fork, never inherited)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_loads
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

# A pooled connection idle for longer than this is pinged before use (a server restart, an idle
# timeout or a firewall may have closed it); one used more recently is not: a ping on every checkout
# is a round trip more for every statement.
PING_IDLE_SECONDS = 5.0


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, *, pool_size: int = 10, autocommit: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and explicit transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions are unreliable).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        **({"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if autocommit else {}),
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping connections that sat in the pool for more than ``PING_IDLE_SECONDS`` before handing them
    out; a dead one is replaced (the pool retries the checkout on ``DisconnectionError``)."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["gp_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("gp_idle_since")  # None: a new connection
        if since is None or time.monotonic() - since <= PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            raise exc.DisconnectionError(f"connection closed while idle: {error}") from error


class EngineHolder:
    """The engine of this process: rebuilt when the process id changes (a fork)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self._pool_size = pool_size
        self._engine: Engine | None = None
        self._auto: Engine | None = None
        self._auto_of: Engine | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self) -> Engine:
        """The engine, built on first use in this process."""
        pid = os.getpid()
        if self._engine is None or self._pid != pid:
            if self._pid != pid:
                self._lock = threading.Lock()  # a lock held by another thread at fork time stays held
            with self._lock:
                if self._engine is None or self._pid != pid:
                    for inherited in (self._engine, self._auto):
                        if inherited is not None:
                            inherited.dispose(close=False)  # the parent's connections stay the parent's
                    self._auto = None
                    self._engine = make_engine(self.url, pool_size=self._pool_size)
                    self._pid = pid
        return self._engine

    def autocommit(self) -> Engine:
        """The engine for single statements: autocommit on PostgreSQL (two round trips fewer).

        SQLite keeps its explicit transactions (a single statement is one anyway).
        """
        engine = self.get()
        if engine.dialect.name == "sqlite":
            return engine
        if self._auto is None or self._auto_of is not engine:
            self._auto = make_engine(self.url, pool_size=self._pool_size, autocommit=True)
            self._auto_of = engine
        return self._auto

    def dispose(self) -> None:
        """Close this process's connections."""
        if self._pid == os.getpid():
            for engine in (self._engine, self._auto):
                if engine is not None:
                    engine.dispose()
        self._engine = self._auto = None


class AsyncReads:
    """Statements read on the event loop through psycopg's asyncio connections (PostgreSQL with
    psycopg only): the API's hottest read, a job's status on every poll, then costs no hand-off to
    a worker thread and back (~0.2 ms of CPU a poll, more than the query itself).

    At most ``size`` connections, made on first use and kept; one that fails or whose read is
    cancelled is closed, and when a kept one is found closed (a server restart) the kept ones are
    dropped and the read is made once more on a new connection. They
    belong to the event loop that made them: another loop (a test client's) starts afresh."""

    def __init__(self, url: str, *, size: int = 4) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.size = size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(size)

    @staticmethod
    def usable(url: str) -> bool:
        """True for a PostgreSQL URL with the psycopg driver."""
        parsed = make_url(url)
        return parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg"

    async def rows(
        self, sql: str, params: Mapping[str, Any], *, describe: bool = True
    ) -> tuple[list[Any], Sequence[Any] | None]:
        """The rows of ``sql`` (psycopg's ``%(name)s`` placeholders) through a binary cursor, and
        the cursor's description of their columns (``None`` unless ``describe``)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop, self._slots = loop, asyncio.Semaphore(self.size)
        async with self._slots:
            for attempt in (1, 2):
                kept = attempt == 1 and bool(self._idle)
                conn = self._idle.pop() if kept else await self._connect()
                try:
                    async with conn.cursor(binary=True) as cur:
                        await cur.execute(sql, params)
                        rows = await cur.fetchall()
                        described = cur.description if describe else None
                except psycopg.OperationalError:
                    conn.pgconn.finish()
                    if kept:  # closed while kept (a restart closes the others too): once more, anew
                        self.close()
                        continue
                    raise
                except BaseException:  # cancelled mid-read, or worse: the connection's state is unknown
                    conn.pgconn.finish()
                    raise
                self._idle.append(conn)
                return rows, described
        raise AssertionError("unreachable")

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True, connect_timeout=10)
        set_json_loads(orjson.loads, conn)  # as SQLAlchemy's engines read JSON
        return conn

    def close(self) -> None:
        """Close the kept connections (no event loop needed)."""
        while self._idle:
            conn = self._idle.pop()  # held while closed: a connection deleted open warns
            conn.pgconn.finish()
