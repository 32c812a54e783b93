"""Users: the store, the ``gpserver user`` commands, referer matching, token verification speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpserver.auth.service import Authenticator, referer_matches
from gpserver.cli import cli
from gpserver.errors import ConfigurationError, InvalidTokenError
from tests.auth.conftest import PASSWORD, auth_settings


def test_store_and_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GPSERVER_DATABASE_URL", "GPSERVER_SERVICES_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GPSERVER_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    done = runner.invoke(cli, ["user", "add", "alice", "--role", "publisher", "--password-stdin"], input=PASSWORD)
    assert done.exit_code == 0, done.output
    done = runner.invoke(cli, ["user", "add", "Alice", "--role", "administrator"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.exit_code == 0, done.output  # prompted twice; names are case-sensitive
    assert runner.invoke(cli, ["user", "add", "alice", "--password", PASSWORD]).exit_code == 2
    assert "at least 8" in runner.invoke(cli, ["user", "add", "eve", "--password", "short"]).output
    assert "Unknown role" in runner.invoke(cli, ["user", "add", "eve", "--password", PASSWORD, "--role", "x"]).output
    assert runner.invoke(cli, ["user", "list"]).output.splitlines() == ["Alice\tadministrator", "alice\tpublisher"]
    auth = Authenticator(auth_settings(tmp_path))
    signed = auth.sign_in("alice", PASSWORD, minutes=None, ip=None, referer=None)
    assert signed is not None
    assert auth.principal(signed[0], ip=None, referer=None).role == "publisher"
    assert runner.invoke(cli, ["user", "revoke", "alice"]).exit_code == 0
    with pytest.raises(InvalidTokenError):
        auth.principal(signed[0], ip=None, referer=None)
    assert runner.invoke(cli, ["user", "role", "alice", "viewer"]).exit_code == 0
    assert runner.invoke(cli, ["user", "disable", "alice"]).exit_code == 0
    assert auth.sign_in("alice", PASSWORD, minutes=None, ip=None, referer=None) is None
    assert runner.invoke(cli, ["user", "enable", "alice"]).exit_code == 0
    assert runner.invoke(cli, ["user", "passwd", "alice", "--password", "another password"]).exit_code == 0
    assert auth.sign_in("alice", "another password", minutes=None, ip=None, referer=None) is not None
    assert "No user" in runner.invoke(cli, ["user", "revoke", "nobody"]).output
    with pytest.raises(ConfigurationError):
        auth.users.add("bad name", PASSWORD, "viewer")
    stored = auth.users.get("alice")
    assert stored is not None and stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    auth.close()


@pytest.mark.parametrize(
    ("bound", "header", "ok"),
    [
        ("http", "http", True),  # the ArcGIS API for Python's default on both sides
        ("https://app.example.com", "https://app.example.com/map.html", True),
        ("https://app.example.com", "https://app.example.com.evil.net/", False),
        ("app.example.com", "https://app.example.com/page?x=1", True),
        ("app.example.com", "https://evil.example.com/app.example.com", False),
        ("app.example.com", None, False),
    ],
)
def test_referer_matching(bound: str, header: str | None, ok: bool) -> None:
    assert referer_matches(bound, header) is ok


def test_tokens_verified_per_second(tmp_path: Path) -> None:
    auth = Authenticator(auth_settings(tmp_path))
    auth.users.add("alice", PASSWORD, "publisher")
    signed = auth.sign_in("alice", PASSWORD, minutes=None, ip=None, referer=None)
    assert signed is not None
    n, start = 500, time.perf_counter()
    for _ in range(n):
        auth.principal(signed[0], ip=None, referer=None)
    rate = n / (time.perf_counter() - start)
    print(f"tokens verified per second (signature + user row, SQLite): {rate:.0f}")  # noqa: T201
    assert rate > 200
    auth.close()
