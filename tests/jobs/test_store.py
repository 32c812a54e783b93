"""JobStore's conditional updates, on SQLite and PostgreSQL: competing processes never both win."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.pool import QueuePool

from gpserver.db.migrate import upgrade
from gpserver.db.session import EngineHolder
from gpserver.jobs import store as s
from gpserver.jobs.service import make_store
from gpserver.jobs.store import JobStore, ResultRow, utcnow
from tests.conftest import make_settings
from tests.jobs.conftest import _pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'jobs.db'}"])
    else:
        urls = (u.replace("postgresql://", "postgresql+psycopg://", 1) for u in _pg_database())
    for url in urls:
        upgrade(url)
        st = JobStore(EngineHolder(url), tmp_path / "jobs")
        try:
            yield st
        finally:
            st.dispose()


def new(store: JobStore, limit: float = 60) -> str:
    return store.create(service="Jobs", task="Square", inputs={"x": "3"}, time_limit=limit).id


def test_claim_is_won_once_and_fences_old_attempts(store: JobStore) -> None:
    job_id = new(store)
    first = store.claim(job_id)
    assert first is not None and first.attempt == 1 and first.inputs == {"x": "3"}
    assert [m["description"] for m in first.messages] == ["Submitted.", "Executing..."]
    assert store.claim(job_id) is None  # a redelivered message is a no-op
    assert store.heartbeat(job_id, 2, [], None) is None  # not this attempt's job
    assert store.finish(job_id, 1, s.SUCCEEDED, first.messages, [ResultRow("square", "GPLong", b"9")]) == s.SUCCEEDED
    assert store.finish(job_id, 1, s.FAILED, []) is None  # finished once
    assert store.result(job_id, "square") == ResultRow("square", "GPLong", b"9")
    view = store.get(job_id)
    assert view is not None and view.status == s.SUCCEEDED and view.finished is not None


def test_cancel_waiting_and_running(store: JobStore) -> None:
    waiting = new(store)
    view, changed = store.request_cancel(waiting)
    assert changed and view is not None and view.status == s.CANCELLED
    assert view.messages[-1]["description"] == "Cancel complete."
    assert store.claim(waiting) is None
    running = new(store)
    job = store.claim(running)
    assert job is not None
    view, changed = store.request_cancel(running)
    assert changed and view is not None and view.status == s.CANCELLING
    assert store.heartbeat(running, job.attempt, job.messages, None) == s.CANCELLING
    # A tool that finishes anyway still ends cancelled, never succeeded.
    assert store.finish(running, job.attempt, s.SUCCEEDED, job.messages) == s.CANCELLED
    assert store.request_cancel(running)[1] is False


def test_stale_jobs_are_requeued_once_then_failed(store: JobStore) -> None:
    job_id = new(store)
    assert store.claim(job_id) is not None
    future = utcnow() + timedelta(seconds=60)
    assert store.requeue_stale(future) == [job_id]
    view = store.get(job_id)
    assert view is not None and view.status == s.SUBMITTED
    again = store.claim(job_id)
    assert again is not None and again.attempt == 2
    assert store.requeue_stale(future) == []
    view = store.get(job_id)
    assert view is not None and view.status == s.FAILED
    assert "stopped responding" in view.messages[-1]["description"]


def test_overdue_and_purge(store: JobStore) -> None:
    job_id = new(store, limit=1)
    assert store.claim(job_id) is not None
    assert store.overdue(utcnow(), margin=5) == []
    assert store.overdue(utcnow() + timedelta(seconds=10), margin=5) == [job_id]
    view = store.get(job_id)
    assert view is not None and view.status == s.TIMED_OUT
    (store.jobs_dir / job_id).mkdir(parents=True)
    (store.jobs_dir / job_id / "out.txt").write_text("x")
    kept = new(store)
    assert store.purge(utcnow() - timedelta(hours=1)) == 0
    assert store.purge(utcnow() + timedelta(seconds=1)) == 1
    assert store.get(job_id) is None and not (store.jobs_dir / job_id).exists()
    assert store.get(kept) is not None


def test_results_are_stored_only_with_a_succeeded_outcome(store: JobStore) -> None:
    rows = [
        ResultRow("count", "GPLong", b"2"),
        ResultRow("out", "GPFeatureRecordSetLayer", b'{"features":[]}', has_z=True, count=0),
    ]
    cancelled = new(store)
    job = store.claim(cancelled)
    assert job is not None and store.request_cancel(cancelled)[1]
    assert store.finish(cancelled, job.attempt, s.SUCCEEDED, job.messages, rows) == s.CANCELLED
    assert store.results(cancelled) == []
    failed = new(store)
    job = store.claim(failed)
    assert job is not None
    assert store.finish(failed, job.attempt, s.FAILED, job.messages, rows) == s.FAILED
    assert store.results(failed) == []
    done = new(store)
    job = store.claim(done)
    assert job is not None
    assert store.finish(done, job.attempt + 1, s.SUCCEEDED, job.messages, rows) is None  # not this attempt's
    assert store.results(done) == []
    assert store.finish(done, job.attempt, s.SUCCEEDED, job.messages, rows) == s.SUCCEEDED
    assert store.results(done) == rows  # in parameter order
    one = store.result(done, "out")
    assert one == rows[1] and type(one.value) is bytes
    assert store.result(done, "nothing") is None


def test_a_large_result_reads_back_in_slices(store: JobStore) -> None:
    """``result_start`` + ``result_slice`` give back exactly the stored bytes, whatever the cut."""
    value = bytes(range(256)) * 20_000 + b"tail"  # 5,120,004 bytes, no two neighbouring slices alike
    rows = [ResultRow("out", "GPFeatureRecordSetLayer", value, has_m=True, count=7)]
    job_id = new(store)
    job = store.claim(job_id)
    assert job is not None and store.finish(job_id, job.attempt, s.SUCCEEDED, job.messages, rows) == s.SUCCEEDED
    start = store.result_start(job_id, "out", 1_000_003)
    assert start is not None and start.copy is None  # no copies asked for (copy_bytes=0)
    head, size = start.row, start.size
    assert size == len(value) and head == ResultRow("out", "GPFeatureRecordSetLayer", value[:1_000_003], False, True, 7)
    parts, at = [head.value], len(head.value)
    while at < size:
        part = store.result_slice(job_id, "out", at, 1_500_000)
        assert type(part) is bytes and 0 < len(part) <= 1_500_000
        parts.append(part)
        at += len(part)
    assert b"".join(parts) == value and len(parts) == 1 + 3  # 1,000,003 then 1.5 MB, 1.5 MB, the rest
    whole = store.result_start(job_id, "out", 10 << 20)
    assert whole is not None and whole.row.value == value and whole.size == size  # one read when it fits
    assert store.result_slice(job_id, "out", size, 10) == b""
    assert store.result_start(job_id, "nothing", 10) is None
    assert store.result_slice("j" + "0" * 32, "out", 0, 10) == b""


def test_get_async_reads_what_get_reads(store: JobStore) -> None:
    """Polls read a job's status on the event loop (PostgreSQL: an asyncio connection; SQLite: a
    worker thread): the same view as the blocking read, from any event loop."""
    job_id = new(store)
    job = store.claim(job_id)
    assert job is not None and store.finish(job_id, job.attempt, s.SUCCEEDED, [*job.messages, s.msg(s.INFO, "é")])
    for _ in range(2):  # two event loops: the second starts afresh
        view = asyncio.run(store.get_async(job_id))
        assert view == store.get(job_id) and view is not None
        assert view.status == s.SUCCEEDED and view.messages[-1]["description"] == "é"
        assert view.finished is not None and view.finished.utcoffset() == timedelta(0)
    assert asyncio.run(store.get_async("j" + "0" * 32)) is None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (psycopg URL), dropped afterwards."""
    for url in _pg_database():
        upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
        yield url


