"""``run_job``: claim a job, run its tool the way ``execute`` does, store the outcome.

Nothing escapes: every failure ends the job ``esriJobFailed`` with error messages. A watchdog thread
beside the tool writes the heartbeat, messages and progress, notices a cancel request or the time
limit and tells the tool through ``ToolContext.check_cancelled``; a tool that does not stop within
``cancel_grace_seconds`` has its final state written for it, and its process is killed (the pool,
Celery's or ours, replaces it).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine

from gpserver.auth import redact
from gpserver.errors import GPServerError, JobCancelledError, JobTimedOutError, ToolExecutionError
from gpserver.gp.esri_json import gc_paused
from gpserver.gp.execution import (
    InputLimits,
    configure_limits,
    decode_inputs,
    encode_outputs,
    read_environment,
    run_tool,
)
from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPOutputs, Message, Tool, ToolContext
from gpserver.gp.types import FULL, EncodeOptions
from gpserver.inputs import resolve_inputs, resolver_for
from gpserver.jobs.store import (
    BASE_URL_KEY,
    CANCELLED,
    CANCELLING,
    EXECUTING,
    FAILED,
    SUCCEEDED,
    TIMED_OUT,
    ClaimedJob,
    JobStore,
    ResultRow,
    job_folder,
)
from gpserver.services.catalog import Catalog, load_catalog
from gpserver.settings import JobSettings, Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class WorkerDeps:
    """What a job needs in a worker process; built on first use, i.e. after the fork.

    Attributes:
        settings: all settings.
        kill_on_stop: kill this process when a tool ignores a cancel or its time limit (workers do;
            tests running jobs in-process do not).
    """

    settings: Settings
    kill_on_stop: bool = True
    _catalog: Catalog | None = field(default=None, repr=False)
    _store: JobStore | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        redact.install()  # tokens never reach a worker's log lines either
        limits = self.settings.limits
        configure_limits(InputLimits(limits.max_input_features, limits.max_vertices_per_geometry))

    @property
    def catalog(self) -> Catalog:
        """The published services."""
        if self._catalog is None:
            self._catalog = load_catalog(self.settings.storage.services_file)
        return self._catalog

    def warm(self) -> None:
        """Load the tools, and connect to the database in the background, before the first job: a
        new worker process would otherwise pay for both in its first job. (In the background: a
        Celery pool process that takes more than a few seconds to start is killed and replaced.)

        Then what is loaded is frozen out of the collector, as in the API process: a full collection
        traversed every module, tool and PROJ object of the process, 130-240 ms each here."""
        self.catalog  # noqa: B018
        engine = self.store.engine.autocommit()  # built here (no connection yet): the thread races nobody
        threading.Thread(target=_connect, args=(engine,), name="gp-db-connect", daemon=True).start()
        gc.freeze()

    @property
    def store(self) -> JobStore:
        """The job store of this process."""
        if self._store is None:
            from gpserver.jobs.service import make_store

            self._store = make_store(self.settings, pool_size=2)
        return self._store


def _connect(engine: Engine) -> None:
    try:
        with engine.connect():
            pass
    except Exception:
        log.warning("could not connect to the job database yet", exc_info=True)


def run_job(job_id: str, deps: WorkerDeps) -> None:
    """Claim and run one job; a job that is not waiting (redelivered, cancelled) is left alone."""
    job = _twice(deps.store.claim, job_id)
    if job is not None:
        execute_claimed(job, deps)


def _twice(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, once more after an error: pooled connections are not pinged before use, so
    the first statement after the database dropped a connection fails (and makes the pool reconnect).

    Only for conditional writes, which a second attempt cannot apply twice."""
    try:
        return call(*args)
    except Exception:
        log.warning("%s(%s) failed; once more", getattr(call, "__name__", call), args[0], exc_info=True)
        return call(*args)


