"""Helper thread pools of a process, made on first use (and made again in a forked child, which
inherits the parent's pool objects but none of their threads)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_POOLS: dict[tuple[int, str], ThreadPoolExecutor] = {}
_LOCK = threading.Lock()


def helper_pool(name: str, size: int) -> ThreadPoolExecutor:
    """This process's pool called ``name`` (``size`` threads named ``gp-<name>``)."""
    key = (os.getpid(), name)
    pool = _POOLS.get(key)
    if pool is None:
        with _LOCK:
            pool = _POOLS.get(key) or _POOLS.setdefault(key, ThreadPoolExecutor(size, thread_name_prefix=f"gp-{name}"))
    return pool
