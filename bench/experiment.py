"""Measure candidate changes to files the bench may not edit: ``python -m bench.experiment [PATCHES]``.

Starts gpserver twice, as is and with ``bench/patched_serve.py`` patches (default ``gc,inline``),
and interleaves the same requests on both: the 1-point buffer at concurrency 8 and single
10,000 / 100,000-point Buffer and Project executes. Prints medians and ratios patched / as-is.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench import payloads, procs
from bench.stats import median, ms, pct, ratios

FORM = "application/x-www-form-urlencoded"


def main() -> None:
    patches = sys.argv[1] if len(sys.argv) > 1 else "gc,inline"
    tmp = Path(tempfile.mkdtemp(prefix="gpbench-exp-"))
    base = procs.gpserver(tmp)
    port = procs.free_port()
    env = {
        "GPSERVER_SERVICES_FILE": str(procs.ROOT / "bench" / "services.yaml"),
        "GPSERVER_DATA_DIR": str(tmp / "patched"),
        "GPSERVER_MAX_REQUEST_BYTES": str(512 * 1024 * 1024),
        "GPSERVER_HOST": "127.0.0.1",
        "GPSERVER_PORT": str(port),
        "GPBENCH_PATCHES": patches,
    }
    argv = [procs.PY, "-m", "bench.patched_serve"]
    patched = procs.Server("patched", argv, env, port, "/rest/info?f=json", tmp / "patched.log")
    load = procs.Worker("bench.loadgen")
    bodies = {}
    for tool, n in (("buffer", 1), ("buffer", 10_000), ("project", 10_000), ("project", 100_000)):
        bodies[(tool, n)] = tmp / f"{tool}-{n}"
        bodies[(tool, n)].write_bytes(payloads.body(tool, n))
    print(f"patches: {patches}")
    try:

        def hit(server: procs.Server, tool: str, n: int, **kw: object) -> dict[str, object]:
            url = f"{server.url}/rest/services/BenchSync/GPServer/{tool.capitalize()}/execute"
            return load.call({"url": url, "body_file": str(bodies[(tool, n)]), "content_type": FORM, **kw})

        rps: dict[str, list[float]] = {"base": [], "patched": []}
        lat: dict[str, list[float]] = {"base": [], "patched": []}
        for _ in range(4):
            for name, server in (("base", base), ("patched", patched)):
                res = hit(server, "buffer", 1, concurrency=8, requests=800, warmup=16)
                rps[name].append(float(res["rps"]))  # type: ignore[arg-type]
                lat[name].extend(res["latencies"])  # type: ignore[arg-type]
        for name in rps:
            p50, p99 = ms(pct(lat[name], 50)), ms(pct(lat[name], 99))
            print(f"1-point c=8 {name}: {median(rps[name]):.0f} req/s, p50 {p50} p99 {p99}")
        print(f"1-point c=8 patched / base req/s: {median(ratios(rps['patched'], rps['base'])):.2f}")
        for tool, n, rounds in (("buffer", 10_000, 5), ("project", 10_000, 5), ("project", 100_000, 3)):
            t: dict[str, list[float]] = {"base": [], "patched": []}
            for server in (base, patched):
                hit(server, tool, n, requests=1)
            for _ in range(rounds):
                for name, server in (("base", base), ("patched", patched)):
                    t[name].append(hit(server, tool, n, requests=1)["latencies"][0])  # type: ignore[index]
            r = median(ratios(t["patched"], t["base"]))
            print(f"{tool} {n}: base {ms(median(t['base']))} ms, patched {ms(median(t['patched']))} ms, ratio {r:.2f}")
    finally:
        load.stop()
        base.stop()
        patched.stop()


if __name__ == "__main__":
    main()
