"""The job life cycle on both runners (Celery + PostgreSQL + Redis, and the embedded pool + SQLite)."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import orjson
import pytest
import shapely
from pyproj import Transformer

from tests.jobs.conftest import SLICE, Stack

pytestmark = pytest.mark.slow

INFO = "esriJobMessageTypeInformative"
WARNING = "esriJobMessageTypeWarning"
ERROR = "esriJobMessageTypeError"


def texts(body: dict[str, Any], kind: str | None = None) -> list[str]:
    return [m["description"] for m in body["messages"] if kind is None or m["type"] == kind]


def test_square_job_succeeds_with_links_messages_and_results(stack: Stack) -> None:
    job_id = stack.submit("Square", x="7")
    assert len(job_id) == 33 and job_id[0] == "j" and int(job_id[1:], 16) >= 0
    body = stack.wait("Square", job_id)
    assert body["jobStatus"] == "esriJobSucceeded"
    assert body["results"] == {"square": {"paramUrl": "results/square"}}
    assert body["inputs"] == {"x": {"paramUrl": "inputs/x"}}
    msgs = texts(body)
    assert msgs[:3] == ["Submitted.", "Executing...", msgs[2]] and msgs[2].startswith("Start Time: ")
    assert msgs[-1].startswith("Succeeded at ")
    assert "progress" not in body
    assert stack.result("Square", job_id, "square") == {"paramName": "square", "dataType": "GPLong", "value": 49}
    url = f"{stack.task_url('Square')}/jobs/{job_id}"
    assert stack.http.post(url + "/inputs/x", data={"f": "json"}).json() == {
        "paramName": "x",
        "dataType": "GPLong",
        "value": 7,
    }
    assert stack.http.post(url + "/results", data={"f": "json"}).json() == [
        {"paramName": "square", "dataType": "GPLong", "value": 49}
    ]
    assert stack.http.get(url + "/inputs", params={"f": "json"}).json()[0]["value"] == 7
    # The stored value is sent between its envelope: the same document as json, pjson and JSONP.
    plain = stack.http.get(url + "/results/square", params={"f": "json"})
    assert plain.headers["content-length"] == str(len(plain.content)) and plain.content.endswith(b"49}")
    pretty = stack.http.get(url + "/results/square", params={"f": "pjson"}).text
    assert "\n" in pretty and orjson.loads(pretty) == plain.json()
    jsonp = stack.http.get(url + "/results/square", params={"f": "json", "callback": "cb.c7"})
    assert jsonp.headers["content-type"].startswith("text/javascript")
    assert jsonp.content == b"/**/cb.c7(" + plain.content + b");"
    quiet = stack.http.post(url, data={"f": "json", "returnMessages": "false"}).json()
    assert "messages" not in quiet and quiet["jobStatus"] == "esriJobSucceeded"
    # A job is only visible under its own service and task.
    other = stack.http.get(f"{stack.task_url('Sleep')}/jobs/{job_id}", params={"f": "json"}).json()
    assert other["error"]["code"] == 400


UTM33 = {"wkid": 32633}


def point_set(x: float, y: float, sr: dict[str, Any]) -> str:
    return orjson.dumps(
        {"geometryType": "esriGeometryPoint", "spatialReference": sr, "features": [{"geometry": {"x": x, "y": y}}]}
    ).decode()


def test_buffer_project_addfield_jobs(stack: Stack) -> None:
    buffer = stack.submit(
        "Buffer",
        in_features=point_set(500000, 4649776, UTM33),
        buffer_distance_or_field='{"distance": 1000, "units": "esriMeters"}',
    )
    project = stack.submit(
        "Project", in_dataset=point_set(10.0, 45.0, {"wkid": 4326}), out_coor_system='{"wkid": 3857}'
    )
    add = stack.submit("AddField", in_table=point_set(1, 2, UTM33), field_name="HEIGHT", field_type="DOUBLE")
    assert stack.wait("Buffer", buffer)["jobStatus"] == "esriJobSucceeded"
    value = stack.result("Buffer", buffer, "out_feature_class")["value"]
    (feature,) = value["features"]
    area = shapely.Polygon(feature["geometry"]["rings"][0]).area
    assert area == pytest.approx(math.pi * 1000**2, rel=0.005)
    # Re-projected at request time (outSR): the centre is the point's longitude/latitude.
    lonlat = stack.result("Buffer", buffer, "out_feature_class", outSR="4326")["value"]
    ring = lonlat["features"][0]["geometry"]["rings"][0]
    centre = shapely.Polygon(ring).centroid
    lon, lat = Transformer.from_crs(32633, 4326, always_xy=True).transform(500000, 4649776)
    assert (centre.x, centre.y) == (pytest.approx(lon, abs=1e-4), pytest.approx(lat, abs=1e-4))

    assert stack.wait("Project", project)["jobStatus"] == "esriJobSucceeded"
    (pt,) = stack.result("Project", project, "out_dataset")["value"]["features"]
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(10.0, 45.0)
    assert (pt["geometry"]["x"], pt["geometry"]["y"]) == (pytest.approx(x, abs=0.01), pytest.approx(y, abs=0.01))

    assert stack.wait("AddField", add)["jobStatus"] == "esriJobSucceeded"
    out = stack.result("AddField", add, "out_table")["value"]
    assert "HEIGHT" in [f["name"] for f in out["fields"]]


def test_a_large_result_is_streamed_whole(stack: Stack) -> None:
    """A result over the slice size (GPSERVER_RESULT_SLICE_BYTES: 1 MiB in these tests; 2.6 MB here)
    is read and sent a slice at a time under one Content-Length, from the worker's copy of it or from
    the database; the document is the same as the pretty and the re-projected readings of it."""
    xs = 500_000 + 3_000 * np.arange(1_000, dtype=float)  # the service's maximumRecords
    fs = {
        "geometryType": "esriGeometryPoint",
        "spatialReference": UTM33,
        "features": [{"geometry": {"x": float(x), "y": 4649776.0}} for x in xs],
    }
    job = stack.submit(
        "Buffer",
        in_features=orjson.dumps(fs).decode(),
        buffer_distance_or_field='{"distance": 1000, "units": "esriMeters"}',
    )
    assert stack.wait("Buffer", job)["jobStatus"] == "esriJobSucceeded"
    url = f"{stack.task_url('Buffer')}/jobs/{job}/results/out_feature_class"
    resp = stack.http.get(url, params={"f": "json"})
    assert resp.status_code == 200 and int(resp.headers["content-length"]) == len(resp.content) > 2 * SLICE
    body = resp.json()
    assert (body["paramName"], body["dataType"]) == ("out_feature_class", "GPFeatureRecordSetLayer")
    rings = [f["geometry"]["rings"][0] for f in body["value"]["features"]]
    polys = shapely.polygons(rings)
    assert len(rings) == 1_000
    np.testing.assert_allclose(shapely.area(polys), math.pi * 1000**2, rtol=0.005)
    np.testing.assert_allclose(shapely.get_x(shapely.centroid(polys)), xs, atol=1e-6)
    assert orjson.loads(stack.http.get(url, params={"f": "pjson"}).content) == body
    jsonp = stack.http.get(url, params={"f": "json", "callback": "cb"}).content
    assert jsonp == b"/**/cb(" + resp.content + b");"
    lonlat = stack.http.get(url, params={"f": "json", "outSR": "4326"}).json()["value"]
    assert lonlat["spatialReference"]["wkid"] == 4326 and len(lonlat["features"]) == 1_000

    # The worker also wrote it to the job's directory (over GPSERVER_RESULT_COPY_BYTES, 1 MiB), and
    # those answers came from there; the jobs directory route does not serve it.
    copies = stack.tmp / "jobs" / job / ".results"
    (copy,) = copies.iterdir()
    assert copy.read_bytes() == orjson.dumps(body["value"])
    hidden = stack.http.get(f"/rest/directories/arcgisjobs/Jobs_gpserver/{job}/.results/{copy.name}")
    assert hidden.status_code == 200 and hidden.json()["error"]["code"] == 400  # ArcGIS's error body
    # Without the copy (an API that does not see the workers' directory) the database answers the same.
    copy.unlink()
    again = stack.http.get(url, params={"f": "json"})
    assert again.content == resp.content
    assert stack.http.get(url, params={"f": "json", "outSR": "4326"}).json()["value"] == lonlat


def test_bad_input_is_an_immediate_error_and_creates_no_job(stack: Stack) -> None:
    body = stack.http.post(stack.task_url("Square") + "/submitJob", data={"x": "seven", "f": "json"}).json()
    assert body["error"]["code"] == 400 and "jobId" not in body
    assert any("x" in d for d in body["error"]["details"])
    body = stack.http.get(stack.task_url("Square", "Now") + "/submitJob", params={"x": "2", "f": "json"}).json()
    assert body["error"]["code"] == 400
    body = stack.job("Square", "j" + "0" * 32)
    assert body["error"]["code"] == 400


def test_failed_job_reports_error_messages(stack: Stack) -> None:
    job_id = stack.submit("Fail")
    body = stack.wait("Fail", job_id)
    assert body["jobStatus"] == "esriJobFailed"
    assert "About to fail" in texts(body, WARNING)
    errors = texts(body, ERROR)
    assert "The tool failed" in errors and "failed on purpose" in errors
    assert "results" not in body
    assert stack.result("Fail", job_id, "square")["error"]["code"] == 400
    crash = stack.wait("Fail", stack.submit("Fail", reason="crash"))
    assert crash["jobStatus"] == "esriJobFailed"
    assert any("999999" in t for t in texts(crash, ERROR))


def test_cancel_waiting_and_executing_jobs(stack: Stack) -> None:
    sleepers = [stack.submit("Sleep", seconds="20") for _ in range(2)]  # both workers busy
    for job_id in sleepers:
        stack.wait("Sleep", job_id, until={"esriJobExecuting"})
    waiting = stack.submit("Square", x="3")
    time.sleep(0.3)
    assert stack.job("Square", waiting)["jobStatus"] == "esriJobSubmitted"
    cancelled = stack.http.post(f"{stack.task_url('Square')}/jobs/{waiting}/cancel", data={"f": "json"}).json()
    assert cancelled["jobStatus"] == "esriJobCancelled"
    assert texts(cancelled)[-1] == "Cancel complete."
    # Progress shows while executing (written with the heartbeat).
    deadline = time.monotonic() + 5
    while "progress" not in (running := stack.job("Sleep", sleepers[0])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running["progress"]["type"] == "step" and 0 <= running["progress"]["percent"] <= 100
    started = time.monotonic()
    for job_id in sleepers:
        reply = stack.http.get(f"{stack.task_url('Sleep')}/jobs/{job_id}/cancel", params={"f": "json"}).json()
        assert reply["jobStatus"] in ("esriJobCancelling", "esriJobCancelled")
    for job_id in sleepers:
        body = stack.wait("Sleep", job_id, timeout=10)
        assert body["jobStatus"] == "esriJobCancelled"
        assert texts(body)[-1] == "Cancel complete."
    assert time.monotonic() - started < 5
    # The cancelled waiting job never starts, even once its message reaches a worker.
    time.sleep(0.5)
    assert stack.job("Square", waiting)["jobStatus"] == "esriJobCancelled"
    again = stack.http.get(f"{stack.task_url('Square')}/jobs/{waiting}/cancel", params={"f": "json"}).json()
    assert again["error"]["code"] == 400


def test_cancel_of_a_non_cooperative_job(stack: Stack) -> None:
    job_id = stack.submit("Block", seconds="60")
    stack.wait("Block", job_id, until={"esriJobExecuting"})
    started = time.monotonic()
    stack.http.get(f"{stack.task_url('Block')}/jobs/{job_id}/cancel", params={"f": "json"})
    body = stack.wait("Block", job_id, timeout=10)
    assert body["jobStatus"] == "esriJobCancelled"
    assert time.monotonic() - started < 5
    # The killed process was replaced: jobs still run.
    assert stack.wait("Square", stack.submit("Square", x="4"))["jobStatus"] == "esriJobSucceeded"


@pytest.mark.parametrize("task", ["Sleep", "Block"])
def test_time_limit_ends_a_job_timed_out(stack: Stack, task: str) -> None:
    job_id = stack.submit(task, service="Limits/Short", seconds="60")
    stack.wait(task, job_id, service="Limits/Short", until={"esriJobExecuting"})
    started = time.monotonic()
    body = stack.wait(task, job_id, service="Limits/Short", timeout=15)
    assert body["jobStatus"] == "esriJobTimedOut"
    assert time.monotonic() - started < 2 + 5
    assert any("time limit" in t for t in texts(body, ERROR))
    assert stack.wait("Square", stack.submit("Square", x="5"))["jobStatus"] == "esriJobSucceeded"


def test_200_concurrent_jobs_all_succeed(stack: Stack) -> None:
    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(lambda i: (i, stack.submit("Square", x=str(i))), range(200)))
    deadline = time.monotonic() + 90
    pending = dict(ids)
    while pending and time.monotonic() < deadline:
        for i, job_id in list(pending.items()):
            if stack.job("Square", job_id, returnMessages="false")["jobStatus"] in {
                "esriJobSucceeded",
                "esriJobFailed",
            }:
                del pending[i]
        time.sleep(0.05)
    assert not pending
    with ThreadPoolExecutor(16) as pool:
        values = list(pool.map(lambda p: (p[0], stack.result("Square", p[1], "square")["value"]), ids))
    assert all(v == i * i for i, v in values)
