"""Fuzzing: every task's declared parameters filled by Hypothesis with valid, broken and hostile
values. Any HTTP 5xx or body with ``error.code`` 500 fails. Runs with ``make fuzz`` (outside
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
from tests.conftest import make_settings

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("GPSERVER_FUZZ_EXAMPLES", "300"))

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
    with TestClient(create_app(make_settings(tmp)), raise_server_exceptions=False) as c:
        yield c


def tasks(client: TestClient) -> list[tuple[str, str, list[str]]]:
    out = []
    for svc in client.get("/rest/services?f=json").json()["services"]:
        service = client.get(f"/rest/services/{svc['name']}/GPServer?f=json").json()
        for task in service["tasks"]:
            info = client.get(f"/rest/services/{svc['name']}/GPServer/{task}?f=json").json()
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


def fuzz_task(client: TestClient, url: str, names: list[str]) -> None:
    """Hypothesis run over one task's declared inputs plus environment options."""

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(values=st.fixed_dictionaries({n: value for n in names}), extra=env, method=st.sampled_from(["GET", "POST"]))
    def run(values: dict[str, str], extra: dict[str, str], method: str) -> None:
        params = {"f": "json", **values, **extra}
        check(client.get(url, params=params) if method == "GET" else client.post(url, data=params))

    run()


def test_fuzz_every_task(client: TestClient) -> None:
    for url, _task, names in tasks(client):
        fuzz_task(client, url, names)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.text(alphabet="abcJ/%.:_-?&=#", max_size=60), f=st.sampled_from(["json", "pjson", "html", "x", ""]))
def test_fuzz_paths(client: TestClient, path: str, f: str) -> None:
    check(client.get(f"/rest/services/{path}", params={"f": f}))
    check(client.post(f"/rest/services/SampleSync/GPServer/{path}", data={"f": f}))
