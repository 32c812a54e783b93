"""Migrations: ``upgrade head`` on empty PostgreSQL and SQLite databases; models and migrations agree."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gpserver.db.base import Base
from gpserver.db.migrate import head_revision, schema_is_current, upgrade
from gpserver.db.session import make_engine
from tests.conftest import REDIS_URL
from tests.jobs.conftest import _pg_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_database()


def _assert_agree(url: str) -> None:
    engine = make_engine(url)
    try:
        assert not schema_is_current(engine)
        upgrade(url)
        assert schema_is_current(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_upgrade_head_on_an_empty_sqlite_file(tmp_path: Path) -> None:
    _assert_agree(f"sqlite:///{tmp_path / 'empty.db'}")


def test_upgrade_head_on_an_empty_postgresql_database(pg_url: str) -> None:
    _assert_agree(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))


def test_alembic_command_line_from_the_repository_root(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "GPSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    alembic = Path(sys.executable).with_name("alembic")
    subprocess.run([str(alembic), "upgrade", "head"], cwd=root, env=env, check=True, capture_output=True)
    checked = subprocess.run([str(alembic), "check"], cwd=root, env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert head_revision() is not None


def test_serve_refuses_a_postgresql_schema_that_is_behind(pg_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "GPSERVER_DATABASE_URL": pg_url, "GPSERVER_DATA_DIR": str(tmp_path), "GPSERVER_PORT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "gpserver", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "gpserver db upgrade" in done.stderr


def test_worker_refuses_a_postgresql_schema_that_is_behind(pg_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GPSERVER_DATABASE_URL": pg_url,
        "GPSERVER_DATA_DIR": str(tmp_path),
        "GPSERVER_BROKER_URL": REDIS_URL,
        "GPSERVER_JOB_QUEUE": "gpserver-test-never-consumed",
    }
    done = subprocess.run(
        [sys.executable, "-m", "gpserver", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "gpserver db upgrade" in done.stderr


def test_job_payloads_storage_on_postgresql(pg_url: str) -> None:
    """Results uncompressed out of line; inputs compressed with lz4 where the server offers it."""
    upgrade(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT attrelid::regclass::text, attname, attstorage, attcompression FROM pg_attribute"
            " WHERE (attrelid = 'gp_jobs'::regclass AND attname = 'inputs')"
            " OR (attrelid = 'gp_job_results'::regclass AND attname = 'value')"
        ).fetchall()
        conn.execute("CREATE TEMP TABLE probe (t text COMPRESSION lz4)")  # this server has lz4 (it fails otherwise)
    assert sorted(rows) == [("gp_job_results", "value", "e", ""), ("gp_jobs", "inputs", "x", "l")]


def test_job_inputs_are_text_on_postgresql(pg_url: str) -> None:
    """Inputs are stored as the JSON text the server wrote: PostgreSQL does not parse them (JSONB did)."""
    upgrade(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with psycopg.connect(pg_url) as conn:
        (kind,) = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'gp_jobs'::regclass AND attname = 'inputs'"
        ).fetchone() or (None,)
    assert kind == "text"
