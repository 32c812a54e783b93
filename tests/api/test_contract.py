"""Resource shapes against hand-written golden files from the spec (§2, §3, §4)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import golden

REQUIRED_PARAM_KEYS = {
    "name", "dataType", "displayName", "description", "direction", "defaultValue", "parameterType", "category",
}  # fmt: skip


def test_catalog_root(client: TestClient) -> None:
    assert client.get("/rest/services", params={"f": "json"}).json() == golden("catalog.json")


def test_service(client: TestClient) -> None:
    assert client.get("/rest/services/SampleSync/GPServer?f=json").json() == golden("service_SampleSync.json")


def test_async_service_execution_type(client: TestClient) -> None:
    body = client.get("/rest/services/SampleAsync/GPServer?f=json").json()
    assert body["executionType"] == "esriExecutionTypeAsynchronous"
    assert body["resultMapServerName"] == ""
    task = client.get("/rest/services/SampleAsync/GPServer/Buffer?f=json").json()
    assert task["executionType"] == "esriExecutionTypeAsynchronous"


def test_buffer_task(client: TestClient) -> None:
    body = client.get("/rest/services/SampleSync/GPServer/Buffer", params={"f": "json"}).json()
    expected = golden("task_Buffer.json")
    assert [p["name"] for p in body["parameters"]] == [p["name"] for p in expected["parameters"]]
    assert body == expected


def test_project_task_parameters(client: TestClient) -> None:
    body = client.get("/rest/services/SampleSync/GPServer/Project?f=json").json()
    assert body["parameters"] == golden("task_Project_params.json")


def test_add_field_task_order_and_derived_output(client: TestClient) -> None:
    body = client.get("/rest/services/SampleSync/GPServer/AddField?f=json").json()
    names = [p["name"] for p in body["parameters"]]
    assert names == [
        "in_table", "field_name", "field_type", "field_precision", "field_scale", "field_length", "field_alias",
        "field_is_nullable", "out_table",
    ]  # fmt: skip
    out = body["parameters"][-1]
    assert out["direction"] == "esriGPParameterDirectionOutput"
    assert out["parameterType"] == "esriGPParameterTypeDerived"
    field_type = body["parameters"][2]
    assert field_type["parameterType"] == "esriGPParameterTypeRequired"
    assert "TEXT" in field_type["choiceList"] and "DOUBLE" in field_type["choiceList"]
    assert body["parameters"][3]["filter"] == {"type": "range", "minimum": 0, "maximum": 38}


@pytest.mark.parametrize("task", ["Buffer", "Project", "AddField"])
def test_every_parameter_has_the_eight_keys(client: TestClient, task: str) -> None:
    body = client.get(f"/rest/services/SampleSync/GPServer/{task}?f=json").json()
    for param in body["parameters"]:
        assert REQUIRED_PARAM_KEYS <= param.keys()
        assert all(isinstance(c, str) for c in param.get("choiceList", []))


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "path",
    [
        "/rest/services/SampleSync/GPServer/Buffer/",  # esri-leaflet's trailing slash
        "/rest/services/samplesync/GPServer/buffer",  # case-insensitive names
        "http://testserver//rest/services/SampleSync/GPServer/Buffer",
    ],
)
def test_paths_clients_build(client: TestClient, method: str, path: str) -> None:
    body = client.request(method, path, params={"f": "json"}).json()
    assert body["name"] == "Buffer"


def test_info_beside_services_also_with_double_slash(client: TestClient) -> None:
    for path in ("/rest/info", "http://testserver//rest/info", "http://testserver/rest//info"):
        body = client.get(path, params={"f": "json"}).json()
        assert body["currentVersion"] == 11.3
        # The bundled samples include a secured service (SampleSecured): token-based security is on.
        assert body["authInfo"] == {
            "isTokenBasedSecurity": True,
            "tokenServicesUrl": "http://testserver/tokens/generateToken",
            "shortLivedTokenValidity": 60,
        }
        assert "owningSystemUrl" not in body


def test_pjson_is_pretty_and_equal(client: TestClient) -> None:
    compact = client.get("/rest/services/SampleSync/GPServer?f=json")
    pretty = client.get("/rest/services/SampleSync/GPServer?f=pjson")
    assert b"\n  " in pretty.content and b"\n" not in compact.content
    assert pretty.json() == compact.json()


def test_absent_f_answers_json(client: TestClient) -> None:
    assert client.get("/rest/services/SampleSync/GPServer").json() == golden("service_SampleSync.json")


def test_jsonp_callback(client: TestClient) -> None:
    resp = client.get("/rest/services?f=json&callback=window._EsriLeafletCallbacks.c7")
    assert resp.headers["content-type"].startswith("text/javascript")
    assert resp.text.startswith("/**/window._EsriLeafletCallbacks.c7(") and resp.text.endswith(");")


def test_jsonp_refuses_script_injection(client: TestClient) -> None:
    resp = client.get("/rest/services", params={"f": "json", "callback": "alert(1);x"})
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == golden("catalog.json")


def test_cors_allows_every_origin_by_default(client: TestClient) -> None:
    resp = client.get("/rest/services?f=json", headers={"Origin": "https://maps.example.com"})
    assert resp.headers["access-control-allow-origin"] == "*"
    plain = client.get("/rest/services?f=json")  # no Origin (curl, the Python clients): no CORS headers
    assert "access-control-allow-origin" not in plain.headers
    assert plain.json() == resp.json()
    pre = client.options(
        "/rest/services/SampleSync/GPServer/Buffer/execute",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 200


def test_context_prefix(tmp_path) -> None:
    from gpserver.app import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(tmp_path, context="arcgis"))) as c:
        assert c.get("/arcgis/rest/services?f=json").json() == golden("catalog.json")
        assert c.get("/rest/services?f=json").json()["error"]["code"] == 400
