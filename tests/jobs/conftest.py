"""The real stack for job tests: a throwaway PostgreSQL database, a Redis DB index, Celery workers
(``python -m gpserver worker`` subprocesses in their own process group) and uvicorn servers."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from tests.conftest import PG_URL, REDIS_URL, ServerProcess, require

ROOT = Path(__file__).resolve().parents[2]
SERVICES = Path(__file__).with_name("services.yaml")
FINAL = {"esriJobSucceeded", "esriJobFailed", "esriJobTimedOut", "esriJobCancelled"}
ALLOWED = FINAL | {"esriJobSubmitted", "esriJobExecuting", "esriJobCancelling"}

# Results over this are read and sent in slices (the default is 64 MiB: tests' results are smaller).
SLICE = 1024 * 1024
# Short timings so recovery and cancellation tests finish quickly.
FAST = {
    "GPSERVER_RESULT_SLICE_BYTES": str(SLICE),
    "GPSERVER_HEARTBEAT_SECONDS": "0.5",
    "GPSERVER_STALE_SECONDS": "3",
    "GPSERVER_CANCEL_GRACE_SECONDS": "1",
}


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards)."""
    yield from _pg_database()


def _pg_database() -> Iterator[str]:
    require("PostgreSQL", PG_URL)
    name = f"gpserver_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _redis() -> str:
    """The test Redis URL. Every stack also gets its own queue (``job_queue``), so test runs that
    share the Redis database (two checkouts, CI beside a developer) never take each other's jobs."""
    require("Redis", REDIS_URL)
    return REDIS_URL


def forget_queue(url: str, queue: str) -> None:
    """Delete what kombu left in the test Redis database for ``queue``: its messages (a stopped
    worker's unacknowledged ones too) and its bindings, so test runs do not pile keys up there."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        for tag, raw in client.hscan_iter("unacked"):
            try:
                routed = orjson.loads(raw)[2]  # [message, exchange, routing key]
            except (orjson.JSONDecodeError, IndexError, TypeError):
                continue
            if routed == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


def upgrade(url: str) -> None:
    """``gpserver db upgrade`` as a user runs it."""
    subprocess.run(
        [sys.executable, "-m", "gpserver", "db", "upgrade"],
        env={**os.environ, "GPSERVER_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )


class Worker:
    """A real ``python -m gpserver worker`` in its own process group."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 2) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gpserver", "worker", f"--concurrency={concurrency}"],
            env={**os.environ, **env},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)

    def kill_group(self) -> None:
        """SIGKILL the worker and every process of its group (the pool's children too)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self._out.close()

    def stop(self) -> None:
        """Warm shutdown, then kill."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.kill_group()  # also the pool's children, if any outlived the main process


class Stack:
    """A server (and, for Celery, a worker) with a client bound to the Jobs service."""

    def __init__(self, kind: str, tmp: Path, env: dict[str, str]) -> None:
        self.kind, self.tmp, self.env = kind, tmp, env
        self.worker: Worker | None = None
        if kind == "celery":
            self.worker = Worker(env, tmp / "worker.log")
        self.server = ServerProcess(env, tmp / "server.log")
        self.http = httpx.Client(base_url=self.server.url, timeout=30)

    def restart_server(self) -> None:
        """Stop the API process and start another on the same database."""
        self.http.close()
        self.server.stop()
        self.server = ServerProcess(self.env, self.tmp / "server2.log")
        self.http = httpx.Client(base_url=self.server.url, timeout=30)

    def close(self) -> None:
        """Stop everything."""
        self.http.close()
        self.server.stop()
        if self.worker is not None:
            self.worker.stop()

    def task_url(self, task: str, service: str = "Jobs") -> str:
        """Path of a task."""
        return f"/rest/services/{service}/GPServer/{task}"

    def submit(self, task: str, service: str = "Jobs", **params: Any) -> str:
        """submitJob (POST, form-encoded); the job id."""
        body = self.http.post(self.task_url(task, service) + "/submitJob", data={**params, "f": "json"}).json()
        assert "jobId" in body, body
        assert body["jobStatus"] == "esriJobSubmitted"
        return str(body["jobId"])

    def job(self, task: str, job_id: str, service: str = "Jobs", **params: Any) -> dict[str, Any]:
        """The job resource."""
        body: dict[str, Any] = self.http.get(
            f"{self.task_url(task, service)}/jobs/{job_id}", params={"f": "json", **params}
        ).json()
        return body

    def wait(
        self, task: str, job_id: str, service: str = "Jobs", *, until: set[str] = FINAL, timeout: float = 30
    ) -> dict[str, Any]:
        """Poll (every 20 ms) until the status is in ``until``; every status seen must be one clients accept."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.job(task, job_id, service)
            assert body.get("jobStatus") in ALLOWED, body
            if body["jobStatus"] in until:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {body['jobStatus']} after {timeout}s: {body}")
            time.sleep(0.02)

    def result(self, task: str, job_id: str, param: str, service: str = "Jobs", **params: Any) -> Any:
        """A result resource."""
        return self.http.get(
            f"{self.task_url(task, service)}/jobs/{job_id}/results/{param}", params={"f": "json", **params}
        ).json()


def stack_env(kind: str, tmp: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    """Environment of the stack's processes (``extra`` overrides the defaults)."""
    env = {
        **FAST,
        "GPSERVER_SERVICES_FILE": str(SERVICES),
        "GPSERVER_DATA_DIR": str(tmp),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "GPSERVER_EMBEDDED_WORKERS": "2",
    }
    if kind == "celery":
        assert database_url is not None
        env["GPSERVER_DATABASE_URL"] = database_url
        env["GPSERVER_BROKER_URL"] = _redis()
        env["GPSERVER_JOB_QUEUE"] = f"gpserver-test-{secrets.token_hex(6)}"
    else:  # the embedded default: SQLite in the data directory, no broker
        env["GPSERVER_DATABASE_URL"] = ""
        env["GPSERVER_BROKER_URL"] = ""
    return {**env, **extra}


def make_stack(kind: str, tmp: Path, **extra: str) -> Iterator[Stack]:
    """A stack of that kind, torn down afterwards."""
    if kind == "celery":
        for url in _pg_database():
            upgrade(url)
            stack = Stack(kind, tmp, stack_env(kind, tmp, url, **extra))
            try:
                yield stack
            finally:
                stack.close()
                forget_queue(REDIS_URL, stack.env["GPSERVER_JOB_QUEUE"])
    else:
        stack = Stack(kind, tmp, stack_env(kind, tmp, None, **extra))
        try:
            yield stack
        finally:
            stack.close()


@pytest.fixture(scope="module", params=["celery", "embedded"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack per runner, shared by a module's life-cycle tests."""
    yield from make_stack(request.param, tmp_path_factory.mktemp(request.param))
