"""``submitJob`` in process: a large submit keeps its decoded inputs, and the collector paused, only
until its answer is sent, whatever the answer."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gpserver.api import jobs as api_jobs
from gpserver.app import create_app
from gpserver.jobs.store import large_inputs
from tests.api.helpers import points
from tests.conftest import free_port, make_settings

TASK = "/rest/services/SampleAsync/GPServer/Buffer"
DIST = json.dumps({"distance": 10, "units": "esriMeters"})


@pytest.fixture(autouse=True)
def _no_timely_end(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The pause's own time limit far away: only the request's own paths can have ended it."""
    monkeypatch.setattr(api_jobs, "PAUSE_LIMIT", 600.0)
    yield
    gc.enable()  # had a path missed it, later tests still run with the collector


def _large(bad_last: bool = False) -> str:
    """A feature set of over 64 KiB (a large submit); ``bad_last``: its last geometry is invalid."""
    fs = points([(i, i) for i in range(3000)], 3857)
    if bad_last:
        fs["features"][-1]["geometry"] = {"x": "east", "y": 0}
    text = json.dumps(fs)
    assert large_inputs({"in_features": text})
    return text


def test_a_large_submit_resumes_the_collector_once_answered(client: TestClient) -> None:
    assert gc.isenabled()
    resp = client.post(f"{TASK}/submitJob", data={"in_features": _large(), "buffer_distance_or_field": DIST})
    body = resp.json()
    assert resp.status_code == 200 and body["jobId"].startswith("j") and body["jobStatus"] == "esriJobSubmitted"
    assert gc.isenabled()  # the answer's background task freed the inputs, then ended the pause
    job = client.get(f"{TASK}/jobs/{body['jobId']}", params={"f": "json"}).json()
    assert job["jobId"] == body["jobId"]


def test_a_large_submit_that_fails_validation_resumes_the_collector(client: TestClient) -> None:
    resp = client.post(
        f"{TASK}/submitJob", data={"in_features": _large(bad_last=True), "buffer_distance_or_field": DIST, "f": "json"}
    )
    err = resp.json()["error"]
    assert err["code"] == 400 and any("features[2999]" in d for d in err["details"])
    assert gc.isenabled()


def test_a_large_submit_that_cannot_be_queued_resumes_the_collector(tmp_path: Path) -> None:
    """Validation passed and the pause was kept, then queueing failed (no broker listens): the
    error path ends the pause."""
    settings = make_settings(tmp_path, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        resp = client.post(f"{TASK}/submitJob", data={"in_features": _large(), "buffer_distance_or_field": DIST})
        err = resp.json()["error"]
        assert err["code"] == 500 and err["details"] == ["The job could not be queued."]
        assert gc.isenabled()
