"""Helper thread pools of a process, made on first use. A forked child starts with none: it
inherits the parent's pool objects (and perhaps a held lock) but none of their threads."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_POOLS: dict[str, ThreadPoolExecutor] = {}
_LOCK = threading.Lock()


def helper_pool(name: str, size: int) -> ThreadPoolExecutor:
    """This process's pool called ``name`` (``size`` threads named ``gp-<name>``)."""
    pool = _POOLS.get(name)
    if pool is None:
        with _LOCK:
            pool = _POOLS.get(name)
            if pool is None:
                pool = _POOLS[name] = ThreadPoolExecutor(size, thread_name_prefix=f"gp-{name}")
    return pool


def _forget_after_fork() -> None:
    global _LOCK
    _LOCK = threading.Lock()
    _POOLS.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
