"""A small HTTP/1.1 load generator, run in its own process (``python -m bench.loadgen``).

Raw asyncio protocols (uvloop when installed) over keep-alive connections: it costs the CPU it shares
with the server far less than an HTTP client library would. Loopback only. One JSON command per
line on stdin, one JSON result per line on stdout::

    {"url": "http://127.0.0.1:8000/x", "body_file": "/tmp/b", "content_type": "...",
     "concurrency": 8, "requests": 400, "duration": 20, "warmup": 20, "keep_body": false}
    -> {"ok": 400, "errors": 0, "elapsed": 1.9, "rps": 210.5, "latencies": [...], "bytes_in": 123, "status": {...}}

(``keep_body``: the last answer's body comes back as ``"body"``, for small answers);

or a burst of jobs (``"burst": true``, see :func:`burst`)::

    {"burst": true, "submit_url": ".../submitJob", "poll_url": ".../jobs/{job}?f=json&returnMessages=false",
     "body_file": "/tmp/b", "n": 150, "concurrency": 8, "every": 0.005}
    -> {"rps": 180.2, "elapsed": 0.83, "polls_per_job": 1.1}
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class Conn(asyncio.BufferedProtocol):
    """One keep-alive connection, read through a fixed buffer.

    The kernel copies each response into one preallocated megabyte and only the byte counts are
    kept: no per-chunk ``bytes`` objects, no growing stream buffer. A ``StreamReader`` (the first
    version of this client) appended every chunk to a buffer of up to 8 MB and moved the rest of it
    forward on every read, ~25 ms of client work per 26 MB answer charged to the server."""

    def __init__(self) -> None:
        self.buf = bytearray(1 << 20)
        self.view = memoryview(self.buf)
        self.transport: Any = None
        self.done: asyncio.Future[tuple[int, int]] | None = None
        self.head = bytearray()  # the response head while it is incomplete
        self.status = 0
        self.left = -1  # body bytes still to come (content-length), or -1 while reading the head
        self.chunks: bytearray | None = None  # a chunked body, kept (small answers only)
        self.kept: bytearray | None = None  # the body, when the caller wants it (small answers)
        self.size = 0

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("loopback only")
        _, conn = await asyncio.get_running_loop().create_connection(cls, host, port)
        return conn

    def connection_made(self, transport: Any) -> None:  # uvloop's transports are not asyncio.Transport
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            partial = bool(self.head) or self.left >= 0
            err = asyncio.IncompleteReadError(b"x", None) if partial else ConnectionResetError("closed")
            self.done.set_exception(err)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        if self.left < 0 and self.chunks is None:
            self.head += self.view[:nbytes]
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self._start_body(bytes(self.head[: end + 4]), len(self.head) - end - 4)
            if self.chunks is not None:
                self.chunks += self.head[end + 4 :]
            elif self.kept is not None:
                self.kept += self.head[end + 4 :]
            self.head.clear()
        elif self.chunks is not None:
            self.chunks += self.view[:nbytes]
        else:
            self.left -= nbytes
            if self.kept is not None:
                self.kept += self.view[:nbytes]
        self._maybe_done()

    def _start_body(self, head: bytes, already: int) -> None:
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunks = bytearray()
        self.size = length
        self.left = length - already if self.chunks is None else 0

    def _maybe_done(self) -> None:
        assert self.done is not None
        if self.chunks is not None:
            size = _chunked_size(self.chunks)
            if size is None:
                return
            self.size = size
        elif self.left > 0:
            return
        self.done.set_result((self.status, self.size))

    async def request(self, raw: bytes, *, keep: bool = False) -> tuple[int, int]:
        """Send one request, read the whole response; (status, body bytes). ``keep``: the body
        (a content-length answer) is left in ``kept``."""
        assert self.transport is not None
        if self.transport.is_closing():
            raise ConnectionResetError("closed")
        self.done = asyncio.get_running_loop().create_future()
        self.head.clear()
        self.left, self.chunks, self.size = -1, None, 0
        self.kept = bytearray() if keep else None
        self.transport.write(raw)
        return await self.done

    async def json(self, raw: bytes) -> Any:
        """Send one request and parse its (small) JSON answer."""
        status, _ = await self.request(raw, keep=True)
        if status != 200 or self.kept is None:
            raise RuntimeError(f"HTTP {status}")
        return json.loads(self.kept)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _chunked_size(data: bytearray) -> int | None:
    """The decoded size of a complete chunked body, or None while it is incomplete."""
    pos, total = 0, 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(data[pos:eol]).split(b";")[0], 16)
        if size == 0:
            return total if data.find(b"\r\n", eol + 2) >= 0 else None
        pos = eol + 2 + size + 2
        if pos > len(data):
            return None
        total += size


FORM = "application/x-www-form-urlencoded"


def build_request(url: str, body: bytes | None, content_type: str) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    method = "POST" if body is not None else "GET"
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: keep-alive\r\n"
    if body is not None:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return host, port, head.encode() + b"\r\n" + (body or b"")


async def run(cmd: dict[str, Any]) -> dict[str, Any]:
    body = Path(cmd["body_file"]).read_bytes() if cmd.get("body_file") else None
    host, port, raw = build_request(cmd["url"], body, cmd.get("content_type", FORM))
    conc, total = int(cmd.get("concurrency", 1)), int(cmd.get("requests", 100))
    duration, warmup = float(cmd.get("duration", 60.0)), int(cmd.get("warmup", 0))
    conns = [await Conn.open(host, port) for _ in range(conc)]
    for i in range(warmup):
        await conns[i % conc].request(raw)
    latencies: list[float] = []
    status: dict[str, int] = {}
    bytes_in = 0
    issued = 0
    start = time.perf_counter()
    deadline = start + duration

    reconnects = 0
    keep = bool(cmd.get("keep_body"))
    last_body = ""

    async def worker(conn: Conn) -> None:
        nonlocal issued, bytes_in, reconnects, last_body
        while issued < total and time.perf_counter() < deadline:
            issued += 1
            t0 = time.perf_counter()
            try:
                code, size = await conn.request(raw, keep=keep)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                # the server closed an idle keep-alive connection (uvicorn: 5 s), as a browser
                # would, open a new one and send again
                conn.close()
                conn = await Conn.open(host, port)
                reconnects += 1
                code, size = await conn.request(raw, keep=keep)
            latencies.append(time.perf_counter() - t0)
            if keep and conn.kept is not None:
                last_body = conn.kept.decode("utf-8", "replace")
            status[str(code)] = status.get(str(code), 0) + 1
            bytes_in += size

    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    ok = sum(n for code, n in status.items() if code.startswith("2"))
    return {
        "ok": ok,
        "errors": len(latencies) - ok,
        "elapsed": elapsed,
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "latencies": latencies,
        "bytes_in": bytes_in,
        "status": status,
        "reconnects": reconnects,
        **({"body": last_body} if keep else {}),
    }


async def burst(cmd: dict[str, Any]) -> dict[str, Any]:
    """Jobs/s of a burst: ``n`` submitJob requests over ``concurrency`` connections at once, then
    every job polled (``poll_url`` with ``{job}``) every ``every`` seconds until all succeeded."""
    body = Path(cmd["body_file"]).read_bytes()
    host, port, submit = build_request(cmd["submit_url"], body, cmd.get("content_type", FORM))
    n, conc, every = int(cmd["n"]), int(cmd.get("concurrency", 8)), float(cmd.get("every", 0.005))
    conns = [await Conn.open(host, port) for _ in range(conc)]
    jobs: list[str] = []
    polls = 0
    start = time.perf_counter()

    async def submitter(conn: Conn) -> None:
        while len(jobs) < n:
            jobs.append("")  # claimed; filled below
            i = len(jobs) - 1
            jobs[i] = str((await conn.json(submit))["jobId"])

    async def poller(conn: Conn, share: list[str], still: list[str]) -> None:
        nonlocal polls
        for job in share:
            _, _, raw = build_request(cmd["poll_url"].format(job=job), None, FORM)
            status = (await conn.json(raw))["jobStatus"]
            polls += 1
            if status == "esriJobFailed":
                raise RuntimeError(f"job {job} failed")
            if status != "esriJobSucceeded":
                still.append(job)

    await asyncio.gather(*(submitter(c) for c in conns))
    pending = list(jobs)
    while pending:
        still: list[str] = []
        await asyncio.gather(*(poller(c, pending[i::conc], still) for i, c in enumerate(conns)))
        pending = still
        if pending:
            await asyncio.sleep(every)
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    return {"rps": n / elapsed, "elapsed": elapsed, "polls_per_job": polls / n}


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            result = asyncio.run(burst(cmd) if cmd.get("burst") else run(cmd))
        except Exception as exc:  # report, keep serving commands
            result = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