async def _statuses_around_a_server_kill(store: JobStore, job_id: str, admin_url: str) -> list[str | None]:
    import psycopg

    together = await asyncio.gather(*(store.get_async(job_id) for _ in range(4)))  # four connections kept
    seen = [v.status if (v := together[0]) else None]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None and killed[0] >= 4
    seen += [v.status if (v := await store.get_async(job_id)) else None for _ in range(3)]
    return seen


def test_get_async_replaces_a_connection_closed_by_the_server(pg_url: str, tmp_path: Path) -> None:
    """Kept asyncio connections the server closed (a restart) are replaced: the next read fails on
    none of them."""
    store = JobStore(EngineHolder(pg_url.replace("postgresql://", "postgresql+psycopg://", 1)), tmp_path)
    try:
        job_id = new(store)
        assert asyncio.run(_statuses_around_a_server_kill(store, job_id, pg_url)) == [s.SUBMITTED] * 4
    finally:
        store.dispose()


def test_large_results_are_copied_to_the_job_directory(store: JobStore) -> None:
    """Results of at least ``copy_bytes`` are written to ``<jobs_dir>/<id>/.results/`` by finish;
    ``result_start`` then names the copy and reads none of the value from the database. A copy
    without the stored length, or written by an attempt that did not succeed, is not used."""
    store.copy_bytes = 1_000
    small = ResultRow("small", "GPString", b'"x"')
    value = bytes(range(256)) * 40 + b"tail"
    big = ResultRow("out", "GPFeatureRecordSetLayer", value, has_z=True, count=3)
    job_id = new(store)
    stale = store.claim(job_id)
    assert stale is not None and store.requeue_stale(utcnow() + timedelta(seconds=1)) == [job_id]
    job = store.claim(job_id)
    assert job is not None and job.attempt == stale.attempt + 1
    assert store.finish(job_id, job.attempt, s.SUCCEEDED, job.messages, [small, big]) == s.SUCCEEDED
    other = ResultRow("out", "GPFeatureRecordSetLayer", b"y" * len(value))
    assert store.finish(job_id, stale.attempt, s.SUCCEEDED, stale.messages, [small, other]) is None  # fenced
    folder = store.jobs_dir / job_id / ".results"
    assert sorted(os.listdir(folder)) == [f"{stale.attempt}-1.json", f"{job.attempt}-1.json"]
    start = store.result_start(job_id, "out", 10)
    assert start is not None and start.copy == folder / f"{job.attempt}-1.json" and start.size == len(value)
    assert start.row == replace(big, value=b"")  # not one byte of the value from the database
    assert s.read_copy(start.copy, 0, 1 << 20) == value and s.read_copy(start.copy, 1_000, 7) == value[1_000:1_007]
    assert store.result_start(job_id, "small", 10) == s.ResultStart(small, 3)  # too small to copy

    start.copy.write_bytes(value[:-1])  # not the stored value: read from the database in slices
    start = store.result_start(job_id, "out", 10)
    assert start is not None and start.copy is None and (start.row.value, start.size) == (b"", len(value))
    assert store.result_slice(job_id, "out", 0, 1 << 20) == value

    store.copy_bytes = 0  # never
    other_job = new(store)
    job = store.claim(other_job)
    assert job is not None and store.finish(other_job, job.attempt, s.SUCCEEDED, job.messages, [big]) == s.SUCCEEDED
    assert not (store.jobs_dir / other_job).exists()
    assert s.read_copy(folder / "missing.json", 0, 10) == b""


