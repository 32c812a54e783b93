"""Run the benchmark suite: ``python -m bench.run [--quick] [--only 1,2,3,4,5]`` (``make bench``).

Every scenario interleaves its variants round by round (A, B, A, B, ...) in this one invocation and
reports ratios of the same rounds: the machine is shared and absolute times drift. Writes
``bench/results/<timestamp>.json`` and the Markdown table (printed, and put between the markers
in ``bench/README.md``).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import memory, payloads, procs
from bench.stats import median, ms, pct, ratios

RESULTS = procs.ROOT / "bench" / "results"
README = procs.ROOT / "bench" / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
FORM = "application/x-www-form-urlencoded"
GP_EXECUTE = "/rest/services/BenchSync/GPServer/{tool}/execute"
PG_EXECUTE = "/processes/buffer/execution"


class Ctx:
    """What the scenarios share: processes, body files, settings and the results."""

    def __init__(self, quick: bool, tmp: Path) -> None:
        self.quick, self.tmp = quick, tmp
        self.results: dict[str, Any] = {}
        self.rows: list[tuple[str, str, str, str]] = []  # scenario, measure, value, target
        self.bodies: dict[tuple[str, int], Path] = {}
        self.gp = procs.gpserver(tmp)
        self.bare = procs.bare(tmp)
        self.pg = procs.pygeoapi(tmp)
        self.load = procs.Worker("bench.loadgen")
        self.base = procs.Worker("bench.baseline")

    def body(self, kind: str, n: int) -> Path:
        """A body file: ``buffer`` / ``project`` form bodies, ``geojson`` for pygeoapi."""
        key = (kind, n)
        if key not in self.bodies:
            path = self.tmp / f"{kind}-{n}.body"
            path.write_bytes(payloads.geojson_buffer_body(n) if kind == "geojson" else payloads.body(kind, n))
            self.bodies[key] = path
        return self.bodies[key]

    def hit(self, server: procs.Server, path: str, body: Path, ctype: str, **kw: Any) -> dict[str, Any]:
        res = self.load.call({"url": server.url + path, "body_file": str(body), "content_type": ctype, **kw})
        if res["errors"] or not res["ok"]:
            raise RuntimeError(f"{server.name} {path}: status {res['status']} (see {server.log})")
        return res

    def row(self, scenario: str, measure: str, value: str, target: str = "") -> None:
        self.rows.append((scenario, measure, value, target))
        print(f"  {scenario:4} {measure:66} {value:>22} {target}", flush=True)

    def stop(self) -> None:
        for p in (self.load, self.base):
            p.stop()
        for s in (self.gp, self.bare, self.pg):
            if s is not None:
                s.stop()


def verdict(value: float, limit: float, higher_is_better: bool = False) -> str:
    ok = value >= limit if higher_is_better else value <= limit
    return ("met" if ok else "MISSED") + f" ({'>=' if higher_is_better else '<='} {limit:g})"


# ------------------------------------------------------------------------------------------------
# scenario 1: one-point buffer, gpserver vs the bare FastAPI floor (and pygeoapi: scenario 5)


def scenario1(ctx: Ctx) -> None:
    print("scenario 1: execute Buffer of 1 point", flush=True)
    rounds = 2 if ctx.quick else 5
    counts = {1: 150 if ctx.quick else 300, 8: 400 if ctx.quick else 1000}
    targets = [("gpserver", ctx.gp, GP_EXECUTE.format(tool="Buffer"), ctx.body("buffer", 1), FORM)]
    targets.append(("bare", ctx.bare, "/buffer", ctx.body("buffer", 1), FORM))
    if ctx.pg is not None:
        targets.append(("pygeoapi", ctx.pg, PG_EXECUTE, ctx.body("geojson", 1), "application/json"))
    data: dict[str, dict[int, dict[str, list[Any]]]] = {
        name: {c: {"rps": [], "lat": []} for c in counts} for name, *_ in targets
    }
    for _ in range(rounds):
        for c, n in counts.items():
            for name, server, path, body, ctype in targets:
                res = ctx.hit(server, path, body, ctype, concurrency=c, requests=n, warmup=2 * c)
                data[name][c]["rps"].append(res["rps"])
                data[name][c]["lat"].extend(res["latencies"])
    out: dict[str, Any] = {}
    for name, per_c in data.items():
        for c, d in per_c.items():
            p50, p99 = pct(d["lat"], 50), pct(d["lat"], 99)
            out[f"{name}_c{c}"] = {"rps": median(d["rps"]), "rps_rounds": d["rps"], "p50": p50, "p99": p99}
            ctx.row("1", f"{name} c={c}: req/s, p50 / p99 ms", f"{median(d['rps']):.0f}, {ms(p50)} / {ms(p99)}")
    for c in counts:
        r = median(ratios(data["gpserver"][c]["rps"], data["bare"][c]["rps"]))
        out[f"rps_ratio_vs_bare_c{c}"] = r
        ctx.row("1", f"gpserver / bare req/s, c={c}", f"{r:.2f}", verdict(r, 0.8, True) if c == 8 else "")
    g = out["gpserver_c8"]
    tail = g["p99"] / g["p50"]
    ctx.row("1", "gpserver p99 / p50, c=8 (no 40 ms plateau)", f"{tail:.1f}", verdict(tail, 3.0))
    g1 = out["gpserver_c1"]
    ctx.row("1", "gpserver p99 / p50, c=1", f"{g1['p99'] / g1['p50']:.1f}", "")
    if ctx.pg is not None:
        r = median(ratios(data["gpserver"][8]["rps"], data["pygeoapi"][8]["rps"]))
        out["rps_ratio_vs_pygeoapi_c8"] = r
        ctx.row("5", "gpserver / pygeoapi req/s, 1 point, c=8", f"{r:.2f}", verdict(r, 1.3, True))
    ctx.results["scenario1"] = out


# ------------------------------------------------------------------------------------------------
# scenarios 2 and 4: large executes vs the same pipeline in one process; memory


def scenario2(ctx: Ctx) -> None:
    print("scenario 2: execute Buffer / Project of 10,000 and 100,000 points (+ scenario 4, memory)", flush=True)
    plan = [(10_000, 3 if ctx.quick else 25), (100_000, 2 if ctx.quick else 3)]  # 10,000: cheap, and noisy
    out: dict[str, Any] = {}
    for n, rounds in plan:
        for tool in ("buffer", "project"):
            body = ctx.body(tool, n)
            path = GP_EXECUTE.format(tool=tool.capitalize())
            # warm both sides (first-call imports, PROJ database) outside the clock
            ctx.hit(ctx.gp, path, ctx.body(tool, 10), FORM, requests=1)
            ctx.base.call({"tool": tool, "body_file": str(ctx.body(tool, 10))})
            srv, form, plain, mem = [], [], [], []
            base_info: dict[str, Any] = {}
            out_bytes = 0
            for i in range(rounds):
                idle = memory.rss(ctx.gp.pid)
                reset = memory.reset_peak(ctx.gp.pid)
                res = ctx.hit(ctx.gp, path, body, FORM, requests=1)
                srv.append(res["latencies"][0])
                out_bytes = res["bytes_in"]
                if reset:
                    mem.append({"idle": idle, "peak": memory.peak_rss(ctx.gp.pid)})
                b = ctx.base.call({"tool": tool, "body_file": str(body), "decoders": i == 0})
                form.append(b["seconds"])
                base_info = base_info or b
                plain.append(ctx.base.call({"tool": tool, "body_file": str(body), "variant": "json"})["seconds"])
            key = f"{tool}_{n}"
            r_form, r_json = median(ratios(srv, form)), median(ratios(srv, plain))
            out[key] = {
                "server_s": srv,
                "baseline_form_s": form,
                "baseline_json_s": plain,
                "overhead_ratio": r_form,
                "ratio_vs_json": r_json,
                "server_out_bytes": out_bytes,
                "baseline_out_bytes": base_info["out_bytes"],
                "body_bytes": body.stat().st_size,
                "baseline_decode_s": base_info.get("decode_seconds"),
                "server_decode_s": base_info.get("server_decode_seconds"),
                "server_memory": mem,
                "baseline_memory": {"idle": base_info["idle_rss"], "peak": base_info["peak_rss"]},
            }
            label = f"{tool.capitalize()} {n:,}"
            ctx.row(
                "2",
                f"{label}: server / baseline(form) / baseline(json) ms",
                f"{ms(median(srv))} / {ms(median(form))} / {ms(median(plain))}",
            )
            ctx.row("2", f"{label}: overhead ratio server / baseline(form)", f"{r_form:.2f}", verdict(r_form, 1.15))
            ctx.row("2", f"{label}: server / baseline(json) (stretch)", f"{r_json:.2f}", verdict(r_json, 1.3))
            if n == 100_000 and mem:
                growth = median([m["peak"] - m["idle"] for m in mem])
                text, objects = base_info["decoded_text_bytes"], base_info["decoded_objects_bytes"]
                body_bytes = body.stat().st_size
                budget = body_bytes + text + objects + out_bytes
                text_only = body_bytes + text + out_bytes  # "decoded data" read as the JSON text alone
                out[key].update(memory_growth=growth, memory_budget=budget, memory_budget_text_only=text_only)
                r = growth / budget
                ctx.row(
                    "4",
                    f"{label}: API peak RSS growth MB (x of body+decoded text+decoded objects+output)",
                    f"{growth / 1e6:.0f} ({r:.2f}x)",
                    verdict(r, 3.0),
                )
                ctx.row(
                    "4",
                    f"{label}: the same growth, x of body+decoded text+output (objects not counted)",
                    f"{growth / text_only:.2f}x",
                )
                bm = out[key]["baseline_memory"]
                ctx.row("4", f"{label}: baseline process peak RSS growth MB", f"{(bm['peak'] - bm['idle']) / 1e6:.0f}")
    ctx.results["scenario2"] = out


# ------------------------------------------------------------------------------------------------
# scenario 5: pygeoapi, 10,000-point buffer


def scenario5(ctx: Ctx) -> None:
    if ctx.pg is None:
        print("scenario 5: skipped (run `make bench`, which installs pygeoapi into bench/.venv-pygeoapi)")
        return
    print("scenario 5: pygeoapi peer, Buffer of 10,000 points", flush=True)
    n = 10_000
    gp = (ctx.gp, GP_EXECUTE.format(tool="Buffer"), ctx.body("buffer", n), FORM)
    pg = (ctx.pg, PG_EXECUTE, ctx.body("geojson", n), "application/json")
    rounds, burst = (3, 8) if ctx.quick else (5, 16)
    lat: dict[str, list[float]] = {"gp": [], "pg": []}
    rps: dict[str, list[float]] = {"gp": [], "pg": []}
    for server, path, body, ctype in (gp, pg):
        ctx.hit(server, path, body, ctype, requests=1)  # warm
    for i in range(rounds):
        for name, (server, path, body, ctype) in (("gp", gp), ("pg", pg)):
            lat[name].append(ctx.hit(server, path, body, ctype, requests=1)["latencies"][0])
        if i < (1 if ctx.quick else 2):
            for name, (server, path, body, ctype) in (("gp", gp), ("pg", pg)):
                rps[name].append(ctx.hit(server, path, body, ctype, concurrency=8, requests=burst)["rps"])
    r_lat, r_rps = median(ratios(lat["gp"], lat["pg"])), median(ratios(rps["gp"], rps["pg"]))
    ctx.results["scenario5"] = {"latency_s": lat, "rps_c8": rps, "latency_ratio": r_lat, "rps_ratio_c8": r_rps}
    ctx.row("5", "Buffer 10,000: gpserver / pygeoapi latency ms", f"{ms(median(lat['gp']))} / {ms(median(lat['pg']))}")
    ctx.row("5", "Buffer 10,000: latency ratio gpserver / pygeoapi", f"{r_lat:.2f}", verdict(r_lat, 0.3))
    ctx.row("5", "Buffer 10,000: req/s ratio gpserver / pygeoapi, c=8", f"{r_rps:.2f}", verdict(r_rps, 2.5, True))


# ------------------------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, str, str]], meta: dict[str, Any]) -> str:
    lines = [
        f"Run {meta['timestamp']} ({'quick' if meta['quick'] else 'full'}), {meta['machine']}; "
        "medians of interleaved rounds, ratios of the same rounds.",
        "",
        "| # | measure | value | target |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {s} | {m} | {v} | {t} |" for s, m, v, t in rows]
    return "\n".join(lines)


def write_readme(md: str) -> None:
    if not README.exists():
        return
    text = README.read_text()
    if START in text and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        README.write_text(f"{head}{START}\n{md}\n{END}{tail}")


def guarded(ctx: Ctx, name: str, fn: Callable[[], None]) -> None:
    """Run one scenario; a failure is reported in the table and the run goes on."""
    try:
        fn()
    except Exception as exc:
        traceback.print_exc()
        ctx.row(name[-1], f"{name} failed", f"{type(exc).__name__}: {str(exc)[:80]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer rounds (~2 minutes)")
    ap.add_argument("--only", default="1,2,3,5", help="scenarios to run (4 comes with 2)")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite bench/README.md")
    args = ap.parse_args()
    only = set(args.only.split(","))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    meta = {
        "timestamp": stamp,
        "quick": args.quick,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs, Python {platform.python_version()}",
    }
    tmp = Path(tempfile.mkdtemp(prefix="gpbench-"))
    started = time.monotonic()
    ctx = Ctx(args.quick, tmp)
    try:
        for wanted, scenario in (("15", scenario1), ("24", scenario2), ("5", scenario5)):
            if only & set(wanted):
                guarded(ctx, scenario.__name__, lambda s=scenario: s(ctx))  # type: ignore[misc]
    finally:
        ctx.stop()
    if "3" in only:
        from bench import jobs

        guarded(ctx, "scenario3", lambda: jobs.scenario3(ctx.row, ctx.results, quick=args.quick, tmp=tmp))
    shutil.rmtree(tmp, ignore_errors=True)
    meta["seconds"] = round(time.monotonic() - started, 1)
    md = table(ctx.rows, meta)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps({"meta": meta, "rows": ctx.rows, **ctx.results}, indent=1, default=str))
    print()
    print(md)
    print(f"\nJSON: {out.relative_to(procs.ROOT)}  ({meta['seconds']} s)")
    if not args.no_readme:
        write_readme(md)


if __name__ == "__main__":
    main()
