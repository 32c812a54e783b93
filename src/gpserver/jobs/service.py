"""The jobs machinery of one process: store, runner and the recovery monitor, built from settings."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from gpserver.db.migrate import ensure_schema
from gpserver.db.session import EngineHolder
from gpserver.errors import GPServerError
from gpserver.jobs.runners import CeleryRunner, EmbeddedRunner, Runner
from gpserver.jobs.store import JobStore, JobView, utcnow
from gpserver.settings import Settings

log = logging.getLogger(__name__)


def make_store(settings: Settings, *, pool_size: int | None = None) -> JobStore:
    """A job store on the configured database (nothing is connected yet). By default its pool has
    a connection for each synchronous worker thread and more: a large submit holds one while its
    inputs are validated (``JobStore.create``)."""
    size = pool_size if pool_size is not None else max(10, settings.api.sync_workers + 2)
    engine = EngineHolder(settings.storage.resolved_database_url(), pool_size=size)
    return JobStore(engine, jobs_dir(settings), copy_bytes=settings.jobs.result_copy_bytes)


def jobs_dir(settings: Settings) -> Path:
    """Where jobs keep their files: ``<data_dir>/jobs/<jobId>/``."""
    return settings.storage.data_dir / "jobs"


class Monitor:
    """Recovery and retention, in every API process and every Celery worker's main process.

    Every few seconds: running jobs whose heartbeat is stale are re-queued once, then failed; jobs
    past their time limit (or cancel) whose own process did not end them are ended and their
    process killed; finished jobs older than the retention age are deleted. All by conditional
    updates, so several monitors never both act on one job. There is no start-up sweep: other
    processes' jobs may be alive.
    """

    def __init__(self, store: JobStore, settings: Settings, runner: Runner) -> None:
        self.store, self.settings, self.runner = store, settings, runner
        jobs = settings.jobs
        self.interval = max(0.2, min(5.0, jobs.stale_seconds / 3))
        # The job's own watchdog ends it at limit + grace (+ a heartbeat); this is the fallback.
        self.margin = jobs.cancel_grace_seconds + 2 * jobs.heartbeat_seconds + 2
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_purge = 0.0

    def start(self) -> None:
        """Start the monitor thread."""
        self._thread = threading.Thread(target=self._loop, name="gp-job-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:
                log.exception("job monitor")

    def tick(self) -> None:
        """One pass."""
        now = utcnow()
        for job_id in self.store.requeue_stale(now - timedelta(seconds=self.settings.jobs.stale_seconds)):
            self.runner.submit(job_id)
        for job_id in self.store.overdue(now, self.margin):
            self.runner.terminate(job_id)
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + 60
            purged = self.store.purge(now - timedelta(hours=self.settings.jobs.retention_hours))
            if purged:
                log.info("deleted %d finished jobs older than %g hours", purged, self.settings.jobs.retention_hours)


class Jobs:
    """Store + runner + monitor of an API process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = make_store(settings)
        ensure_schema(self.store.engine.get())  # SQLite upgrades itself; PostgreSQL must be current
        self.runner: Runner
        if settings.jobs.broker_url:
            from gpserver.jobs.celery_app import create_celery

            self.runner = CeleryRunner(create_celery(settings))
        else:
            self.runner = EmbeddedRunner(settings)
        self.monitor = Monitor(self.store, settings, self.runner)
        self.monitor.start()
        self.runner.start()  # the embedded pool starts in the background (and claims waiting jobs)

    def submit(
        self,
        *,
        service: str,
        task: str,
        inputs: dict[str, Any],
        time_limit: float,
        owner: str | None = None,
        validate: Callable[[], None] | None = None,
    ) -> JobView:
        """Store a new job and queue it (blocking: one call, so one trip off the event loop).

        ``validate`` decides whether it is stored at all (see ``JobStore.create``). The row is
        committed before the message is sent, so a worker never looks for a missing row; a job that
        could not be queued ends failed and ``GPServerError`` is raised."""
        view = self.store.create(
            service=service, task=task, inputs=inputs, time_limit=time_limit, owner=owner, validate=validate
        )
        try:
            self.runner.submit(view.id)
        except Exception as exc:
            log.exception("could not queue job %s", view.id)
            self.store.fail_submitted(view.id, "The job could not be queued.")
            raise GPServerError("Unable to complete operation.", details=["The job could not be queued."]) from exc
        return view

    def close(self) -> None:
        """Stop the monitor and the runner; close connections."""
        self.monitor.stop()
        self.runner.close()
        self.store.dispose()


class LazyJobs:
    """Builds ``Jobs`` on first use, so an app that never sees a job never touches a database.

    ``start_if_needed`` builds at once when there may be work to recover: a PostgreSQL database,
    a broker, or an existing SQLite file.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jobs: Jobs | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """True once built."""
        return self._jobs is not None

    def get(self) -> Jobs:
        """The jobs machinery, built once."""
        if self._jobs is None:
            with self._lock:
                if self._jobs is None:
                    self._jobs = Jobs(self.settings)
        return self._jobs

    def start_if_needed(self) -> None:
        """Build now unless this is a fresh embedded SQLite default."""
        url = make_url(self.settings.storage.resolved_database_url())
        fresh_sqlite = url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists())
        if self.settings.jobs.broker_url or not fresh_sqlite:
            self.get()

    def close(self) -> None:
        """Close what was built."""
        with self._lock:
            if self._jobs is not None:
                self._jobs.close()
                self._jobs = None
