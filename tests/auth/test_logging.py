"""Tokens and passwords never reach a log line: every logger captured at DEBUG in-process, and a
real ``gpserver serve --log-level debug`` (uvicorn's access log included) writing to a file."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gpserver.auth.redact import redact
from tests.auth.conftest import PASSWORD, SERVICES, VAULT, add_users, auth_settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def use_token_everywhere(http: httpx.Client | TestClient, token: str) -> None:
    """The token in the query, the form, both headers and the cookie; and misused."""
    assert "tasks" in http.get(VAULT, params={"f": "json", "token": token}).json()
    assert "results" in http.post(f"{VAULT}/Square/execute", data={"x": "2", "f": "json", "token": token}).json()
    for headers in (
        {"X-Esri-Authorization": f"Bearer {token}"},
        {"Authorization": f"Bearer {token}"},
        {"Cookie": f"agstoken={token}"},
    ):
        assert "tasks" in http.get(VAULT, params={"f": "json"}, headers=headers).json()
    http.get("/rest/services/Nope/GPServer", params={"f": "json", "token": token})  # an error path
    http.get(f"{VAULT}/Nope/jobs/{token}", params={"f": "json", "token": token})  # the token in a path
    http.get("/rest/services/Open/GPServer", params={"f": "json", "token": token + "x"})  # a bad token


def test_no_token_in_any_captured_record(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = client.post("/tokens", data={"username": "alice", "password": PASSWORD, "f": "json"}).json()["token"]
    use_token_everywhere(client, token)
    logging.getLogger("somewhere.else").warning("calling %s?token=%s", "https://h/x", token)  # any logger
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "1.2.3.4", "GET", f"/x?token={token}", "1.1", 200
    )
    try:
        raise ValueError(f"failed with {token}")
    except ValueError:
        logging.getLogger("gpserver.test").exception("an error")
    assert caplog.records
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert token not in text and PASSWORD not in text
    assert "token=***" in text


def test_redaction_patterns() -> None:
    token = "eyJ1IjoiYWxpY2UiLCJnIjowLCJlIjoxNzk1ODcwNzc0fQ." + "M" * 43
    for line in (f"?token={token}&f=json", f"Bearer {token}", f"agstoken={token}", f'"token": "{token}"', token):
        assert token not in redact(line)
    assert redact("password=hunter2&f=json") == "password=***&f=json"
    assert redact("/rest/services/Open/GPServer?f=json") == "/rest/services/Open/GPServer?f=json"


def test_real_server_debug_log_has_no_token(tmp_path: Path) -> None:
    add_users(auth_settings(tmp_path)).close()
    port = free_port()
    env = {
        **os.environ,
        "GPSERVER_DATA_DIR": str(tmp_path),
        "GPSERVER_DATABASE_URL": "",
        "GPSERVER_BROKER_URL": "",
        "GPSERVER_SERVICES_FILE": str(SERVICES),
        "GPSERVER_PORT": str(port),
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gpserver", "serve", "--log-level", "debug"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.get("/rest/info?f=json")
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-2000:]
                    time.sleep(0.1)
            token = http.post("/tokens/generateToken", data={"username": "alice", "password": PASSWORD}).json()["token"]
            use_token_everywhere(http, token)
            http.post("/tokens/generateToken", params={"username": "alice", "password": PASSWORD})  # refused
            http.close()
        finally:
            proc.terminate()
            proc.wait(20)
    text = log.read_text()
    assert "GET /rest/services/Vault/GPServer?f=json&token=*** HTTP/1.1" in text, text[-3000:]  # the access log
    assert "DEBUG" in text
    assert token not in text and token.split(".")[1] not in text and PASSWORD not in text
