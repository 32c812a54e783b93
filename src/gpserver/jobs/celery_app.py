"""The Celery application: ids in, logic in ``run_job``, the job row is the truth.

Late acks with rejection on worker loss: a message whose worker died goes back to the queue, and a
redelivered job that is no longer waiting is a no-op (``claim`` refuses it). What keeps jobs from
getting stuck is the heartbeat sweep of the monitor, not Redis's ``visibility_timeout``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from celery.signals import worker_process_init, worker_ready, worker_shutdown
from kombu.transport import redis as kombu_redis

from gpserver.jobs.runners import RUN_JOB, CeleryRunner
from gpserver.settings import Settings


class _RedisChannel(kombu_redis.Channel):
    """kombu's Redis channel, keeping one synchronous client instead of building a ``redis.Redis``
    (and its 169-entry callback table) for every message: ~0.3 of a submit's ~0.75 ms ``send_task``
    here. The client is only a handle on the channel's thread-safe connection pool; a new pool
    (after a reconnection) gets a new client."""

    _sync_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[no-untyped-call]
        client = self._sync_client
        if client is None or client.connection_pool is not self.pool:
            client = self._sync_client = super()._create_client()  # type: ignore[no-untyped-call]
        return client


class RedisTransport(kombu_redis.Transport):
    """The ``redis://`` transport with :class:`_RedisChannel`."""

    Channel = _RedisChannel


def create_celery(settings: Settings) -> Celery:
    """The Celery app for ``settings`` (``GPSERVER_BROKER_URL`` must be set)."""
    app = Celery("gpserver", broker=settings.jobs.broker_url, set_as_current=False)
    if urlsplit(settings.jobs.broker_url or "").scheme == "redis":  # others (rediss, sentinel...) as kombu has them
        app.conf.broker_transport = f"{__name__}:RedisTransport"
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # One queue per deployment (GPSERVER_JOB_QUEUE): several can share a Redis database.
        task_default_queue=settings.jobs.job_queue,
        # A message a dead worker had received but not yet started comes back after this long
        # (Redis default: an hour). Redelivering a running or finished job is a no-op (claim refuses
        # it), so a shorter timeout costs nothing; running jobs are recovered by their heartbeat.
        broker_transport_options={"visibility_timeout": 300},
    )
    from gpserver.jobs.execution import WorkerDeps, run_job

    deps = WorkerDeps(settings)  # the engine is built on first use, i.e. after the fork

    @app.task(name=RUN_JOB)  # type: ignore[untyped-decorator]
    def run_job_task(job_id: str) -> None:
        run_job(job_id, deps)  # claims the row; a redelivered finished job is a no-op

    del run_job_task
    app.gpserver_deps = deps
    return app


def install_worker_monitor(app: Celery, settings: Settings) -> None:
    """Run the recovery monitor in the worker's main process while it is up."""
    from gpserver.jobs.service import Monitor, make_store

    holder: dict[str, Monitor] = {}

    def started(**_: Any) -> None:
        runner = CeleryRunner(app)
        monitor = Monitor(make_store(settings, pool_size=2), settings, runner)
        monitor.start()
        holder["monitor"] = monitor

    def stopping(**_: Any) -> None:
        if "monitor" in holder:
            holder["monitor"].stop()

    def child_started(**_: Any) -> None:
        app.gpserver_deps.warm()  # tools loaded and a database connection open before the first job

    worker_ready.connect(started, weak=False)
    worker_shutdown.connect(stopping, weak=False)
    worker_process_init.connect(child_started, weak=False)
