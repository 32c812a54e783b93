"""Every class of bad request answers with the ArcGIS error body (HTTP 200) and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import SYNC, points

PT = json.dumps(points([(0, 0)], 3857))
DIST = json.dumps({"distance": 10, "units": "esriMeters"})


def error_of(resp: Any, code: int = 400) -> dict[str, Any]:
    """The error object, after checking the envelope field by field."""
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    assert set(err) == {"code", "message", "details"}
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["details"], list) and all(isinstance(d, str) for d in err["details"])
    assert "Traceback" not in resp.text
    return err


@pytest.mark.parametrize(
    "path",
    [
        "/rest/services/Nope/GPServer",
        "/rest/services/Nope",
        "/rest/services/SampleSync/GPServer/Nope",
        "/rest/services/SampleSync/GPServer/Nope/execute",
        "/rest/services/Folder/Nope/GPServer/Buffer",
        "/rest/nothing/here",
        "/not/arcgis",
    ],
)
def test_unknown_resources(client: TestClient, path: str) -> None:
    err = error_of(client.get(path, params={"f": "json"}))
    assert err["message"] == "Invalid URL"


def test_unknown_task_names_it(client: TestClient) -> None:
    err = error_of(client.get(f"{SYNC}/Nope?f=json"))
    assert any("Nope" in d for d in err["details"])


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"buffer_distance_or_field": DIST}, "Missing required parameter 'in_features'"),
        ({"in_features": PT}, "Missing required parameter 'buffer_distance_or_field'"),
        ({"in_features": "{not json", "buffer_distance_or_field": DIST}, "in_features"),
        ({"in_features": "[1,2]", "buffer_distance_or_field": DIST}, "in_features"),
        ({"in_features": '{"features": 5}', "buffer_distance_or_field": DIST}, "in_features"),
        (
            {"in_features": '{"features": [{"geometry": {"x": "a", "y": 1}}]}', "buffer_distance_or_field": DIST},
            "in_features",
        ),
        (
            {
                "in_features": json.dumps(
                    {"geometryType": "esriGeometryPolygon", "features": [{"geometry": {"rings": [[[0, 0], [1, 1]]]}}]}
                ),
                "buffer_distance_or_field": DIST,
            },
            "in_features",
        ),
        ({"in_features": PT, "buffer_distance_or_field": '{"distance": "far"}'}, "buffer_distance_or_field"),
        ({"in_features": PT, "buffer_distance_or_field": '{"distance": 1, "units": "esriParsecs"}'}, "esriParsecs"),
        ({"in_features": PT, "buffer_distance_or_field": DIST, "dissolve_option": "SOME"}, "dissolve_option"),
        ({"in_features": PT, "buffer_distance_or_field": DIST, "env:outSR": "999999"}, "env:outSR"),
        ({"in_features": PT, "buffer_distance_or_field": DIST, "context": "[1]"}, "context"),
    ],
)
def test_bad_buffer_inputs(client: TestClient, params: dict[str, str], needle: str) -> None:
    err = error_of(client.post(f"{SYNC}/Buffer/execute", data={"f": "json", **params}))
    assert needle in " ".join([err["message"], *err["details"]])


def test_all_problems_reported_together(client: TestClient) -> None:
    err = error_of(client.post(f"{SYNC}/Buffer/execute", data={"f": "json", "dissolve_option": "X"}))
    text = " ".join(err["details"])
    assert "in_features" in text and "buffer_distance_or_field" in text and "dissolve_option" in text


def test_unknown_spatial_reference_in_feature_set(client: TestClient) -> None:
    fs = points([(0, 0)], 123456789)
    err = error_of(
        client.post(
            f"{SYNC}/Buffer/execute",
            data={"f": "json", "in_features": json.dumps(fs), "buffer_distance_or_field": DIST},
        )
    )
    assert "in_features" in " ".join([err["message"], *err["details"]])


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"out_coor_system": "999999"}, "out_coor_system"),
        ({"out_coor_system": '{"wkt": "PROJCS[nonsense"}'}, "out_coor_system"),
        ({"out_coor_system": "true"}, "out_coor_system"),
    ],
)
def test_bad_spatial_references(client: TestClient, params: dict[str, str], needle: str) -> None:
    err = error_of(client.post(f"{SYNC}/Project/execute", data={"f": "json", "in_dataset": PT, **params}))
    assert needle in " ".join(err["details"])


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"field_length": "abc"}, "field_length"),
        ({"field_precision": "100"}, "between 0 and 38"),
        ({"field_type": "COMPLEX"}, "field_type"),
        ({"field_name": "1bad"}, "invalid"),
    ],
)
def test_bad_add_field_inputs(client: TestClient, params: dict[str, str], needle: str) -> None:
    data = {"f": "json", "in_table": PT, "field_name": "Good", "field_type": "TEXT", **params}
    err = error_of(client.post(f"{SYNC}/AddField/execute", data=data))
    assert needle in " ".join([err["message"], *err["details"]])


def test_execute_on_async_service(client: TestClient) -> None:
    err = error_of(
        client.post(
            "/rest/services/SampleAsync/GPServer/Buffer/execute",
            data={"f": "json", "in_features": PT, "buffer_distance_or_field": DIST},
        )
    )
    assert "submitJob" in " ".join(err["details"])


def test_unknown_format(client: TestClient) -> None:
    err = error_of(client.get(f"{SYNC}?f=xml"))
    assert "xml" in " ".join(err["details"])


def test_error_with_pjson_and_callback(client: TestClient) -> None:
    resp = client.get("/rest/services/Nope/GPServer?f=pjson")
    assert resp.status_code == 200 and b"\n" in resp.content and resp.json()["error"]["code"] == 400
    resp = client.get("/rest/services/Nope/GPServer?f=json&callback=cb")
    assert resp.text.startswith("/**/cb(") and '"code":400' in resp.text


def test_html_errors_use_a_real_status(client: TestClient) -> None:
    resp = client.get("/rest/services/Nope/GPServer?f=html")
    assert resp.status_code == 400 and "Invalid URL" in resp.text


def test_body_too_large(tmp_path) -> None:
    from gpserver.app import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(tmp_path, max_request_bytes=2048))) as c:
        big = json.dumps(points([(float(i), 0.0) for i in range(200)], 3857))
        err = error_of(
            c.post(f"{SYNC}/Buffer/execute", data={"f": "json", "in_features": big, "buffer_distance_or_field": DIST})
        )
        assert "too large" in err["message"].lower()
        # nothing was lost: the server still answers a normal request
        ok = c.post(f"{SYNC}/Buffer/execute", data={"f": "json", "in_features": PT, "buffer_distance_or_field": DIST})
        assert "results" in ok.json()


def test_json_body_is_refused_clearly(client: TestClient) -> None:
    err = error_of(client.post(f"{SYNC}/Buffer/execute?f=json", json={"in_features": {}}))
    assert "form" in " ".join(err["details"])


def test_multipart_post_works(client: TestClient) -> None:
    resp = client.post(
        f"{SYNC}/Buffer/execute",
        params={"f": "json"},  # the JS SDK keeps f (and token) in the query with a FormData body
        files={"in_features": (None, PT), "buffer_distance_or_field": (None, DIST)},
    )
    assert len(resp.json()["results"][0]["value"]["features"]) == 1


def test_tool_failure_is_an_error_body_with_the_tool_message(client: TestClient) -> None:
    err = error_of(
        client.post(
            f"{SYNC}/Buffer/execute",
            data={"f": "json", "in_features": PT, "buffer_distance_or_field": "NoSuchField"},
        )
    )
    assert "NoSuchField" in err["message"]
