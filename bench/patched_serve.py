"""``gpserver serve`` with candidate changes monkeypatched in, to measure them before anyone edits src/.

``GPBENCH_PATCHES`` (comma-separated) picks them:

* ``gc``: pause the cyclic garbage collector around decode + run + encode of a request.
* ``inline``: run small executes (parameters under 64 KiB) on the event loop instead of a thread.
* ``freeze``: ``gc.freeze()`` once at start-up (the imported world leaves the collector's generations).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import Any

import anyio

import gpserver.api.gpserver as gp_api
from gpserver.cli import main

PATCHES = set(filter(None, os.environ.get("GPBENCH_PATCHES", "").split(",")))

if "gc" in PATCHES:
    _invoke = getattr(gp_api, "invoke")  # noqa: B009

    def _invoke_gc_paused(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return _invoke(*args, **kwargs)
        gc.disable()
        try:
            return _invoke(*args, **kwargs)
        finally:
            gc.enable()

    setattr(gp_api, "invoke", _invoke_gc_paused)  # noqa: B010

if "inline" in PATCHES:

    def _size(fn: Any) -> int:
        params = next((a for a in getattr(fn, "args", ()) if isinstance(a, dict)), {})
        return sum(len(v) for v in params.values() if isinstance(v, str))

    class _ToThread:
        @staticmethod
        async def run_sync(fn: Callable[[], Any], *, limiter: Any = None) -> Any:
            if _size(fn) < 64 * 1024:
                return fn()
            return await anyio.to_thread.run_sync(fn, limiter=limiter)

    class _AnyIO:
        to_thread = _ToThread

    setattr(gp_api, "anyio", _AnyIO)  # noqa: B010

if "freeze" in PATCHES:
    import gpserver.app  # noqa: F401  (import the world first)

    gc.collect()
    gc.freeze()

if __name__ == "__main__":
    sys.argv = ["gpserver", "serve"]
    main()
