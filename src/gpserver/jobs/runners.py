"""Where submitted jobs run. Runners know nothing of HTTP or of tools; the job row is the truth.

* ``EmbeddedRunner`` (no broker configured): worker *processes* (from a fork server) that the API
  process supervises,
  so a tool stuck in code that never checks for cancellation can be killed and its process
  replaced. The queue is the job table itself: a worker claims the oldest submitted job, and a
  semaphore wakes idle workers on submit. Nothing is lost when the API process restarts, and a
  killed worker cannot corrupt a shared queue.
* ``CeleryRunner`` (``GPSERVER_BROKER_URL``): one Celery message per job, carrying only its id.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.context import ForkServerProcess
from multiprocessing.sharedctypes import SynchronizedString
from typing import Any, Protocol

from gpserver.settings import Settings

log = logging.getLogger(__name__)


PRELOAD = ["gpserver.jobs.execution", "gpserver.tools.registry", "geopandas", "shapely", "pyproj", "sqlalchemy"]


class Runner(Protocol):
    """Where submitted jobs run."""

    def submit(self, job_id: str) -> None:
        """Queue a committed job."""

    def terminate(self, job_id: str) -> None:
        """Kill the process running a job (the fallback when the job could not stop itself)."""

    def start(self) -> None:
        """Get ready to run jobs."""

    def close(self) -> None:
        """Stop; running jobs are recovered by the heartbeat sweep."""


class EmbeddedRunner:
    """A supervised pool of worker processes in the API process."""

    def __init__(self, settings: Settings, workers: int | None = None) -> None:
        self.settings = settings
        self.size = workers or settings.jobs.embedded_workers
        # A fork server (a clean, single-threaded process that imported the heavy modules once)
        # starts and replaces workers quickly; forking the threaded API process itself is unsafe.
        self._mp = multiprocessing.get_context("forkserver")
        self._mp.set_forkserver_preload(PRELOAD)
        self._wake = self._mp.Semaphore(0)
        self._slots: list[SynchronizedString] = [self._mp.Array("c", 40) for _ in range(self.size)]  # type: ignore[misc]
        self._procs: list[ForkServerProcess | None] = [None] * self.size
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self) -> None:
        """Start the supervisor, which starts the workers (once; returns at once)."""
        with self._lock:
            if self._supervisor is not None or self._closing.is_set():
                return
            self._supervisor = threading.Thread(target=self._supervise, name="gp-pool-supervisor", daemon=True)
            self._supervisor.start()

    def _spawn(self, i: int) -> None:
        self._slots[i].value = b""
        proc = self._mp.Process(
            target=worker_main,
            args=(self.settings, self._wake, self._slots[i]),
            name=f"gp-job-worker-{i}",
            daemon=True,
        )
        proc.start()
        self._procs[i] = proc

    def _supervise(self) -> None:
        with self._lock:
            for i in range(self.size):
                if not self._closing.is_set():
                    self._spawn(i)
        while not self._closing.wait(0.2):
            with self._lock:
                for i, proc in enumerate(self._procs):
                    if proc is not None and not proc.is_alive() and not self._closing.is_set():
                        proc.join(0)
                        log.warning("job worker %s ended (exit code %s); starting another", proc.name, proc.exitcode)
                        self._spawn(i)
                        self._wake.release()  # it may have left submitted jobs behind

    def submit(self, job_id: str) -> None:
        """Wake a worker: it claims the oldest submitted job."""
        self.start()
        self._wake.release()

    def terminate(self, job_id: str) -> None:
        """Kill the worker running ``job_id``; the supervisor replaces it."""
        for slot, proc in zip(self._slots, self._procs, strict=True):
            if proc is not None and proc.pid is not None and slot.value.decode() == job_id:
                log.warning("killing job worker %s running %s", proc.name, job_id)
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        """Stop the workers (running jobs are recovered later through their stale heartbeat)."""
        self._closing.set()
        if self._supervisor is not None:
            self._supervisor.join(2)
        with self._lock:
            for proc in self._procs:
                if proc is not None and proc.is_alive():
                    proc.terminate()
            for proc in self._procs:
                if proc is not None:
                    proc.join(3)
                    if proc.is_alive():
                        proc.kill()
                        proc.join(3)


def worker_main(settings: Settings, wake: Any, slot: SynchronizedString) -> None:
    """An embedded worker process: claim submitted jobs and run them until the parent goes away."""
    from gpserver.jobs.execution import WorkerDeps, execute_claimed

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(processName)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    parent = multiprocessing.parent_process()  # the API process (not the fork server)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the API process, which stops us
    deps = WorkerDeps(settings)
    deps.warm()  # tools loaded and a database connection open before the first job
    store = deps.store
    while parent is None or parent.is_alive():
        woke = wake.acquire(timeout=1.0)
        try:
            if not woke and not store.has_submitted():
                continue
            while (job := store.claim_next()) is not None:
                slot.value = job.id.encode()
                execute_claimed(job, deps)
                slot.value = b""
        except Exception:
            log.exception("job worker loop")
            time.sleep(1)


RUN_JOB = "gpserver.run_job"


class CeleryRunner:
    """Jobs as Celery messages carrying only the job id (the task id is the job id)."""

    def __init__(self, celery: Any) -> None:
        self.celery = celery

    def start(self) -> None:
        """Connect to the broker in the background (workers are separate processes): the first
        submit would otherwise pay for the connection, ~50 ms."""
        threading.Thread(target=self._connect, name="gp-broker-connect", daemon=True).start()

    def _connect(self) -> None:
        try:
            with self.celery.producer_or_acquire() as producer:
                producer.connection.ensure_connection(max_retries=1)
                producer.channel  # noqa: B018 - opens the channel (the transport's client)
        except Exception:
            log.warning("could not connect to the broker yet; the first submit will try again", exc_info=True)

    def submit(self, job_id: str) -> None:
        """Send the job's id to the broker."""
        # The reprs given, not computed (Celery's saferepr walks the arguments for its logs); no
        # parent task to look up (a submit is never sent from inside a task); nothing declared
        # (~0.1 ms of CPU a submit): Celery sends to its direct default exchange as to the nameless
        # one, which every transport delivers to the queue of that name without a binding.
        self.celery.send_task(
            RUN_JOB,
            args=[job_id],
            task_id=job_id,
            argsrepr=f"['{job_id}']",
            kwargsrepr="{}",
            add_to_parent=False,
            declare=[],
        )

    def terminate(self, job_id: str) -> None:
        """Ask the worker running the job to kill its process."""
        self.celery.control.revoke(job_id, terminate=True, signal="SIGKILL")

    def close(self) -> None:
        """Release broker connections."""
        self.celery.close()
