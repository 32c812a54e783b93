"""Security test fixtures: a services file with secured services, users, tokens, error bodies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gpserver.app import create_app
from gpserver.auth import tokens
from gpserver.auth.service import Authenticator
from gpserver.settings import AuthSettings, LimitSettings, Settings
from tests.conftest import make_settings

SERVICES = Path(__file__).with_name("services.yaml")
PASSWORD = "correct horse battery"  # noqa: S105 - test users' password
VAULT = "/rest/services/Vault/GPServer"
PRIVATE = "/rest/services/Private/Jobs/GPServer"
USERS = {"alice": "publisher", "bob": "publisher", "vera": "viewer", "root": "administrator"}


def auth_settings(tmp: Path, *, limits: dict[str, Any] | None = None, **env: Any) -> Settings:
    """Settings with the security services file, explicit auth and limit settings."""
    settings = make_settings(tmp, services_file=SERVICES, **env)
    settings.auth = AuthSettings.model_construct(**AuthSettings.model_construct().model_dump())
    defaults = LimitSettings.model_construct().model_dump()
    settings.limits = LimitSettings.model_construct(**{**defaults, **(limits or {})})
    return settings


def add_users(settings: Settings) -> Authenticator:
    """The four test users, in the settings' database."""
    auth = Authenticator(settings)
    for name, role in USERS.items():
        auth.users.add(name, PASSWORD, role)
    return auth


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One app per module (its lifespan starts the embedded job pool): tests that change a user
    add their own user first."""
    return auth_settings(tmp_path_factory.mktemp("auth"))


@pytest.fixture(scope="module")
def auth(settings: Settings) -> Iterator[Authenticator]:
    authenticator = add_users(settings)
    yield authenticator
    authenticator.close()


@pytest.fixture(scope="module")
def client(settings: Settings, auth: Authenticator) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def token_for(http: TestClient, user: str, password: str = PASSWORD, **extra: str) -> str:
    """generateToken as clients call it (POST, form-encoded)."""
    body = http.post("/tokens/generateToken", data={"username": user, "password": password, "f": "json", **extra})
    data = body.json()
    assert "token" in data, data
    return str(data["token"])


def expired_token(auth: Authenticator, user: str) -> str:
    """A correctly signed token of the user that expired a minute ago."""
    record = auth.users.get(user)
    assert record is not None
    claims = tokens.TokenClaims(user, record.token_generation, time.time() - 60)
    return tokens.issue(auth.secret, claims)


def error(resp: Any, code: int) -> dict[str, Any]:
    """The ArcGIS error object (HTTP 200), checked field by field."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"error"}, body
    err: dict[str, Any] = body["error"]
    assert set(err) == {"code", "message", "details"}
    assert err["code"] == code, err
    return err
