"""The watchdog of a running job: heartbeats, cancel and time limit, all on one thread per process."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from gpserver.gp.tool import ToolContext
from gpserver.jobs import store as s
from gpserver.jobs.execution import Watchdog, WorkerDeps
from gpserver.jobs.store import ClaimedJob, JobStore, ResultRow
from gpserver.settings import JobSettings, Settings


class FakeStore:
    """Records what a watchdog writes; heartbeats answer ``status``."""

    def __init__(self, status: str = s.EXECUTING) -> None:
        self.status = status
        self.beats: list[float] = []
        self.finished: list[str] = []

    def heartbeat(self, job_id: str, attempt: int, messages: list[Any], progress: Any) -> str | None:
        self.beats.append(time.monotonic())
        return self.status

    def finish(
        self, job_id: str, attempt: int, status: str, messages: list[Any], results: Sequence[ResultRow] = ()
    ) -> str:
        self.finished.append(status)
        return status


def watch(store: FakeStore, *, limit: float = 60.0, beat: float = 0.05, grace: float = 0.1) -> Watchdog:
    job = ClaimedJob("j" + "0" * 32, "Jobs", "Sleep", {}, [], limit, 1)
    settings = JobSettings(heartbeat_seconds=beat, cancel_grace_seconds=grace)
    dog = Watchdog(cast(JobStore, store), job, settings, time.monotonic() + limit, kill=False)
    dog.ctx = ToolContext(stop_reason=dog.reason)
    dog.start()
    return dog


def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_heartbeats_while_the_tool_runs_and_none_after() -> None:
    store = FakeStore()
    dog = watch(store)
    until(lambda: len(store.beats) >= 3)
    assert dog.finish_here() is True  # the tool's thread writes the outcome
    time.sleep(0.06)  # a beat in progress may still land
    beats = len(store.beats)
    time.sleep(0.2)
    assert len(store.beats) == beats and store.finished == []


def test_a_cancel_request_stops_the_tool_then_ends_a_job_that_ignores_it() -> None:
    store = FakeStore(s.CANCELLING)
    dog = watch(store)
    until(lambda: dog.reason() == "cancelled")
    until(lambda: store.finished == [s.CANCELLED])
    assert dog.finish_here() is False  # the watchdog wrote the outcome: the tool's thread must not


def test_a_time_limit_shorter_than_the_heartbeat_is_kept() -> None:
    store = FakeStore()
    started = time.monotonic()
    dog = watch(store, limit=0.1, beat=30.0)
    until(lambda: dog.reason() == "timed_out")
    assert time.monotonic() - started < 0.5
    until(lambda: store.finished == [s.TIMED_OUT])
    assert store.beats == []
    assert dog.ctx is not None and "time limit" in dog.ctx.snapshot()[0][-1]["description"]


def test_one_thread_watches_every_job_of_a_process() -> None:
    stores = [FakeStore() for _ in range(5)]
    dogs = [watch(store) for store in stores]
    until(lambda: all(len(store.beats) >= 2 for store in stores))
    assert [t.name for t in threading.enumerate()].count("gp-watchdog") == 1
    assert all(dog.finish_here() for dog in dogs)


def test_a_warmed_worker_keeps_its_start_up_objects_out_of_full_collections(settings: Settings) -> None:
    """Worker processes freeze what they loaded once warm, as the API does: a full collection in a
    worker with geopandas and the tools loaded traversed all of it (130-240 ms each)."""
    gc.unfreeze()
    deps = WorkerDeps(settings)
    try:
        deps.warm()
        assert gc.get_freeze_count() > 10_000  # the modules, the tools, the engine
        assert deps.catalog.service("SampleAsync") is not None
    finally:
        gc.unfreeze()
        if deps._store is not None:
            deps._store.dispose()
