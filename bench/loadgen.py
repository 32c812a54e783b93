"""A small HTTP/1.1 load generator, run in its own process (``python -m bench.loadgen``).

Raw asyncio streams (uvloop when installed) over keep-alive connections: it costs the CPU it shares
with the server far less than an HTTP client library would. Loopback only. One JSON command per
line on stdin, one JSON result per line on stdout::

    {"url": "http://127.0.0.1:8000/x", "body_file": "/tmp/b", "content_type": "...",
     "concurrency": 8, "requests": 400, "duration": 20, "warmup": 20}
    -> {"ok": 400, "errors": 0, "elapsed": 1.9, "rps": 210.5, "latencies": [...], "bytes_in": 123, "status": {...}}
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class Conn:
    """One keep-alive connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("loopback only")
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, int]:
        """Send one request, read the whole response; (status, body bytes)."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked = -1, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            total = 0
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                total += size
                if size == 0:
                    return status, total
        await self.drain(length)
        return status, length

    async def drain(self, length: int) -> None:
        """Read and drop ``length`` body bytes a chunk at a time: ``readexactly`` of a 262 MB body
        would buffer it whole and copy it again, client work charged to the server's time."""
        left = length
        while left:
            chunk = await self.reader.read(min(left, 1 << 20))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(chunk)

    def close(self) -> None:
        self.writer.close()


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
    host, port, raw = build_request(cmd["url"], body, cmd.get("content_type", "application/x-www-form-urlencoded"))
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

    async def worker(conn: Conn) -> None:
        nonlocal issued, bytes_in, reconnects
        while issued < total and time.perf_counter() < deadline:
            issued += 1
            t0 = time.perf_counter()
            try:
                code, size = await conn.request(raw)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                # the server closed an idle keep-alive connection (uvicorn: 5 s), as a browser
                # would, open a new one and send again
                conn.close()
                conn = await Conn.open(host, port)
                reconnects += 1
                code, size = await conn.request(raw)
            latencies.append(time.perf_counter() - t0)
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
    }


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
            result = asyncio.run(run(json.loads(line)))
        except Exception as exc:  # report, keep serving commands
            result = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
