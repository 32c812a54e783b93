"""generateToken (spec 1.6): POST only by default, bad credentials, expiration, client binding."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gpserver.app import create_app
from gpserver.auth.service import Authenticator
from tests.auth.conftest import PASSWORD, VAULT, add_users, auth_settings, error, token_for

BAD_CREDENTIALS = {"code": 400, "message": "Unable to generate token.", "details": ["Invalid username or password."]}


def test_post_answers_token_expires_ms_and_ssl(client: TestClient) -> None:
    before = time.time()
    for path in ("/tokens/generateToken", "/tokens", "/tokens/"):
        resp = client.post(path, data={"username": "alice", "password": PASSWORD, "f": "json"})
        body = resp.json()
        assert set(body) == {"token", "expires", "ssl"} and body["ssl"] is False
        assert before + 59 * 60 <= body["expires"] / 1000 <= time.time() + 60 * 60  # default 60 minutes, in ms
        assert resp.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("asked", "minutes"), [("5", 5), ("100000", 1440), ("30.9", 30)])
def test_expiration_is_minutes_clamped_to_the_maximum(client: TestClient, asked: str, minutes: int) -> None:
    form = {"username": "alice", "password": PASSWORD, "expiration": asked, "f": "json"}
    body = client.post("/tokens/generateToken", data=form).json()
    assert abs(body["expires"] / 1000 - time.time() - 60 * minutes) < 5


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "wrong password"), ("nobody", PASSWORD), ("Alice", PASSWORD), ("", "")]
)
def test_bad_credentials_body(client: TestClient, user: str, password: str) -> None:
    resp = client.post("/tokens/generateToken", data={"username": user, "password": password, "f": "json"})
    err = error(resp, 400)
    assert err["message"] == "Unable to generate token."
    if user:
        assert err == BAD_CREDENTIALS  # the same answer whether the user exists or not
    assert set(resp.json()) == {"error"}


def test_get_is_refused_unless_allowed(client: TestClient, tmp_path: Path) -> None:
    query = {"username": "alice", "password": PASSWORD, "f": "json"}
    err = error(client.get("/tokens/generateToken", params=query), 400)
    assert "POST" in err["details"][0]
    err = error(client.post("/tokens/generateToken", params=query), 400)  # credentials in the URL
    assert "POST body" in err["details"][0]
    settings = auth_settings(tmp_path / "get", allow_get_token=True)
    add_users(settings).close()
    with TestClient(create_app(settings)) as allowed:
        assert "token" in allowed.get("/tokens/generateToken", params=query).json()


def test_disabled_user_cannot_sign_in(client: TestClient, auth: Authenticator) -> None:
    auth.users.add("dora", PASSWORD, "viewer")
    token_for(client, "dora")
    auth.users.set_disabled("dora", True)
    resp = client.post("/tokens/generateToken", data={"username": "dora", "password": PASSWORD, "f": "json"})
    assert error(resp, 400) == BAD_CREDENTIALS


@pytest.mark.parametrize(
    ("form", "needle"),
    [
        ({"client": "referer"}, "'referer' is required"),
        ({"client": "ip"}, "'ip' is required"),
        ({"client": "browser"}, "'client'"),
        ({"expiration": "soon"}, "'expiration'"),
        ({"expiration": "0"}, "'expiration'"),
    ],
)
def test_bad_options(client: TestClient, form: dict[str, str], needle: str) -> None:
    resp = client.post("/tokens/generateToken", data={"username": "alice", "password": PASSWORD, "f": "json", **form})
    assert needle in error(resp, 400)["details"][0]


def square(client: TestClient, token: str, **headers: str) -> dict[str, object]:
    resp = client.post(f"{VAULT}/Square/execute", data={"x": "3", "f": "json", "token": token}, headers=headers)
    body: dict[str, object] = resp.json()
    return body


def test_referer_binding(client: TestClient) -> None:
    token = token_for(client, "alice", client="referer", referer="https://app.example.com")
    assert "results" in square(client, token, referer="https://app.example.com/map.html")
    error_body = square(client, token, referer="https://evil.example.com/")
    assert error_body == {"error": {"code": 498, "message": "Invalid Token", "details": []}}
    assert square(client, token)["error"]["code"] == 498  # type: ignore[index]
    host_bound = token_for(client, "alice", client="referer", referer="app.example.com")  # arcgis-rest-js
    assert "results" in square(client, host_bound, referer="https://app.example.com/page")


def test_requestip_and_ip_binding(client: TestClient) -> None:
    mine = token_for(client, "alice", client="requestip")  # TestClient's address is "testclient"
    assert "results" in square(client, mine)
    elsewhere = token_for(client, "alice", client="ip", ip="203.0.113.7")
    assert square(client, elsewhere)["error"]["code"] == 498  # type: ignore[index]


def test_rest_info_advertises_the_token_url(client: TestClient) -> None:
    info = client.get("/rest/info?f=json").json()
    assert info["authInfo"] == {
        "isTokenBasedSecurity": True,
        "tokenServicesUrl": "http://testserver/tokens/generateToken",
        "shortLivedTokenValidity": 60,
    }
    assert "owningSystemUrl" not in info


def test_rest_info_under_a_context(tmp_path: Path) -> None:
    with TestClient(create_app(auth_settings(tmp_path, context="arcgis"))) as c:
        info = c.get("/arcgis/rest/info?f=json").json()
        assert info["authInfo"]["tokenServicesUrl"] == "http://testserver/arcgis/tokens/generateToken"
