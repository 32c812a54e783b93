"""Processes of a benchmark run: servers bound to 127.0.0.1 on free ports, and line-protocol workers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server subprocess in its own session; stopped by its own pid only."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, ready_path: str, log: Path) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            argv,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + ready_path, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{name} did not start: {log.read_text()[-2000:]}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


class Worker:
    """A long-lived ``python -m <module>`` speaking one JSON object a line on stdin/stdout."""

    def __init__(self, module: str, python: str = PY) -> None:
        self.module = module
        self.proc = subprocess.Popen(
            [python, "-m", module],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.module} died")
        result: dict[str, Any] = json.loads(line)
        if "error" in result:
            raise RuntimeError(f"{self.module}: {result['error']}")
        return result

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


def gpserver(tmp: Path, extra_env: dict[str, str] | None = None, name: str = "gpserver") -> Server:
    port = free_port()
    env = {
        "GPSERVER_SERVICES_FILE": str(ROOT / "bench" / "services.yaml"),
        "GPSERVER_DATA_DIR": str(tmp / name),
        "GPSERVER_MAX_REQUEST_BYTES": str(512 * 1024 * 1024),
        "GPSERVER_HOST": "127.0.0.1",
        "GPSERVER_PORT": str(port),
        **(extra_env or {}),
    }
    return Server(name, [PY, "-m", "gpserver", "serve"], env, port, "/rest/info?f=json", tmp / f"{name}.log")


def bare(tmp: Path) -> Server:
    port = free_port()
    argv = [PY, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1", "--port", str(port)]
    return Server("bare", argv, {}, port, "/docs", tmp / "bare.log")


PYGEOAPI_VENV = ROOT / "bench" / ".venv-pygeoapi"


def pygeoapi(tmp: Path) -> Server | None:
    """pygeoapi's Starlette app on uvicorn (uvloop + httptools) from its own venv, or None when not set up."""
    bindir = PYGEOAPI_VENV / "bin"
    if not (bindir / "uvicorn").exists():
        return None
    port = free_port()
    config = (ROOT / "bench" / "pygeoapi-config.yml").read_text()
    config = config.replace("port: 5000", f"port: {port}").replace("127.0.0.1:5000", f"127.0.0.1:{port}")
    cfg, openapi = tmp / "pygeoapi-config.yml", tmp / "pygeoapi-openapi.yml"
    cfg.write_text(config)
    env = {"PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(openapi), "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [str(bindir / "pygeoapi"), "openapi", "generate", str(cfg), "--output-file", str(openapi)],
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    argv = [str(bindir / "uvicorn"), "pygeoapi.starlette_app:APP", "--host", "127.0.0.1", "--port", str(port)]
    return Server("pygeoapi", argv, env, port, "/processes/buffer", tmp / "pygeoapi.log")
