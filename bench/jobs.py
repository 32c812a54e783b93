"""Scenario 3: ``submitJob`` -> ``esriJobSucceeded`` on Celery/Redis/PostgreSQL and on the embedded runner.

Written against the ArcGIS REST contract only: POST ``<task>/submitJob`` -> ``{jobId}``; GET
``<task>/jobs/<jobId>?f=json`` until ``esriJobSucceeded``; GET ``<task>/jobs/<jobId>/results/<param>``.
Uses a fresh PostgreSQL database (dropped afterwards) and Redis databases 13 (gpserver) and 14 (bare
Celery). Skips itself, saying why, when ``gpserver worker``, Redis or PostgreSQL is missing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import cpu, memory, payloads, procs
from bench.stats import median, ms, pct

PG = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TASK = "/rest/services/BenchAsync/GPServer/Buffer"
SYNC_TASK = "/rest/services/BenchSync/GPServer/Buffer"
Row = Callable[..., None]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _has_worker_cli() -> bool:
    out = subprocess.run([procs.PY, "-m", "gpserver", "--help"], capture_output=True, text=True, check=False)
    return "worker" in out.stdout


class Client:
    """The ArcGIS REST job contract over one keep-alive connection."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=120)

    def submit(self, body: bytes) -> str:
        r = self.http.post(TASK + "/submitJob", content=body, headers={"content-type": procs_form()})
        r.raise_for_status()
        return str(r.json()["jobId"])

    def status(self, job: str) -> str:
        return str(
            self.http.get(f"{TASK}/jobs/{job}", params={"f": "json", "returnMessages": "false"}).json()["jobStatus"]
        )

    def wait(self, job: str, every: float = 0.002, limit: float = 300.0) -> str:
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            s = self.status(job)
            if s in ("esriJobSucceeded", "esriJobFailed", "esriJobCancelled", "esriJobTimedOut"):
                return s
            time.sleep(every)
        return "timeout"


def procs_form() -> str:
    return "application/x-www-form-urlencoded"