def execute_claimed(job: ClaimedJob, deps: WorkerDeps) -> None:
    """Run a claimed job to its end state."""
    deadline = time.monotonic() + job.time_limit
    watchdog = Watchdog(deps.store, job, deps.settings.jobs, deadline, kill=deps.kill_on_stop)
    ctx = ToolContext(stop_reason=watchdog.reason, deadline=deadline)
    ctx.messages = [Message(m["type"], m["description"]) for m in job.messages]  # type: ignore[arg-type]
    watchdog.ctx = ctx
    watchdog.start()
    try:
        status, results = _run(job, deps, ctx)
    finally:
        mine = watchdog.finish_here()
    if not mine:
        return
    messages, _ = ctx.snapshot()
    try:
        final = _twice(deps.store.finish, job.id, job.attempt, status, messages, results)
    except Exception:
        log.exception("could not store the outcome of job %s", job.id)
        return
    log.info("job %s (%s/%s) ended %s", job.id, job.service, job.task, final or "elsewhere")


def timeout_message(limit: float) -> str:
    """The error message of a timed-out job."""
    return f"The job exceeded its time limit of {limit:g} seconds."


def _run(job: ClaimedJob, deps: WorkerDeps, ctx: ToolContext) -> tuple[str, list[ResultRow]]:
    try:
        _, tool = deps.catalog.service(job.service).task(job.task)
        env, opts = read_environment(job.inputs)
        ctx.env = env
        work = deps.store.jobs_dir / job.id
        resolver = resolver_for(deps.settings, job.service, work / "in")
        try:  # URL and itemID inputs, exactly as execute resolves them
            raw = resolve_inputs(tool, job.inputs, resolver=resolver)
        finally:
            resolver.close()
        ctx.output_dir = work / "scratch"
        base = str(job.inputs.get(BASE_URL_KEY, ""))
        folder = f"{base}/rest/directories/arcgisjobs/{job_folder(job.service)}/{job.id}/scratch"
        encode = replace(FULL, out_sr=opts.out_sr, file_url=lambda path: f"{folder}/{path.name}")
        with gc_paused():  # as in execute: request data, not cyclic garbage
            inputs = decode_inputs(tool, raw)
            outputs = run_tool(tool, inputs, ctx)
            return SUCCEEDED, encode_results(tool, outputs, encode)
    except JobCancelledError:
        return CANCELLED, []
    except JobTimedOutError:
        ctx.error(timeout_message(job.time_limit))
        return TIMED_OUT, []
    except ToolExecutionError:
        return FAILED, []  # run_tool wrote the error messages
    except GPServerError as exc:  # inputs that no longer decode, a task no longer published
        ctx.error(exc.message)
        for line in exc.details:
            ctx.error(line)
        ctx.error(f"Failed to execute ({job.task}).")
        return FAILED, []
    except Exception:
        log.exception("job %s failed unexpectedly", job.id)
        ctx.error("ERROR 999999: Something unexpected caused the tool to fail.")
        ctx.error(f"Failed to execute ({job.task}).")
        return FAILED, []


def encode_results(tool: type[Tool[Any, Any]], outputs: GPOutputs, opts: EncodeOptions) -> list[ResultRow]:
    """Every output encoded once (the same ``encode_outputs`` as execute), as JSON bytes, with what a
    result request must know."""
    rows = []
    for entry in encode_outputs(tool, outputs, opts):
        value = getattr(outputs, entry["paramName"])
        data = orjson.dumps(entry["value"], option=orjson.OPT_SERIALIZE_NUMPY)
        if isinstance(value, FeatureSet):
            rows.append(ResultRow(entry["paramName"], entry["dataType"], data, value.has_z, value.has_m, len(value)))
        else:
            rows.append(ResultRow(entry["paramName"], entry["dataType"], data))
    return rows


