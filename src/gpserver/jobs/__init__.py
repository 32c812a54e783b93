"""Asynchronous jobs: the store (the truth), the run path, the runners (embedded pool, Celery)."""
