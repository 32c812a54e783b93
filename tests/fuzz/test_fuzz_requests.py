"""Fuzzing: every task's declared parameters filled by Hypothesis with valid, broken and hostile
values (secured services too, with an administrator's token), and ``generateToken``'s parameters.
Any HTTP 5xx or body with ``error.code`` 500 fails. Runs with ``make fuzz`` (outside
``make test``); ``GPSERVER_FUZZ_EXAMPLES`` sets the examples per task (default 300)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpserver.app import create_app
from gpserver.auth.service import Authenticator
from tests.conftest import make_settings

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("GPSERVER_FUZZ_EXAMPLES", "300"))
PASSWORD = "fuzzing password"  # noqa: S105

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
coords = st.lists(st.tuples(finite, finite), min_size=0, max_size=6)
geometry = st.one_of(
    st.fixed_dictionaries({"x": finite | st.none() | st.text(max_size=3), "y": finite}),
    coords.map(lambda c: {"points": [list(p) for p in c]}),
    coords.map(lambda c: {"paths": [[list(p) for p in c]]}),
    coords.map(lambda c: {"rings": [[list(p) for p in c]]}),
    st.fixed_dictionaries({"xmin": finite, "ymin": finite, "xmax": finite, "ymax": finite}),
    anything,
)
feature_set = st.fixed_dictionaries(
    {"features": st.lists(st.fixed_dictionaries({"geometry": geometry, "attributes": anything}), max_size=4)},
    optional={
        "geometryType": st.sampled_from(
            ["esriGeometryPoint", "esriGeometryPolyline", "esriGeometryPolygon", "esriGeometryMultipoint", "x"]
        ),
        "spatialReference": st.one_of(
            st.fixed_dictionaries({"wkid": st.sampled_from([4326, 3857, 102100, 32633, 0, -1, 999999])}),
            st.fixed_dictionaries({"wkt": st.text(max_size=30)}),
            anything,
        ),
        "fields": anything,
    },
)
value = st.one_of(
    st.text(max_size=40),
    feature_set.map(json.dumps),
    anything.map(json.dumps),
    st.sampled_from(
        [
            "",
            "null",
            "{",
            "[]",
            '{"distance": 1e308, "units": "esriMeters"}',
            '{"distance": -5, "units": "esriMiles"}',
            "1e400",
            "NaN",
            '{"wkid": 4326}',
            "9" * 400,
            "((((((((((",
        ]
    ),
)
env = st.fixed_dictionaries(
    {},
    optional={
        "env:outSR": st.sampled_from(["", "4326", "3857", "abc", "{}", "999999", '{"wkt":"x"}']),
        "context": anything.map(json.dumps),
        "returnZ": st.sampled_from(["true", "False", "1", "x"]),
        "returnFeatureCollection": st.sampled_from(["true", "false"]),
    },
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    settings = make_settings(tmp)
    auth = Authenticator(settings)
    auth.users.add("admin", PASSWORD, "administrator")
    auth.close()
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def token(client: TestClient) -> str:
    return str(client.post("/tokens", data={"username": "admin", "password": PASSWORD, "f": "json"}).json()["token"])


def tasks(client: TestClient, token: str) -> list[tuple[str, str, list[str]]]:
    out = []
    auth = {"f": "json", "token": token}
    for svc in client.get("/rest/services", params=auth).json()["services"]:
        service = client.get(f"/rest/services/{svc['name']}/GPServer", params=auth).json()
        for task in service["tasks"]:
            info = client.get(f"/rest/services/{svc['name']}/GPServer/{task}", params=auth).json()
            names = [p["name"] for p in info["parameters"] if p["direction"] == "esriGPParameterDirectionInput"]
            op = "execute" if service["executionType"].endswith("Synchronous") else "submitJob"
            out.append((f"/rest/services/{svc['name']}/GPServer/{task}/{op}", task, names))
    return out


def check(resp: Any) -> None:
    assert resp.status_code < 500, resp.text[:500]
    try:
        body = resp.json()
    except ValueError:
        return
    if isinstance(body, dict) and "error" in body:
        assert body["error"]["code"] != 500, body


def fuzz_task(client: TestClient, url: str, names: list[str], token: str) -> None:
    """Hypothesis run over one task's declared inputs plus environment options."""

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(values=st.fixed_dictionaries({n: value for n in names}), extra=env, method=st.sampled_from(["GET", "POST"]))
    def run(values: dict[str, str], extra: dict[str, str], method: str) -> None:
        params = {"f": "json", **values, **extra, "token": token}
        check(client.get(url, params=params) if method == "GET" else client.post(url, data=params))

    run()


def test_fuzz_every_task(client: TestClient, token: str) -> None:
    found = tasks(client, token)
    assert any("SampleSecured" in url for url, _, _ in found)  # secured services are fuzzed too
    for url, _task, names in found:
        fuzz_task(client, url, names, token)


token_values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "a.b", ".", "x" * 5000, "eyJ1IjoiYWRtaW4iLCJnIjowLCJlIjo5OTk5OTk5OTk5fQ.abc"]),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    form=st.fixed_dictionaries(
        {},
        optional={
            "username": st.sampled_from(["admin", "Admin", "", "nobody"]) | st.text(max_size=30),
            "password": st.sampled_from([PASSWORD, ""]) | st.text(max_size=30),
            "client": st.sampled_from(["referer", "ip", "requestip", "REFERER", "", "x"]) | st.text(max_size=10),
            "referer": st.text(max_size=40),
            "ip": st.text(max_size=40),
            "expiration": st.sampled_from(["", "0", "-5", "1e308", "NaN", "inf", "60", "99999999999999999999"])
            | st.text(max_size=12),
            "f": st.sampled_from(["json", "pjson", "html", "x", ""]),
            "request": st.just("getToken"),
        },
    ),
    path=st.sampled_from(["/tokens/generateToken", "/tokens", "/tokens/"]),
    method=st.sampled_from(["GET", "POST"]),
)
def test_fuzz_generate_token(client: TestClient, form: dict[str, str], path: str, method: str) -> None:
    check(client.get(path, params=form) if method == "GET" else client.post(path, data=form))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    token=token_values,
    where=st.sampled_from(["query", "x-esri", "bearer", "cookie"]),
    path=st.sampled_from(
        [
            "/rest/services",
            "/rest/services/SampleSecured/GPServer",
            "/rest/services/SampleSecured/GPServer/Buffer",
            "/rest/services/SampleSecured/GPServer/Buffer/jobs/j" + "0" * 32,
            "/rest/services/SampleSync/GPServer",
        ]
    ),  # fmt: skip
)
def test_fuzz_token_transports(client: TestClient, token: str, where: str, path: str) -> None:
    clean = token.replace("\r", "").replace("\n", "")
    if where == "query":
        check(client.get(path, params={"f": "json", "token": token}))
        return
    if not clean.isprintable() or not clean.isascii():
        return  # not sendable in a header
    header = {"x-esri": "X-Esri-Authorization", "bearer": "Authorization", "cookie": "Cookie"}[where]
    value = f"agstoken={clean}" if where == "cookie" else f"Bearer {clean}"
    check(client.get(path, params={"f": "json"}, headers={header: value}))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.text(alphabet="abcJ/%.:_-?&=#", max_size=60), f=st.sampled_from(["json", "pjson", "html", "x", ""]))
def test_fuzz_paths(client: TestClient, path: str, f: str) -> None:
    check(client.get(f"/rest/services/{path}", params={"f": f}))
    check(client.post(f"/rest/services/SampleSync/GPServer/{path}", data={"f": f}))
