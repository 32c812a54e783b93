"""The Celery app's broker: kombu's Redis transport with one synchronous client per channel."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

import redis

from gpserver.jobs.celery_app import RedisTransport, create_celery
from gpserver.jobs.runners import RUN_JOB, CeleryRunner
from tests.conftest import REDIS_URL, make_settings, require


def test_redis_messages_share_one_client_and_all_arrive(tmp_path: Path) -> None:
    url = require("Redis", REDIS_URL)
    queue = f"gp-test-{uuid4().hex}"
    app = create_celery(make_settings(tmp_path, broker_url=url, job_queue=queue))
    queued = redis.Redis.from_url(url)
    try:
        with app.producer_or_acquire() as producer:
            assert isinstance(producer.connection.transport, RedisTransport)
            channel = producer.channel
            assert channel._create_client() is channel._create_client()
            assert channel._create_client(asynchronous=True) is not channel._create_client()
        ids = [f"j{uuid4().hex}" for _ in range(3)]
        for job_id in ids:  # as the API queues a job: nothing declared, the queue never declared here
            CeleryRunner(app).submit(job_id)
        assert queued.llen(queue) == 3
        bodies = [json.loads(m) for m in reversed(queued.lrange(queue, 0, -1))]
        assert [(b["headers"]["task"], b["headers"]["id"]) for b in bodies] == [(RUN_JOB, i) for i in ids]
    finally:
        queued.delete(queue)
        app.close()


def test_other_broker_schemes_keep_kombus_transports(tmp_path: Path) -> None:
    for url in ("rediss://127.0.0.1:6380/0", "sentinel://127.0.0.1:26379"):
        app = create_celery(make_settings(tmp_path, broker_url=url))
        assert app.conf.broker_transport is None
