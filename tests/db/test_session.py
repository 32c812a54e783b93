"""Pooled connections: pinged only after sitting idle, and a dead one is replaced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from gpserver.db import session
from gpserver.db.session import make_engine
from tests.jobs.conftest import _pg_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_database()


def _kill(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline
            time.sleep(0.02)


@pytest.mark.parametrize("autocommit", [False, True])
def test_a_connection_closed_while_idle_is_replaced(
    pg_url: str, autocommit: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1), autocommit=autocommit)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _kill(pg_url, pid)
        monkeypatch.setattr(session, "PING_IDLE_SECONDS", 0.0)  # it has been idle "long enough"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()


def test_only_connections_idle_for_a_while_are_pinged(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1), autocommit=True)
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_conn: Any) -> bool:
        pings.append(dbapi_conn)
        return ping(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        for _ in range(3):  # a new connection, then one just used: no round trip before the statement
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert pings == []
        monkeypatch.setattr(session, "PING_IDLE_SECONDS", 0.0)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert len(pings) == 1
    finally:
        engine.dispose()
