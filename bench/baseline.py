"""The in-process baseline, as a long-lived process driven over stdin/stdout (``python -m bench.baseline``).

Commands (one JSON object a line): ``{"tool": "buffer", "body_file": "...", "variant": "form" | "json"}``.
``form`` runs the whole pipeline from the form body; ``json`` feeds the same pipeline the plain JSON
strings (no form decoding). Answers ``{"seconds": ..., "out_bytes": ..., "decode_seconds": ...,
"server_decode_seconds": ..., "decoded_text_bytes": ..., "decoded_objects_bytes": ..., "peak_rss": ...,
"idle_rss": ...}`` (decoder times and decoded sizes on ``"decoders": true`` only). The body is read before the
clock starts; the clock stops when the response bytes exist.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path

import orjson

from bench import memory
from bench.pipeline import parse_form, run_form, run_params


def decoded_sizes(body: bytes) -> dict[str, int]:
    """The request's decoded data: the percent-decoded text, and the Python objects its JSON values
    parse into (traced allocations; a feature set is about eight times its text)."""
    values = parse_form(body)
    tracemalloc.start()
    parsed = [orjson.loads(v) for v in values.values() if v[:1] in ("{", "[")]
    objects, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del parsed
    return {"decoded_text_bytes": sum(len(v) for v in values.values()), "decoded_objects_bytes": objects}


def main() -> None:
    from gpserver.api.params import parse_form as server_parse_form

    cache: dict[str, bytes] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        path = cmd["body_file"]
        body = cache.get(path) or Path(path).read_bytes()
        cache = {path: body}
        gc.collect()
        idle = memory.rss()
        memory.reset_peak()
        if cmd.get("variant") == "json":
            params = {k: v for k, v in parse_form(body).items()}  # the plain JSON strings
            t0 = time.perf_counter()
            out = run_params(cmd["tool"], params)
            seconds = time.perf_counter() - t0
            del params
        else:
            t0 = time.perf_counter()
            out = run_form(cmd["tool"], body)
            seconds = time.perf_counter() - t0
        peak = memory.peak_rss()
        result = {"seconds": seconds, "out_bytes": len(out), "idle_rss": idle, "peak_rss": peak}
        del out
        if cmd.get("decoders"):  # compare our form decoder with the server's on this body
            t0 = time.perf_counter()
            parse_form(body)
            result["decode_seconds"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            server_parse_form(body)
            result["server_decode_seconds"] = time.perf_counter() - t0
            result.update(decoded_sizes(body))
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
