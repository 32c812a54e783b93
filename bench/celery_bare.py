"""A bare Celery app on local Redis: the round-trip floor for scenario 3 (no gpserver involved)."""

from __future__ import annotations

import os

from celery import Celery

URL = os.environ.get("BENCH_CELERY_URL", "redis://127.0.0.1:6379/14")
app = Celery("benchbare", broker=URL, backend=URL)
app.conf.update(task_default_queue="benchbare", worker_prefetch_multiplier=1, result_expires=600)


@app.task(name="benchbare.noop")  # type: ignore[untyped-decorator]
def noop(x: int) -> int:
    return x
