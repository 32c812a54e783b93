"""``helper_pool``: one pool per name and process; a forked child makes its own."""

from __future__ import annotations

import os
import threading

from gpserver.threads import helper_pool


def test_one_pool_per_name_and_a_working_one_in_a_forked_child() -> None:
    pool = helper_pool("test", 1)
    assert helper_pool("test", 1) is pool and helper_pool("other-test", 1) is not pool
    assert pool.submit(lambda: threading.current_thread().name).result(5).startswith("gp-test")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool has no thread here
        try:
            child = helper_pool("test", 1)
            ok = child is not pool and child.submit(lambda: 42).result(5) == 42
            os.write(write, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok"
    os.close(read)