def test_large_inputs_are_stored_while_validated_and_only_if_valid(store: JobStore) -> None:
    """Validation decides whether a job is stored. On PostgreSQL a large input's INSERT is already
    sent (in pipeline mode: the server runs it, in an open transaction) while validation runs, and
    nobody sees the row before it passes."""
    big = {"in_features": "x" * 200_000}
    seen: list[tuple[int, bool]] = []

    def check(fail: bool) -> None:
        insert_sent = False
        if store.engine.get().dialect.name == "postgresql":
            deadline = time.monotonic() + 5
            while not insert_sent and time.monotonic() < deadline:
                with store.engine.autocommit().connect() as conn:
                    insert_sent = bool(
                        conn.exec_driver_sql(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND state IN ('active', 'idle in transaction') AND query LIKE 'INSERT INTO gp_jobs%%'"
                            " AND pid <> pg_backend_pid()"
                        ).scalar()
                    )
        seen.append((store.count(), insert_sent))
        if fail:
            raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        store.create(service="Jobs", task="Buffer", inputs=big, time_limit=60, validate=lambda: check(True))
    assert store.count() == 0
    view = store.create(service="Jobs", task="Buffer", inputs=big, time_limit=60, validate=lambda: check(False))
    assert store.count() == 1 and store.inputs(view.id) == big
    pg = store.engine.get().dialect.name == "postgresql"
    assert seen == [(0, pg), (0, pg)]  # never visible while validating; sent meanwhile on PostgreSQL
    small = store.create(service="Jobs", task="Buffer", inputs={"x": "1"}, time_limit=60, validate=lambda: None)
    assert store.inputs(small.id) == {"x": "1"} and store.count() == 2


def test_the_api_store_has_a_connection_for_every_sync_worker(tmp_path: Path) -> None:
    """A large submit holds a pooled connection while it validates: the pool outgrows the threads."""
    url = "postgresql://nobody@127.0.0.1:1/none"  # never connected: engines connect on first use
    for workers, size in ((8, 10), (32, 34)):
        st = make_store(make_settings(tmp_path, sync_workers=workers, database_url=url))
        pool = st.engine.get().pool
        assert isinstance(pool, QueuePool) and pool.size() == size
        st.dispose()
    small = make_store(make_settings(tmp_path, database_url=url), pool_size=2).engine.get().pool
    assert isinstance(small, QueuePool) and small.size() == 2
