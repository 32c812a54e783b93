"""Shared fixtures: settings, the app, real services (PostgreSQL, Redis) and processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from gpserver.app import create_app
from gpserver.settings import ApiSettings, JobSettings, Settings, StorageSettings

STRICT = os.environ.get("GPSERVER_TEST_STRICT") == "1"  # .ci/run sets it: unavailable services fail
GOLDEN = Path(__file__).parent / "golden"
PG_URL = os.environ.get("GPSERVER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("GPSERVER_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def reachable(url: str) -> bool:
    """True when something accepts TCP connections at the URL's host and port."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=1):
            return True
    except OSError:
        return False


def require(service: str, url: str) -> str:
    """The URL if the service answers; else skip (fail under GPSERVER_TEST_STRICT=1)."""
    if reachable(url):
        return url
    (pytest.fail if STRICT else pytest.skip)(f"{service} is not reachable at {url}")
    raise AssertionError("unreachable")


def golden(name: str) -> Any:
    """A hand-written contract file from tests/golden."""
    return json.loads((GOLDEN / name).read_text())


def make_settings(tmp: Path, **env: Any) -> Settings:
    """Settings built explicitly (never from the developer's environment)."""
    api = {k: v for k, v in env.items() if k in ApiSettings.model_fields}
    storage = {k: v for k, v in env.items() if k in StorageSettings.model_fields}
    jobs = {k: v for k, v in env.items() if k in JobSettings.model_fields}
    storage.setdefault("data_dir", tmp)
    return Settings(
        api=ApiSettings.model_construct(**{**ApiSettings.model_construct().model_dump(), **api}),
        storage=StorageSettings.model_construct(**{**StorageSettings.model_construct().model_dump(), **storage}),
        jobs=JobSettings.model_construct(**{**JobSettings.model_construct().model_dump(), **jobs}),
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-default settings in a fresh data directory."""
    return make_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process, with its lifespan."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A real ``gpserver serve`` subprocess."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        full_env = {**os.environ, **env, "GPSERVER_PORT": str(self.port), "GPSERVER_HOST": "127.0.0.1"}
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gpserver", "serve"],
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/rest/info?f=json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Terminate and wait."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real uvicorn server with the bundled samples on the embedded default."""
    tmp = tmp_path_factory.mktemp("live")
    server = ServerProcess({"GPSERVER_DATA_DIR": str(tmp)}, tmp / "server.log")
    yield server
    server.stop()
