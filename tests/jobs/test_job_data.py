"""Jobs take the same inputs as execute (URLs, uploaded items) and answer file outputs with URLs;
the bundled sample model and toolbox run as jobs. Both runners."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

import gpserver.services
from tests.jobs.conftest import Stack, make_stack
from tests.net.featureserver import TOTAL, FeatureServer

pytestmark = pytest.mark.slow
SAMPLES = Path(gpserver.services.__file__).with_name("samples.yaml")


@pytest.fixture(scope="module")
def featureserver() -> Iterator[FeatureServer]:
    server = FeatureServer()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["celery", "embedded"])
def data_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The job test services, with the local FeatureServer's address allow-listed."""
    tmp = tmp_path_factory.mktemp(f"data-{request.param}")
    yield from make_stack(request.param, tmp, GPSERVER_INPUT_URL_ALLOWLIST="127.0.0.1")


@pytest.fixture(scope="module", params=["celery", "embedded"])
def sample_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The bundled sample services (the sample model and the sample toolbox)."""
    tmp = tmp_path_factory.mktemp(f"samples-{request.param}")
    yield from make_stack(request.param, tmp, GPSERVER_SERVICES_FILE=str(SAMPLES))


def succeeded(stack: Stack, task: str, job_id: str, service: str = "Jobs") -> dict[str, Any]:
    body = stack.wait(task, job_id, service)
    assert body["jobStatus"] == "esriJobSucceeded", body
    return body


def test_feature_set_by_url_with_paging(data_stack: Stack, featureserver: FeatureServer) -> None:
    job = data_stack.submit(
        "Buffer",
        in_features=json.dumps({"url": featureserver.layer()}),
        buffer_distance_or_field=json.dumps({"distance": 10, "units": "esriMeters"}),
    )
    succeeded(data_stack, "Buffer", job)
    value = data_stack.result("Buffer", job, "out_feature_class")["value"]
    assert len(value["features"]) == TOTAL  # three pages of 10, 10 and 5
    for feature in value["features"]:
        polygon = shapely.Polygon(feature["geometry"]["rings"][0])
        i = feature["attributes"]["ORIG_FID"]
        assert polygon.area == pytest.approx(math.pi * 100, rel=0.005)
        assert (polygon.centroid.x, polygon.centroid.y) == pytest.approx((1000.0 * i, 2000.0 * i), abs=1e-6)


def test_refused_url_fails_at_the_worker_with_a_clear_message(data_stack: Stack) -> None:
    job = data_stack.submit(
        "Buffer",
        in_features=json.dumps({"url": "http://169.254.169.254/latest/meta-data"}),
        buffer_distance_or_field=json.dumps({"distance": 10, "units": "esriMeters"}),
    )
    body = data_stack.wait("Buffer", job)
    assert body["jobStatus"] == "esriJobFailed"
    errors = " ".join(m["description"] for m in body["messages"] if m["type"] == "esriJobMessageTypeError")
    assert "169.254.169.254" in errors and "in_features" in errors


def test_upload_then_import_then_export_and_download(data_stack: Stack, tmp_path: Path) -> None:
    points = [(2.35, 48.85), (13.4, 52.52), (-3.7, 40.42)]
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": n}, "geometry": {"type": "Point", "coordinates": list(p)}}
            for n, p in zip(["Paris", "Berlin", "Madrid"], points, strict=True)
        ],
    }
    up = data_stack.http.post(
        "/rest/services/Jobs/GPServer/uploads/upload",
        data={"f": "json"},
        files={"file": ("cities.geojson", json.dumps(geojson).encode(), "application/geo+json")},
    ).json()
    assert up["success"] is True
    item = up["item"]["itemID"]

    job = data_stack.submit("ImportFile", in_file=json.dumps({"itemID": item}))
    succeeded(data_stack, "ImportFile", job)
    imported = data_stack.result("ImportFile", job, "out_features")["value"]
    got = sorted((f["attributes"]["name"], f["geometry"]["x"], f["geometry"]["y"]) for f in imported["features"])
    assert got == sorted((n, x, y) for n, (x, y) in zip(["Paris", "Berlin", "Madrid"], points, strict=True))

    job = data_stack.submit("ExportFeatures", in_features=json.dumps(imported), out_name="cities.geojson")
    succeeded(data_stack, "ExportFeatures", job)
    entry = data_stack.result("ExportFeatures", job, "out_file")
    assert entry["dataType"] == "GPDataFile"
    url = entry["value"]["url"]
    assert url == (f"{data_stack.server.url}/rest/directories/arcgisjobs/Jobs_gpserver/{job}/scratch/cities.geojson")
    download = data_stack.http.get(url)
    assert download.status_code == 200
    written = download.json()
    coords = sorted(tuple(f["geometry"]["coordinates"]) for f in written["features"])
    assert np.allclose(coords, sorted(points))
    # a file path of another job, or outside the job directory, is not served
    other = url.replace(job, "j" + "0" * 32)
    assert data_stack.http.get(other, params={"f": "json"}).json()["error"]["code"] == 400
    escape = url.replace("scratch/cities.geojson", "scratch/../../secret_key")
    assert data_stack.http.get(escape, params={"f": "json"}).json()["error"]["code"] == 400


def test_sample_model_runs_as_a_job(sample_stack: Stack) -> None:
    points = {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 3857},
        "features": [
            {"geometry": {"x": 0, "y": 0}},
            {"geometry": {"x": 500, "y": 0}},
            {"geometry": {"x": 9000, "y": 0}},
        ],
    }
    study = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 3857},
        "features": [
            {"geometry": {"rings": [[[-2000, -2000], [-2000, 2000], [2000, 2000], [2000, -2000], [-2000, -2000]]]}}
        ],
    }
    job = sample_stack.submit(
        "BufferClipDissolve",
        service="SampleModelsAsync",
        in_features=json.dumps(points),
        distance=json.dumps({"distance": 1000, "units": "esriMeters"}),
        study_area=json.dumps(study),
    )
    body = succeeded(sample_stack, "BufferClipDissolve", job, "SampleModelsAsync")
    steps = " ".join(m["description"] for m in body["messages"])
    assert all(f"[{step}]" in steps for step in ("buffer", "clip", "dissolve", "summarize"))
    value = sample_stack.result("BufferClipDissolve", job, "out_feature_class", service="SampleModelsAsync")["value"]
    assert len(value["features"]) == 1
    area = shapely.Polygon(value["features"][0]["geometry"]["rings"][0]).area
    expected = shapely.union_all([shapely.Point(0, 0).buffer(1000, 64), shapely.Point(500, 0).buffer(1000, 64)])
    expected = expected.intersection(shapely.box(-2000, -2000, 2000, 2000))
    assert area == pytest.approx(expected.area, rel=0.01)
    counts = [v for k, v in value["features"][0]["attributes"].items() if k.lower().endswith("count")]
    assert counts == [2]  # the point at x=9000 lies outside the study area


def test_sample_toolbox_tool_runs_as_a_job(sample_stack: Stack) -> None:
    polygons = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 3857},
        "features": [
            {"geometry": {"rings": [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]]}, "attributes": {"name": "a"}},
            {"geometry": {"rings": [[[20, 0], [20, 10], [30, 10], [30, 0], [20, 0]]]}, "attributes": {"name": "b"}},
        ],
    }
    pts = [(1, 1), (2, 2), (3, 3), (21, 5), (50, 50)]
    points = {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 3857},
        "features": [{"geometry": {"x": x, "y": y}} for x, y in pts],
    }
    job = sample_stack.submit(
        "PointsInPolygonCount",
        service="SampleModelsAsync",
        in_polygons=json.dumps(polygons),
        in_points=json.dumps(points),
    )
    succeeded(sample_stack, "PointsInPolygonCount", job, "SampleModelsAsync")
    entry = sample_stack.result("PointsInPolygonCount", job, "out_polygons", service="SampleModelsAsync")
    rows = {f["attributes"]["name"]: f["attributes"] for f in entry["value"]["features"]}
    assert (rows["a"]["PNT_COUNT"], rows["b"]["PNT_COUNT"]) == (3, 1)
