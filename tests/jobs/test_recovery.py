"""Recovery: a worker killed mid-job, and API processes restarted, lose nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.conftest import Stack, Worker, make_stack

pytestmark = pytest.mark.slow


@pytest.fixture
def celery_stack(tmp_path: Path) -> Iterator[Stack]:
    """A Celery stack of its own (its own database)."""
    yield from make_stack("celery", tmp_path)


def test_sigkill_of_the_worker_group_mid_job_then_a_new_worker(celery_stack: Stack, tmp_path: Path) -> None:
    stack = celery_stack
    running = [stack.submit("Sleep", seconds="3") for _ in range(2)]
    for job_id in running:
        stack.wait("Sleep", job_id, until={"esriJobExecuting"})
    assert stack.worker is not None
    stack.worker.kill_group()
    killed_at = time.monotonic()
    queued = [stack.submit("Square", x=str(i)) for i in range(3)]  # submitted while no worker runs
    stack.worker = Worker(stack.env, tmp_path / "worker-2.log")
    for job_id in running:
        body = stack.wait("Sleep", job_id, timeout=120)
        assert body["jobStatus"] == "esriJobSucceeded"
        assert any("stopped responding" in m["description"] for m in body["messages"])
        assert stack.result("Sleep", job_id, "slept")["value"] >= 3
    for i, job_id in enumerate(queued):
        assert stack.wait("Square", job_id, timeout=60)["jobStatus"] == "esriJobSucceeded"
        assert stack.result("Square", job_id, "square")["value"] == i * i
    assert time.monotonic() - killed_at < 60


@pytest.mark.parametrize("kind", ["celery", "embedded"])
def test_jobs_and_results_survive_an_api_restart(kind: str, tmp_path: Path) -> None:
    for stack in make_stack(kind, tmp_path):
        done = stack.submit("Square", x="12")
        assert stack.wait("Square", done)["jobStatus"] == "esriJobSucceeded"
        failed = stack.submit("Fail")
        assert stack.wait("Fail", failed)["jobStatus"] == "esriJobFailed"
        before = stack.job("Square", done)
        stack.restart_server()
        assert stack.job("Square", done) == before
        assert stack.result("Square", done, "square")["value"] == 144
        assert stack.job("Fail", failed)["jobStatus"] == "esriJobFailed"
        # New jobs run after the restart too.
        assert stack.wait("Square", stack.submit("Square", x="2"))["jobStatus"] == "esriJobSucceeded"