class Watchdog:
    """Heartbeat, cancel and time limit of one running job, beside the tool's thread.

    The work is done by the process's ``WatchdogClock`` thread (one for every job of the process):
    starting a job costs no thread start, ending it no join.
    """

    def __init__(self, store: JobStore, job: ClaimedJob, settings: JobSettings, deadline: float, *, kill: bool) -> None:
        self.store, self.job, self.settings, self.deadline, self.kill = store, job, settings, deadline, kill
        self.ctx: ToolContext | None = None
        self._lock = threading.Lock()
        self._done = False  # the tool's thread ends the job
        self._ended = False  # this watchdog ended the job
        self._reason: str | None = None
        self._next_beat = time.monotonic() + settings.heartbeat_seconds
        self._kill_at: float | None = None
        self._final: str | None = None

    def reason(self) -> str | None:
        """Why the tool should stop: ``cancelled``, ``timed_out`` or ``None``."""
        return self._reason

    def start(self) -> None:
        """Start watching (the first heartbeat is due ``heartbeat_seconds`` from now)."""
        CLOCK.add(self)

    def finish_here(self) -> bool:
        """Called by the tool's thread when the tool returned: True if it may write the outcome."""
        with self._lock:
            self._done = True
            mine = not self._ended
        CLOCK.discard(self)
        return mine

    def due(self) -> float:
        """When ``tick`` has something to do next (monotonic time)."""
        return min(self._next_beat, self._kill_at if self._kill_at is not None else self.deadline)

    def tick(self, now: float) -> bool:
        """Beat when due; stop the tool when asked or late; end the job when it will not stop.

        False once there is nothing more to watch."""
        if self._done:
            return False
        if self._reason is None and now >= self.deadline:
            self._reason, self._final, self._kill_at = "timed_out", TIMED_OUT, now + self.settings.cancel_grace_seconds
        if now >= self._next_beat:
            self._next_beat = now + self.settings.heartbeat_seconds
            status = self._beat()
            if self._done:
                return False
            if status is None and self._reason is None:
                # Someone else ended or re-queued this attempt: stop, write nothing.
                self._reason, self._final = "cancelled", None
                self._kill_at = now + self.settings.cancel_grace_seconds
            elif status == CANCELLING and self._reason is None:
                self._reason, self._final = "cancelled", CANCELLED
                self._kill_at = now + self.settings.cancel_grace_seconds
        if self._kill_at is not None and now >= self._kill_at:
            self._end(self._final)
            return False
        return True

    def _beat(self) -> str | None:
        assert self.ctx is not None
        messages, progress = self.ctx.snapshot()
        try:
            return self.store.heartbeat(self.job.id, self.job.attempt, messages, progress)
        except Exception:
            log.exception("heartbeat of job %s failed", self.job.id)
            return EXECUTING  # unknown: keep going

    def _end(self, final: str | None) -> None:
        """The tool ignored the stop: write its final state, then end this process."""
        with self._lock:
            if self._done:
                return
            self._ended = True
            if final is not None and self.ctx is not None:
                if final == TIMED_OUT:
                    self.ctx.error(timeout_message(self.job.time_limit))
                messages, _ = self.ctx.snapshot()
                try:
                    self.store.finish(self.job.id, self.job.attempt, final, messages)
                except Exception:
                    log.exception("could not end job %s", self.job.id)
            log.warning(
                "job %s did not stop within %ss; ending its process", self.job.id, self.settings.cancel_grace_seconds
            )
            if self.kill:
                os.kill(os.getpid(), signal.SIGKILL)


class WatchdogClock:
    """The one thread of a process that runs the watchdogs of its jobs, started on first use.

    It sleeps until the earliest watchdog is due. Adding a watchdog wakes it only when that one is
    due before the thread would wake anyway; an idle thread looks every ``IDLE`` seconds, so a job
    whose first heartbeat is at least that far away starts without waking it.
    """

    IDLE = 1.0

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._dogs: set[Watchdog] = set()
        self._wake_at = 0.0  # when the thread looks next; 0: it is looking now
        self._thread: threading.Thread | None = None

    def add(self, dog: Watchdog) -> None:
        """Watch ``dog`` until its ``tick`` returns False or it is discarded."""
        if self._pid != os.getpid():
            self._reset()  # a fork: the parent's thread (and maybe its lock holder) did not come along
        with self._cond:
            self._dogs.add(dog)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gp-watchdog", daemon=True)
                self._thread.start()
            elif dog.due() < self._wake_at:
                self._cond.notify()

    def discard(self, dog: Watchdog) -> None:
        """Stop watching ``dog`` (the thread is not woken: it finds out when it looks)."""
        with self._cond:
            self._dogs.discard(dog)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [d for d in self._dogs if d.due() <= now]
                if not due:
                    self._wake_at = min((d.due() for d in self._dogs), default=now + self.IDLE)
                    self._cond.wait(self._wake_at - now)
                    self._wake_at = 0.0
                    continue
            for dog in due:
                try:
                    watching = dog.tick(now)
                except Exception:  # a bug: stop watching rather than spin (the monitor is the fallback)
                    log.exception("watchdog of job %s", dog.job.id)
                    watching = False
                if not watching:
                    self.discard(dog)


CLOCK = WatchdogClock()
