"""Synchronous execute of each built-in tool, checked against independent computations."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from gpserver.app import create_app
from tests.api.helpers import execute, points, result
from tests.conftest import make_settings


def polygon_of(rings: list[list[list[float]]]) -> shapely.Polygon:
    """Build a shapely polygon from Esri rings (first ring outer, the rest holes) for checks."""
    return shapely.Polygon(rings[0], rings[1:])


def signed_area(ring: list[list[float]]) -> float:
    """Shoelace area: negative for clockwise rings (y up)."""
    xy = np.asarray(ring)
    return float(0.5 * np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_buffer_planar_area(client: TestClient, method: str) -> None:
    body = execute(
        client,
        "Buffer",
        method,
        in_features=points([(500000, 4000000), (510000, 4000000)], 32633, Name=["a", "b"]),
        buffer_distance_or_field={"distance": 1000, "units": "esriMeters"},
    )
    value = result(body, "out_feature_class")
    assert value["geometryType"] == "esriGeometryPolygon"
    assert value["spatialReference"]["wkid"] == 32633
    assert value["exceededTransferLimit"] is False
    assert [f["name"] for f in value["fields"]] == ["OBJECTID", "Name", "BUFF_DIST", "ORIG_FID"]
    assert len(value["features"]) == 2
    for i, feature in enumerate(value["features"]):
        ring = feature["geometry"]["rings"][0]
        assert ring[0] == ring[-1]
        assert signed_area(ring) < 0  # Esri outer rings are clockwise
        area = polygon_of(feature["geometry"]["rings"]).area
        assert area == pytest.approx(math.pi * 1000**2, rel=0.005)
        centre = polygon_of(feature["geometry"]["rings"]).centroid
        assert (centre.x, centre.y) == pytest.approx((500000 + 10000 * i, 4000000), abs=0.01)
        assert feature["attributes"] == {"OBJECTID": i + 1, "Name": "ab"[i], "BUFF_DIST": 1000, "ORIG_FID": i + 1}
    messages = body["messages"]
    assert messages[0]["description"].startswith("Start Time:")
    assert messages[-1]["description"].startswith("Succeeded at")
    assert all(m["type"] == "esriJobMessageTypeInformative" for m in messages)


def test_buffer_units_are_converted(client: TestClient) -> None:
    body = execute(
        client,
        "Buffer",
        in_features=points([(500000, 4000000)], 32633),
        buffer_distance_or_field={"distance": 1, "units": "Esrimiles"},  # a client's spelling (spec 18.14)
    )
    rings = result(body, "out_feature_class")["features"][0]["geometry"]["rings"]
    assert polygon_of(rings).area == pytest.approx(math.pi * 1609.344**2, rel=0.005)


def test_buffer_geodesic_matches_pyproj_geod(client: TestClient) -> None:
    lon, lat = 10.0, 60.0
    body = execute(
        client,
        "Buffer",
        in_features=points([(lon, lat)], 4326),
        buffer_distance_or_field={"distance": 5, "units": "esriKilometers"},
    )
    value = result(body, "out_feature_class")
    assert value["spatialReference"]["wkid"] == 4326
    ring = np.asarray(value["features"][0]["geometry"]["rings"][0])
    geod = pyproj.Geod(ellps="WGS84")
    area, _ = geod.polygon_area_perimeter(ring[:, 0], ring[:, 1])
    assert abs(area) == pytest.approx(math.pi * 5000**2, rel=0.01)
    _, _, dist = geod.inv(np.full(len(ring), lon), np.full(len(ring), lat), ring[:, 0], ring[:, 1])
    assert dist == pytest.approx(np.full(len(ring), 5000.0), rel=1e-6)


def test_buffer_geodesic_line_in_lonlat(client: TestClient) -> None:
    line = {
        "geometryType": "esriGeometryPolyline",
        "spatialReference": {"wkid": 4326},
        "features": [{"geometry": {"paths": [[[10.0, 45.0], [10.1, 45.0]]]}, "attributes": {}}],
    }
    body = execute(
        client, "Buffer", in_features=line, buffer_distance_or_field={"distance": 100, "units": "esriMeters"}
    )
    ring = np.asarray(result(body, "out_feature_class")["features"][0]["geometry"]["rings"][0])
    geod = pyproj.Geod(ellps="WGS84")
    length = geod.inv(10.0, 45.0, 10.1, 45.0)[2]
    area = abs(geod.polygon_area_perimeter(ring[:, 0], ring[:, 1])[0])
    assert area == pytest.approx(2 * 100 * length + math.pi * 100**2, rel=0.01)


def test_buffer_dissolve_all_merges_overlaps(client: TestClient) -> None:
    body = execute(
        client,
        "Buffer",
        in_features=points([(0, 0), (1000, 0)], 3857),
        buffer_distance_or_field={"distance": 1000, "units": "esriMeters"},
        dissolve_option="ALL",
    )
    value = result(body, "out_feature_class")
    assert len(value["features"]) == 1
    merged = shapely.union_all([shapely.Point(0, 0).buffer(1000, 64), shapely.Point(1000, 0).buffer(1000, 64)])
    got = polygon_of(value["features"][0]["geometry"]["rings"])
    assert got.area == pytest.approx(merged.area, rel=0.005)
    assert [f["name"] for f in value["fields"]] == ["OBJECTID"]


def test_buffer_dissolve_list_by_field(client: TestClient) -> None:
    body = execute(
        client,
        "Buffer",
        in_features=points([(0, 0), (500, 0), (50000, 0)], 3857, Zone=["a", "a", "b"]),
        buffer_distance_or_field={"distance": 1000, "units": "esriMeters"},
        dissolve_option="LIST",
        dissolve_field=["Zone"],
    )
    value = result(body, "out_feature_class")
    zones = sorted(f["attributes"]["Zone"] for f in value["features"])
    assert zones == ["a", "b"]


def test_buffer_distance_from_field(client: TestClient) -> None:
    body = execute(
        client,
        "Buffer",
        in_features=points([(0, 0), (10000, 0)], 3857, Dist=[100.0, 200.0]),
        buffer_distance_or_field="Dist",
    )
    areas = [polygon_of(f["geometry"]["rings"]).area for f in result(body, "out_feature_class")["features"]]
    assert areas == pytest.approx([math.pi * 100**2, math.pi * 200**2], rel=0.005)


def test_buffer_flat_line_end(client: TestClient) -> None:
    line = {
        "geometryType": "esriGeometryPolyline",
        "spatialReference": {"wkid": 3857},
        "features": [{"geometry": {"paths": [[[0, 0], [1000, 0]]]}}],
    }
    body = execute(
        client,
        "Buffer",
        in_features=line,
        buffer_distance_or_field={"distance": 10, "units": "esriMeters"},
        line_end_type="FLAT",
    )
    rings = result(body, "out_feature_class")["features"][0]["geometry"]["rings"]
    assert polygon_of(rings).area == pytest.approx(1000 * 20, rel=1e-6)


def test_buffer_env_out_sr(client: TestClient) -> None:
    body = execute(
        client,
        "Buffer",
        in_features=points([(500000, 4000000)], 32633),
        buffer_distance_or_field={"distance": 100, "units": "esriMeters"},
        env__outSR="4326",
    )
    value = result(body, "out_feature_class")
    assert value["spatialReference"]["wkid"] == 4326
    ring = np.asarray(value["features"][0]["geometry"]["rings"][0])
    lon, lat = pyproj.Transformer.from_crs(32633, 4326, always_xy=True).transform(500000, 4000000)
    assert ring[:, 0].mean() == pytest.approx(lon, abs=1e-4)
    assert ring[:, 1].mean() == pytest.approx(lat, abs=1e-4)


def test_parameter_names_match_in_any_case(client: TestClient) -> None:
    """Inputs and request options are found whatever the case of their names, the exact name first."""
    body = execute(
        client,
        "Buffer",
        IN_FEATURES=points([(500000, 4000000)], 32633),
        Buffer_Distance_Or_Field={"distance": 100, "units": "esriMeters"},
        buffer_distance_or_field={"distance": 50, "units": "esriMeters"},  # the exact name wins
        ENV__OUTSR="4326",
    )
    value = result(body, "out_feature_class")
    assert value["spatialReference"]["wkid"] == 4326
    assert value["features"][0]["attributes"]["BUFF_DIST"] == 50


def test_project_matches_pyproj(client: TestClient) -> None:
    coords = [(-117.19, 34.05), (2.35, 48.85), (151.2, -33.86)]
    body = execute(client, "Project", in_dataset=points(coords, 4326), out_coor_system={"wkid": 3857})
    value = result(body, "out_dataset")
    assert value["spatialReference"] == {"wkid": 3857, "latestWkid": 3857}
    expected = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
    for (lon, lat), feature in zip(coords, value["features"], strict=True):
        x, y = expected.transform(lon, lat)
        assert feature["geometry"]["x"] == pytest.approx(x, abs=1e-6)
        assert feature["geometry"]["y"] == pytest.approx(y, abs=1e-6)


def test_project_with_datum_change_and_wkt_input_sr(client: TestClient) -> None:
    wkt = pyproj.CRS.from_epsg(4267).to_wkt("WKT1_ESRI")  # NAD27
    fs = points([(-100.0, 40.0)], 4326)
    fs["spatialReference"] = {"wkt": wkt}
    body = execute(client, "Project", in_dataset=fs, out_coor_system="4326")
    feature = result(body, "out_dataset")["features"][0]
    x, y = pyproj.Transformer.from_crs(4267, 4326, always_xy=True).transform(-100.0, 40.0)
    assert (feature["geometry"]["x"], feature["geometry"]["y"]) == pytest.approx((x, y), abs=1e-7)
    assert any("Transformation" in m["description"] for m in body["messages"])


def test_project_in_coor_system_for_unknown_input(client: TestClient) -> None:
    fs = {"geometryType": "esriGeometryPoint", "features": [{"geometry": {"x": 500000, "y": 4000000}}]}
    body = execute(client, "Project", in_dataset=fs, out_coor_system=4326, in_coor_system=32633)
    feature = result(body, "out_dataset")["features"][0]
    x, y = pyproj.Transformer.from_crs(32633, 4326, always_xy=True).transform(500000, 4000000)
    assert (feature["geometry"]["x"], feature["geometry"]["y"]) == pytest.approx((x, y), abs=1e-9)


def test_add_field_schema(client: TestClient) -> None:
    body = execute(
        client,
        "AddField",
        in_table=points([(1, 2), (3, 4)], 4326, Name=["a", "b"]),
        field_name="Score",
        field_type="DOUBLE",
        field_alias="The score",
    )
    value = result(body, "out_table")
    assert value["fields"][-1] == {
        "name": "Score",
        "type": "esriFieldTypeDouble",
        "alias": "The score",
        "nullable": True,
        "editable": True,
    }
    assert [f["attributes"] for f in value["features"]] == [
        {"OBJECTID": 1, "Name": "a", "Score": None},
        {"OBJECTID": 2, "Name": "b", "Score": None},
    ]
    assert [f["geometry"] for f in value["features"]] == [{"x": 1, "y": 2}, {"x": 3, "y": 4}]


def test_add_text_field_length_and_not_nullable(client: TestClient) -> None:
    body = execute(
        client,
        "AddField",
        in_table=points([(1, 2)], 4326),
        field_name="Label",
        field_type="text",  # choice lists match case-insensitively
        field_length=20,
        field_is_nullable="NON_NULLABLE",
    )
    value = result(body, "out_table")
    assert value["fields"][-1]["length"] == 20
    assert value["fields"][-1]["type"] == "esriFieldTypeString"
    assert value["features"][0]["attributes"]["Label"] == ""


@pytest.mark.parametrize("name", ["Name", "NAME"])
def test_add_field_duplicate_is_an_error(client: TestClient, name: str) -> None:
    body = execute(client, "AddField", in_table=points([(1, 2)], 4326, Name=["a"]), field_name=name, field_type="TEXT")
    assert body["error"]["code"] == 400
    assert "already exists" in body["error"]["message"]


def test_extra_and_empty_parameters_are_ignored(client: TestClient) -> None:
    body = execute(
        client,
        "Buffer",
        in_features=points([(0, 0)], 3857),
        buffer_distance_or_field={"distance": 1, "units": "esriMeters"},
        outputParam="out_feature_class",  # esri-leaflet-gp sends it
        env__outSR="",  # bmi restapi sends empty env values
        env__processSR="",
        returnZ="False",
        dissolve_option="",  # empty optional -> default
        line_side="",
    )
    assert len(result(body, "out_feature_class")["features"]) == 1


def test_maximum_records_truncates(tmp_path) -> None:
    from gpserver.app import create_app
    from tests.conftest import make_settings

    services = tmp_path / "services.yaml"
    services.write_text("services:\n  - name: Small\n    maximumRecords: 2\n    tools: [Project]\n")
    with TestClient(create_app(make_settings(tmp_path, services_file=services))) as c:
        resp = c.post(
            "/rest/services/Small/GPServer/Project/execute",
            data={
                "f": "json",
                "in_dataset": str(points([(0, 0)] * 3, 4326)).replace("'", '"'),
                "out_coor_system": "3857",
            },
        )
        value = result(resp.json(), "out_dataset")
    assert value["exceededTransferLimit"] is True
    assert value["features"] == []


def test_small_execute_of_an_unbounded_tool_leaves_the_event_loop_free(tmp_path: Path) -> None:
    """Small requests of built-in (``bounded``) tools run on the event loop; any other tool, however
    small its inputs, runs in a thread: a user tool that blocks must not stall other requests."""
    services = tmp_path / "services.yaml"
    services.write_text(
        "toolboxes: [tests.jobs.toolbox]\nservices:\n  - name: Now\n    execution: sync\n    tools: [Block, Buffer]\n"
    )
    app = create_app(make_settings(tmp_path, services_file=services))
    with TestClient(app, raise_server_exceptions=False) as http:
        url = "/rest/services/Now/GPServer/Block/execute"
        slow = threading.Thread(target=lambda: http.post(url, data={"seconds": "1.5", "f": "json"}))
        slow.start()
        time.sleep(0.3)  # the blocking tool is running now
        started = time.monotonic()
        info = http.get("/rest/info", params={"f": "json"})
        answered_in = time.monotonic() - started
        still_blocking = slow.is_alive()
        slow.join()
    assert info.json()["currentVersion"] == 11.3
    assert still_blocking and answered_in < 0.5  # not after the 1.5 s tool
    assert app.state.gp.catalog.service("Now").task("Buffer")[1].bounded is True
    assert app.state.gp.catalog.service("Now").task("Block")[1].bounded is False
