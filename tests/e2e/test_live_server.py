"""A real uvicorn server (``gpserver serve`` subprocess), driven over HTTP and by a real client library."""

from __future__ import annotations

import json
import math
import warnings

import httpx
import pytest
import shapely

from tests.conftest import ServerProcess


def test_catalog_to_execute_over_http(live_server: ServerProcess) -> None:
    base = f"{live_server.url}/rest/services"
    with httpx.Client(timeout=30) as http:
        catalog = http.get(base, params={"f": "json"}).json()
        assert {"name": "SampleSync", "type": "GPServer"} in catalog["services"]
        service = http.post(f"{base}/SampleSync/GPServer", data={"f": "json"}).json()  # the Python API POSTs
        assert service["tasks"] == ["Buffer", "Project", "AddField"]
        task = http.get(f"{base}/SampleSync/GPServer/Buffer/", params={"f": "json"}).json()
        assert task["parameters"][0]["name"] == "in_features"
        fs = {
            "geometryType": "esriGeometryPoint",
            "spatialReference": {"wkid": 3857},
            "features": [{"geometry": {"x": 0, "y": 0}, "attributes": {"id": 1}}],
        }
        body = http.post(
            f"{base}/SampleSync/GPServer/Buffer/execute",
            data={"f": "json", "in_features": json.dumps(fs), "buffer_distance_or_field": "1000 Meters"},
        ).json()
        rings = body["results"][0]["value"]["features"][0]["geometry"]["rings"]
        assert shapely.Polygon(rings[0]).area == pytest.approx(math.pi * 1000**2, rel=0.005)
        assert http.get(f"{base}/Nope/GPServer?f=json").json()["error"]["code"] == 400


def test_slow_execute_does_not_block_the_server(live_server: ServerProcess) -> None:
    """A large execute runs off the event loop: metadata requests keep answering meanwhile."""
    import threading
    import time

    fs = {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 4326},
        "features": [{"geometry": {"x": (i % 360) - 180 + 0.5, "y": (i % 160) - 80 + 0.5}} for i in range(20000)],
    }
    url = f"{live_server.url}/rest/services/SampleSync/GPServer/Buffer/execute"
    done: list[float] = []

    def big() -> None:
        r = httpx.post(
            url,
            data={"f": "json", "in_features": json.dumps(fs), "buffer_distance_or_field": "1 Kilometers"},
            timeout=120,
        )
        assert len(r.json()["results"][0]["value"]["features"]) == 20000
        done.append(1.0)

    worker = threading.Thread(target=big)
    worker.start()
    answered_during = 0
    with httpx.Client(timeout=10) as http:
        time.sleep(0.3)  # let the big request reach its worker thread
        while worker.is_alive() and answered_during < 5:
            assert http.get(f"{live_server.url}/rest/info?f=json").json()["currentVersion"] == 11.3
            # counted only if the big execute was still running when the answer came: a blocked
            # event loop would answer only after it finished
            answered_during += worker.is_alive()
    worker.join()
    assert done
    assert answered_during >= 1


def test_bmi_restapi_client(live_server: ServerProcess) -> None:
    """bmi-arcgis-restapi (import name ``restapi``): list, describe, execute, read the result."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import restapi

        service = restapi.GPService(f"{live_server.url}/rest/services/SampleSync/GPServer")
        assert service.tasks == ["Buffer", "Project", "AddField"]
        task = restapi.GPTask(f"{live_server.url}/rest/services/SampleSync/GPServer/Project")
        assert task.isSynchronous
        assert task.outputParameter["name"] == "out_dataset"
        fs = {
            "geometryType": "esriGeometryPoint",
            "spatialReference": {"wkid": 4326},
            "features": [{"geometry": {"x": 2.35, "y": 48.85}, "attributes": {"name": "Paris"}}],
        }
        response = task.run(in_dataset=json.dumps(fs), out_coor_system="3857")
        entry = response.results[0]
        assert entry.paramName == "out_dataset" and entry.dataType == "GPFeatureRecordSetLayer"
        feature = entry.value["features"][0]
    import pyproj

    x, y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(2.35, 48.85)
    assert feature["geometry"]["x"] == pytest.approx(x, abs=1e-6)
    assert feature["geometry"]["y"] == pytest.approx(y, abs=1e-6)
    assert feature["attributes"]["name"] == "Paris"