def latency(c: Client, body: bytes, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        job = c.submit(body)
        if c.wait(job) != "esriJobSucceeded":
            raise RuntimeError(f"job {job} did not succeed")
        out.append(time.perf_counter() - t0)
    return out


BURST_CONCURRENCY = (1, 2, 4)


def burst(load: Any, server: procs.Server, body_file: Path, n: int, groups: cpu.Groups | None = None) -> dict[str, Any]:
    """Jobs/s of a burst of ``n`` jobs from the load generator (raw HTTP, its own process): all
    submitted at once over 1, 2 and 4 connections, then polled every 5 ms until all succeeded.
    The best of the three is the server's sustained rate (more connections only add polls of jobs
    still queued). httpx, one request at a time, had capped the first version of this at the
    client's own round trip (~5 ms a submit, 1.5 ms of client CPU per job).

    With ``groups``, the CPU milliseconds per job of each process group in the best run too."""
    rates: dict[str, Any] = {}
    spent: dict[str, dict[str, float]] = {}
    meter = cpu.Meter(groups) if groups is not None else None
    for conc in BURST_CONCURRENCY:
        if meter is not None:
            meter.start()
        res = load.call(
            {
                "burst": True,
                "submit_url": server.url + TASK + "/submitJob",
                "poll_url": server.url + TASK + "/jobs/{job}?f=json&returnMessages=false",
                "body_file": str(body_file),
                "n": n,
                "concurrency": conc,
                "every": 0.005,
            }
        )
        rates[f"c{conc}"] = res["rps"]
        rates[f"c{conc}_polls_per_job"] = res["polls_per_job"]
        if meter is not None:
            spent[f"c{conc}"] = meter.per(n)
    best = max(BURST_CONCURRENCY, key=lambda c: rates[f"c{c}"])
    return {
        **rates,
        "best": rates[f"c{best}"],
        "best_polls_per_job": rates[f"c{best}_polls_per_job"],
        **({"cpu_ms_per_job": spent[f"c{best}"]} if spent else {}),
    }


def bare_celery(n_lat: int, n_burst: int, tmp: Path) -> dict[str, Any]:
    """A bare Celery round-trip loop with 2 worker processes."""
    env = {**os.environ, "PYTHONPATH": str(procs.ROOT)}
    log = (tmp / "celery-bare.log").open("wb")
    argv = [
        procs.PY,
        "-m",
        "celery",
        "-A",
        "bench.celery_bare",
        "worker",
        "-c",
        "2",
        "-Q",
        "benchbare",
        "-l",
        "WARNING",
    ]
    worker = subprocess.Popen(
        argv, cwd=procs.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        from bench.celery_bare import noop

        noop.delay(0).get(timeout=60)
        lat = []
        for i in range(n_lat):
            t0 = time.perf_counter()
            noop.delay(i).get(timeout=30)
            lat.append(time.perf_counter() - t0)
        meter = cpu.Meter(
            lambda: {
                "celery_main": [worker.pid],
                "celery_pool": _children(worker.pid),
                "redis": cpu.pids_named("redis-server"),
                "client": [os.getpid()],
            }
        )
        meter.start()
        t0 = time.perf_counter()
        results = [noop.delay(i) for i in range(n_burst)]
        for r in results:
            r.get(timeout=60)
        rate = n_burst / (time.perf_counter() - t0)
        return {"lat": lat, "rps": rate, "cpu_ms_per_task": meter.per(n_burst)}
    finally:
        worker.terminate()
        worker.wait(20)
        log.close()


class Database:
    """A fresh PostgreSQL database for one run, dropped afterwards."""

    def __init__(self) -> None:
        import psycopg

        self.name = f"gpbench_{os.getpid()}"
        self.admin = psycopg.connect(PG, autocommit=True)
        self.admin.execute(f"DROP DATABASE IF EXISTS {self.name}")
        self.admin.execute(f"CREATE DATABASE {self.name}")
        self.url = PG.rsplit("/", 1)[0] + "/" + self.name
        env = {**os.environ, "GPSERVER_DATABASE_URL": self.url}
        subprocess.run([procs.PY, "-m", "gpserver", "db", "upgrade"], env=env, check=True, capture_output=True)

    def fill(self, rows: int) -> None:
        """``rows`` finished jobs, as a long-running store holds them."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO gp_jobs (id, service, task, status, inputs, messages, time_limit, attempts, created,"
                " started, finished) SELECT 'j' || md5(g::text), 'BenchAsync', 'Buffer', 'esriJobSucceeded',"
                " '{}', '[]', 600, 1, now() - interval '1 hour', now() - interval '1 hour',"
                " now() - interval '1 hour' FROM generate_series(1, %s) g",
                (rows,),
            )
            conn.execute("ANALYZE gp_jobs")

    def checkpoint(self) -> None:
        """Flush PostgreSQL's dirty buffers now rather than in the middle of a measurement."""
        self.admin.execute("CHECKPOINT")

    def drop(self) -> None:
        self.admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.admin.close()


def _groups(server: procs.Server, worker: Any, load: Any) -> cpu.Groups:
    """The processes of a jobs run, by role (the embedded runner's pool processes are the API's
    descendants; Celery's are the worker's)."""

    def groups() -> dict[str, list[int]]:
        found = {
            "api": [server.pid],
            "postgres": cpu.pids_named("postgres"),
            "redis": cpu.pids_named("redis-server"),
            "client": [load.proc.pid],
        }
        if worker is None:
            return {**found, "embedded_workers": _descendants(server.pid)}
        return {**found, "celery_main": [worker.pid], "celery_pool": _descendants(worker.pid)}

    return groups


def _descendants(pid: int) -> list[int]:
    kids = _children(pid)
    return kids + [d for k in kids for d in _descendants(k)]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids = (task / "children").read_text().split()
            out += [int(k) for k in kids]
    except OSError:  # the process (or one of its threads) has just exited
        pass
    return out


def scenario3(row: Row, results: dict[str, Any], *, quick: bool, tmp: Path) -> None:
    print("scenario 3: submitJob -> esriJobSucceeded", flush=True)
    why = None
    if not _has_worker_cli():
        why = "`gpserver worker` does not exist yet"
    elif not _reachable("127.0.0.1", 6379) or not _reachable("127.0.0.1", 5432):
        why = "Redis (6379) or PostgreSQL (5432) is not reachable on 127.0.0.1"
    if why:
        row("3", "skipped", why)
        return
    n_lat, n_burst = (20, 60) if quick else (60, 300)
    one = payloads.body("buffer", 1)
    one_file = tmp / "job-buffer-1.body"
    one_file.write_bytes(one)
    out: dict[str, Any] = {}
    db = Database()
    try:
        bare = bare_celery(n_lat, n_burst, tmp)
        out["bare_celery"] = bare
        row(
            "3",
            "bare Celery round trip p50 / p99 ms; tasks/s (2 workers)",
            f"{ms(median(bare['lat']))} / {ms(pct(bare['lat'], 99))}; {bare['rps']:.0f}",
        )
        base_env = {"GPSERVER_DATABASE_URL": db.url, "GPSERVER_HEARTBEAT_SECONDS": "1"}
        for runner, workers in (("celery", 1), ("celery", 2), ("embedded", 1), ("embedded", 2)):
            env = dict(base_env)
            if runner == "celery":
                env["GPSERVER_BROKER_URL"] = REDIS
            else:
                env["GPSERVER_EMBEDDED_WORKERS"] = str(workers)
            name = f"gp-{runner}-{workers}"
            server = procs.gpserver(tmp, env, name=name)
            worker = load = None
            try:
                if runner == "celery":
                    wlog = (tmp / f"{name}-worker.log").open("wb")
                    worker = subprocess.Popen(
                        [procs.PY, "-m", "gpserver", "worker", "--concurrency", str(workers), "--loglevel", "WARNING"],
                        cwd=procs.ROOT,
                        env={
                            **os.environ,
                            **env,
                            "GPSERVER_SERVICES_FILE": str(procs.ROOT / "bench" / "services.yaml"),
                            "GPSERVER_DATA_DIR": str(tmp / name),
                        },
                        stdout=wlog,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                c = Client(server.url)
                load = procs.Worker("bench.loadgen")
                latency(c, one, 3)  # warm: worker up, imports done
                key = f"{runner}_{workers}"
                lat = latency(c, one, n_lat)
                rates = burst(load, server, one_file, n_burst, _groups(server, worker, load))
                rate = rates["best"]
                out[key] = {"lat": lat, "rps": rate, "burst": rates}
                row(
                    "3",
                    f"{runner}, {workers} worker(s): submit->succeeded p50 / p99 ms; jobs/s",
                    f"{ms(median(lat))} / {ms(pct(lat, 99))}; {rate:.0f}",
                    (("met" if median(lat) <= 0.015 else "MISSED") + " (p50 <= 15 ms)") if runner == "celery" else "",
                )
                if runner == "celery" and workers == 2:
                    r = rate / bare["rps"]
                    out["burst_ratio_vs_bare"] = r
                    ok = "met" if r >= 0.5 else "MISSED"
                    row("3", "celery 2 workers: jobs/s / bare Celery tasks/s", f"{r:.2f}", f"{ok} (>= 0.5)")
                    ours, theirs = rates["cpu_ms_per_job"], bare["cpu_ms_per_task"]
                    row(
                        "3",
                        "CPU ms per job: API / Celery main / pool / PostgreSQL / Redis / client",
                        " / ".join(
                            f"{ours[k]:.2f}"
                            for k in ("api", "celery_main", "celery_pool", "postgres", "redis", "client")
                        ),
                    )
                    row(
                        "3",
                        "bare Celery, CPU ms per task: main / pool / Redis / client",
                        " / ".join(f"{theirs[k]:.2f}" for k in ("celery_main", "celery_pool", "redis", "client")),
                    )
                    big(row, out, c, server, worker, load, quick, tmp)
                    # Both sides after the same history (the big jobs wrote ~300 MB to PostgreSQL) and a
                    # checkpoint, two bursts each: one burst right after the big jobs read as low as 0.76.
                    db.checkpoint()
                    rate_empty = median([burst(load, server, one_file, n_burst)["best"] for _ in range(2)])
                    db.fill(100_000)
                    db.checkpoint()
                    rate_full = median([burst(load, server, one_file, n_burst)["best"] for _ in range(2)])
                    r = rate_full / rate_empty
                    out["full_store_ratio"] = r
                    out["full_store_rates"] = {"empty": rate_empty, "full": rate_full}
                    row(
                        "3",
                        "celery 2 workers: jobs/s with 100,000 finished rows / empty store",
                        f"{r:.2f}",
                        f"{'met' if r >= 0.9 else 'MISSED'} (>= 0.9)",
                    )
            finally:
                if load is not None:
                    load.stop()
                if worker is not None:
                    worker.terminate()
                    worker.wait(30)
                server.stop()
    finally:
        db.drop()
    results["scenario3"] = out


def big(
    row: Row, out: dict[str, Any], c: Client, server: procs.Server, worker: Any, load: Any, quick: bool, tmp: Path
) -> None:
    """A 10,000-point job: submit vs execute, result fetch vs job time; worker memory at 100,000 (full run).

    Submit, execute and result fetch are timed with the load generator, the same client for the
    three (it drops large answers as it reads: httpx's own work on a 26 MB body was a large part
    of the fetch time); the job time runs from sending the submit to the poll (httpx, every 5 ms)
    that sees it succeeded. Several
    rounds at 10,000 points (single ones moved by 2x on this machine), medians of each measure and
    of the per-round ratios; three rounds at 100,000 (one moved by 2x too). The submit and the
    execute each start on a settled server (``SETTLE``): not while it still frees what the request
    before decoded, which it does after answering."""
    sizes = [(10_000, 3)] if quick else [(10_000, 7), (100_000, 3)]
    for n, rounds in sizes:
        _big(row, out, c, server, worker, load, n, rounds, tmp)


# Seconds of quiet before a timed submit or execute: the server frees what a large request decoded
# after it has answered it.
SETTLE = 0.5


def _big(
    row: Row,
    out: dict[str, Any],
    c: Client,
    server: procs.Server,
    worker: Any,
    load: Any,
    n: int,
    rounds: int,
    tmp: Path,
) -> None:
    """One size of :func:`big`."""
    body = payloads.body("buffer", n)
    body_file = tmp / f"job-buffer-{n}.body"
    body_file.write_bytes(body)
    kids = _children(worker.pid) if worker is not None else []
    for k in kids:
        memory.reset_peak(k)
    idle = {k: memory.rss(k) for k in kids}
    execute = {"url": server.url + SYNC_TASK + "/execute", "body_file": str(body_file), "content_type": procs_form()}
    runs: dict[str, list[float]] = {"submit": [], "job": [], "fetch": [], "execute": []}
    size = 0
    submit = {"url": server.url + TASK + "/submitJob", "body_file": str(body_file), "content_type": procs_form()}
    for _ in range(rounds):
        time.sleep(SETTLE)
        t0 = time.perf_counter()
        answer = load.call({**submit, "requests": 1, "keep_body": True})
        job = str(json.loads(answer["body"])["jobId"])
        t_submit = answer["latencies"][0]
        c.wait(job, every=0.005)
        t_job = time.perf_counter() - t0
        fetched = load.call({"url": f"{server.url}{TASK}/jobs/{job}/results/out_feature_class?f=json", "requests": 1})
        time.sleep(SETTLE)
        executed = load.call({**execute, "requests": 1})
        if fetched["ok"] != 1 or executed["ok"] != 1:
            raise RuntimeError(f"result fetch or execute failed: {fetched['status']} {executed['status']}")
        for key, value in zip(runs, (t_submit, t_job, fetched["latencies"][0], executed["latencies"][0]), strict=True):
            runs[key].append(value)
        size = fetched["bytes_in"]
    growth = max((memory.peak_rss(k) - idle[k] for k in kids), default=0)
    r_submit = median([s / e for s, e in zip(runs["submit"], runs["execute"], strict=True)])
    r_fetch = median([f / j for f, j in zip(runs["fetch"], runs["job"], strict=True)])
    t_submit, t_job, t_fetch, t_exec = (median(runs[k]) for k in ("submit", "job", "fetch", "execute"))
    out[f"job_{n}"] = {
        **{f"{k}_s": v for k, v in runs.items()},
        "submit": t_submit,
        "job": t_job,
        "fetch": t_fetch,
        "execute": t_exec,
        "submit_ratio": r_submit,
        "fetch_ratio": r_fetch,
        "result_bytes": size,
        "worker_growth": growth,
    }
    label = f"{n:,}-point job"
    row(
        "3",
        f"{label}: submit / execute ms",
        f"{ms(t_submit)} / {ms(t_exec)} ({r_submit:.3f}x)",
        f"{'met' if r_submit <= 0.1 else 'MISSED'} (<= 0.1)",
    )
    row(
        "3",
        f"{label}: result fetch / job ms",
        f"{ms(t_fetch)} / {ms(t_job)} ({r_fetch:.3f}x)",
        f"{'met' if r_fetch <= 0.1 else 'MISSED'} (<= 0.1)",
    )
    if n == 100_000 and kids:
        row("4", "Buffer 100,000 job: worker peak RSS growth MB", f"{growth / 1e6:.0f}")
