"""Limits: request body size, features per input, vertices per geometry, requests per minute."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gpserver.app import create_app
from tests.auth.conftest import PASSWORD, PRIVATE, add_users, auth_settings, error, token_for

DIST = json.dumps({"distance": 10, "units": "esriMeters"})


def points(n: int) -> str:
    features = [{"geometry": {"x": i, "y": i}} for i in range(n)]
    return json.dumps({"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 3857}, "features": features})


def polygon(vertices: int) -> str:
    ring = [[i, i * i % 7] for i in range(vertices - 1)]
    ring.append(ring[0])
    feature = {"geometry": {"rings": [ring]}}
    return json.dumps(
        {"geometryType": "esriGeometryPolygon", "spatialReference": {"wkid": 3857}, "features": [feature]}
    )


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("limits")
    settings = auth_settings(
        tmp, max_request_bytes=4096, limits={"max_input_features": 3, "max_vertices_per_geometry": 6}
    )
    add_users(settings).close()
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_oversized_body(limited: TestClient) -> None:
    resp = limited.post("/rest/services/Open/GPServer/Buffer/execute", data={"in_features": "x" * 5000, "f": "json"})
    err = error(resp, 400)
    assert err["message"] == "Request too large." and "4096" in err["details"][0]
    token = error(limited.post("/tokens/generateToken", data={"username": "a" * 5000, "password": "p"}), 400)
    assert token["message"] == "Request too large."


def test_too_many_features_execute_and_submit(limited: TestClient) -> None:
    form = {"in_features": points(3), "buffer_distance_or_field": DIST, "f": "json"}
    ok = limited.post("/rest/services/Open/GPServer/Buffer/execute", data=form).json()
    assert "results" in ok, ok
    resp = limited.post(
        "/rest/services/Open/GPServer/Buffer/execute",
        data={"in_features": points(4), "buffer_distance_or_field": DIST, "f": "json"},
    )
    err = error(resp, 400)
    assert err == {
        "code": 400,
        "message": "Too many features.",
        "details": ["'in_features' has 4 features; at most 3 are accepted (GPSERVER_MAX_INPUT_FEATURES)."],
    }
    token = token_for(limited, "alice")
    form = {"in_features": points(4), "out_name": "a.geojson", "f": "json", "token": token}
    assert error(limited.post(f"{PRIVATE}/ExportFeatures/submitJob", data=form), 400)["message"] == "Too many features."


def test_too_many_vertices(limited: TestClient) -> None:
    url = "/rest/services/Open/GPServer/Buffer/execute"
    assert "results" in limited.post(url, data={"in_features": polygon(6), "buffer_distance_or_field": DIST}).json()
    err = error(limited.post(url, data={"in_features": polygon(7), "buffer_distance_or_field": DIST, "f": "json"}), 400)
    assert err["message"] == "Too many vertices." and "GPSERVER_MAX_VERTICES_PER_GEOMETRY" in err["details"][0]


def test_rate_limit_per_ip_and_per_user(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path, limits={"rate_limit": 4})
    add_users(settings).close()
    with TestClient(create_app(settings)) as c:
        token = c.post("/tokens", data={"username": "alice", "password": PASSWORD, "f": "json"}).json()["token"]
        for _ in range(3):
            assert "services" in c.get("/rest/services?f=json").json()
        resp = c.get("/rest/services?f=json")
        err = error(resp, 429)
        assert err["message"] == "Too many requests." and "GPSERVER_RATE_LIMIT" in err["details"][0]
        assert int(resp.headers["retry-after"]) >= 1
        # A signed-in user has an allowance of their own.
        for _ in range(4):
            assert "services" in c.get("/rest/services", params={"f": "json", "token": token}).json()
        assert error(c.get("/rest/services", params={"f": "json", "token": token}), 429)
        assert c.get("/rest/services", params={"f": "html"}).status_code == 429
