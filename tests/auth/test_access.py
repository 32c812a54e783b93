"""Secured services: 499 without a token, 498 for a bad one, 403 for a role not allowed; public
services stay public; the catalog lists only what the caller may use; four token transports."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gpserver.auth.service import Authenticator
from gpserver.settings import Settings
from tests.auth.conftest import PASSWORD, PRIVATE, VAULT, error, expired_token, token_for

TOKEN_REQUIRED = {"code": 499, "message": "Token Required", "details": []}
JOB = f"{PRIVATE}/Square/jobs/j{'0' * 32}"
SECURED = [
    VAULT,
    f"{VAULT}/Square",
    f"{VAULT}/Square/execute",
    f"{VAULT}/uploads",
    f"{VAULT}/uploads/i0123456789abcdef0123456789abcdef",
    PRIVATE,
    f"{PRIVATE}/Square/submitJob",
    JOB,
    f"{JOB}/cancel",
    f"{JOB}/results",
    f"{JOB}/results/square",
    f"{JOB}/inputs",
    f"{JOB}/inputs/x",
    f"/rest/directories/arcgisjobs/Private_Jobs_gpserver/j{'0' * 32}/scratch/a.json",
]


@pytest.fixture(scope="module")
def alice(client: TestClient) -> str:
    return token_for(client, "alice")


@pytest.mark.parametrize("path", SECURED)
def test_no_token_is_499_on_every_resource(client: TestClient, path: str) -> None:
    assert error(client.get(path, params={"f": "json", "x": "2"}), 499) == TOKEN_REQUIRED
    if "directories" not in path:
        assert error(client.post(path, data={"f": "json", "x": "2"}), 499) == TOKEN_REQUIRED


def test_no_token_upload_is_499_and_stores_nothing(client: TestClient, settings: Settings) -> None:
    files = {"file": ("a.json", b"{}", "application/json")}
    resp = client.post(f"{VAULT}/uploads/upload", data={"f": "json"}, files=files)
    assert error(resp, 499) == TOKEN_REQUIRED
    assert not list((settings.storage.data_dir / "uploads").rglob("*.json"))


@pytest.mark.parametrize("path", SECURED[:8])
@pytest.mark.parametrize("token", ["nonsense", "a.b", "x" * 5000])
def test_bad_token_is_498(client: TestClient, path: str, token: str) -> None:
    err = error(client.get(path, params={"f": "json", "token": token}), 498)
    assert err["message"] == "Invalid Token"


def test_tampered_token_is_498(client: TestClient, alice: str) -> None:
    payload, signature = alice.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert error(client.get(VAULT, params={"f": "json", "token": forged}), 498)["message"] == "Invalid Token"


def test_expired_token_is_498(client: TestClient, auth: Authenticator) -> None:
    err = error(client.get(VAULT, params={"f": "json", "token": expired_token(auth, "alice")}), 498)
    assert err["message"] == "Invalid Token"


def test_revoked_and_disabled_tokens_are_498(client: TestClient, auth: Authenticator) -> None:
    for user, change in (("rita", auth.users.revoke_tokens), ("dan", lambda u: auth.users.set_disabled(u, True))):
        auth.users.add(user, PASSWORD, "publisher")
        token = token_for(client, user)
        assert "tasks" in client.get(VAULT, params={"f": "json", "token": token}).json()
        assert change(user)
        assert error(client.get(VAULT, params={"f": "json", "token": token}), 498)["message"] == "Invalid Token"
    fresh = token_for(client, "rita")  # a revoked user signs in again
    assert "tasks" in client.get(VAULT, params={"f": "json", "token": fresh}).json()


def test_role_not_allowed_is_403_and_administrators_pass(client: TestClient) -> None:
    viewer, admin = token_for(client, "vera"), token_for(client, "root")
    assert "tasks" in client.get(VAULT, params={"f": "json", "token": viewer}).json()  # Vault: every role
    for path in (PRIVATE, f"{PRIVATE}/Square", f"{PRIVATE}/Square/submitJob", JOB):
        err = error(client.post(path, data={"f": "json", "x": "2", "token": viewer}), 403)
        assert "permission" in err["message"]
    assert client.get(PRIVATE, params={"f": "json", "token": admin}).json()["tasks"] == [
        "Square",
        "Sleep",
        "ExportFeatures",
    ]


@pytest.mark.parametrize("transport", ["query", "form", "x-esri", "bearer", "cookie"])
def test_each_token_transport_is_accepted(client: TestClient, alice: str, transport: str) -> None:
    data, params, headers = {"f": "json", "x": "4"}, {}, {}
    if transport == "query":
        params["token"] = alice
    elif transport == "form":
        data["token"] = alice
    elif transport == "x-esri":
        headers["X-Esri-Authorization"] = f"Bearer {alice}"
    elif transport == "bearer":
        headers["Authorization"] = f"Bearer {alice}"
    else:
        headers["Cookie"] = f"agstoken={alice}"
    body = client.post(f"{VAULT}/Square/execute", params=params, data=data, headers=headers).json()
    assert body["results"][0]["value"] == 16, body


def test_token_parameter_wins_over_headers(client: TestClient, alice: str) -> None:
    headers = {"X-Esri-Authorization": "Bearer nonsense", "Cookie": "agstoken=nonsense"}
    assert "tasks" in client.get(VAULT, params={"f": "json", "token": alice}, headers=headers).json()
    assert error(client.get(VAULT, params={"f": "json"}, headers=headers), 498)


def test_public_services_stay_public(client: TestClient, alice: str) -> None:
    body = client.post("/rest/services/Open/GPServer/Square/execute", data={"x": "3", "f": "json"}).json()
    assert body["results"][0]["value"] == 9
    with_token = {"x": "3", "f": "json", "token": alice}
    assert "results" in client.post("/rest/services/Open/GPServer/Square/execute", data=with_token).json()
    # As ArcGIS: a token that is sent is checked, also on a public service.
    error(client.get("/rest/services/Open/GPServer", params={"f": "json", "token": "nonsense"}), 498)


def test_catalog_lists_only_what_the_caller_may_use(client: TestClient, alice: str) -> None:
    def listing(path: str, token: str | None = None) -> tuple[list[str], list[str]]:
        body = client.get(path, params={"f": "json", **({"token": token} if token else {})}).json()
        return body["folders"], [s["name"] for s in body["services"]]

    assert listing("/rest/services") == ([], ["Open", "OpenJobs"])
    assert listing("/rest/services", alice) == (["Private"], ["Open", "OpenJobs", "Vault"])
    assert listing("/rest/services", token_for(client, "vera")) == ([], ["Open", "OpenJobs", "Vault"])
    assert listing("/rest/services/Private") == ([], [])
    assert listing("/rest/services/Private", alice) == ([], ["Private/Jobs"])
    error(client.get("/rest/services", params={"f": "json", "token": "nonsense"}), 498)


def test_html_errors_use_real_status_codes(client: TestClient) -> None:
    assert client.get(VAULT, params={"f": "html"}).status_code == 401
