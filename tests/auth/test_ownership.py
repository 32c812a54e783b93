"""Jobs of a secured service belong to their submitter: others get the unknown-job answer, on the
embedded runner in-process and on both real stacks (Celery + PostgreSQL, embedded + SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gpserver.app import create_app
from gpserver.auth.service import Authenticator
from tests.auth.conftest import PASSWORD, PRIVATE, SERVICES, USERS, add_users, auth_settings, error
from tests.conftest import REDIS_URL, make_settings
from tests.jobs.conftest import Stack, _pg_database, forget_queue, stack_env, upgrade

UNKNOWN = "j" + "0" * 32
Get = Callable[..., Any]


def job_views(get: Get, task_url: str, job_id: str, token: str | None) -> list[tuple[str, Any]]:
    """Every job resource, as (suffix, body) with the job id masked, so answers can be compared."""
    out = []
    for suffix in ("", "/results", "/results/square", "/inputs", "/inputs/x", "/cancel"):
        params = {"f": "json", **({"token": token} if token else {})}
        text = get(f"{task_url}/jobs/{job_id}{suffix}", params).text
        out.append((suffix, json.loads(text.replace(job_id, "<id>"))))
    return out


def assert_hidden(get: Get, task_url: str, job_id: str, token: str) -> None:
    """A job answers exactly as a job that does not exist, on every resource."""
    seen = job_views(get, task_url, job_id, token)
    assert seen == job_views(get, task_url, UNKNOWN, token)
    assert all(body["error"]["code"] == 400 and body["error"]["message"] == "Invalid URL" for _, body in seen)


def wait(get: Get, url: str, token: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = get(url, {"f": "json", "token": token}).json()
        if body.get("jobStatus") in ("esriJobSucceeded", "esriJobFailed", "esriJobCancelled") or "error" in body:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_jobs_belong_to_their_submitter(client: TestClient) -> None:
    tokens = {u: client.post("/tokens", data={"username": u, "password": PASSWORD, "f": "json"}).json()["token"]
              for u in ("alice", "bob", "root")}  # fmt: skip
    get: Get = lambda url, params: client.get(url, params=params)  # noqa: E731
    task = f"{PRIVATE}/Square"
    job = client.post(f"{task}/submitJob", data={"x": "7", "f": "json", "token": tokens["alice"]}).json()["jobId"]
    assert wait(get, f"{task}/jobs/{job}", tokens["alice"])["jobStatus"] == "esriJobSucceeded"
    assert get(f"{task}/jobs/{job}/results/square", {"f": "json", "token": tokens["alice"]}).json()["value"] == 49
    assert_hidden(get, task, job, tokens["bob"])
    admin = get(f"{task}/jobs/{job}/results/square", {"f": "json", "token": tokens["root"]}).json()
    assert admin["value"] == 49
    # Public services stay public: anyone with the id sees a job there.
    public = "/rest/services/OpenJobs/GPServer/Square"
    open_job = client.post(f"{public}/submitJob", data={"x": "2", "f": "json", "token": tokens["alice"]}).json()
    assert client.get(f"{public}/jobs/{open_job['jobId']}?f=json").json()["jobId"] == open_job["jobId"]


def test_cancel_by_another_user_is_refused_like_an_unknown_job(client: TestClient) -> None:
    alice = client.post("/tokens", data={"username": "alice", "password": PASSWORD, "f": "json"}).json()["token"]
    bob = client.post("/tokens", data={"username": "bob", "password": PASSWORD, "f": "json"}).json()["token"]
    task = f"{PRIVATE}/Sleep"
    job = client.post(f"{task}/submitJob", data={"seconds": "30", "f": "json", "token": alice}).json()["jobId"]
    refused = client.post(f"{task}/jobs/{job}/cancel", data={"f": "json", "token": bob}).json()
    unknown = client.post(f"{task}/jobs/{UNKNOWN}/cancel", data={"f": "json", "token": bob}).json()
    assert json.loads(json.dumps(refused).replace(job, UNKNOWN)) == unknown
    status = client.get(f"{task}/jobs/{job}", params={"f": "json", "token": alice}).json()["jobStatus"]
    assert status in ("esriJobSubmitted", "esriJobExecuting")
    assert client.post(f"{task}/jobs/{job}/cancel", data={"f": "json", "token": alice}).json()["jobStatus"] in (
        "esriJobCancelled", "esriJobCancelling",
    )  # fmt: skip


def test_queued_jobs_per_user_limit(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path, limits={"max_queued_jobs_per_user": 2})
    add_users(settings).close()
    with TestClient(create_app(settings)) as c:
        alice = c.post("/tokens", data={"username": "alice", "password": PASSWORD, "f": "json"}).json()["token"]
        bob = c.post("/tokens", data={"username": "bob", "password": PASSWORD, "f": "json"}).json()["token"]
        url = f"{PRIVATE}/Sleep/submitJob"
        jobs = [c.post(url, data={"seconds": "30", "f": "json", "token": alice}).json()["jobId"] for _ in range(2)]
        err = error(c.post(url, data={"seconds": "30", "f": "json", "token": alice}), 429)
        assert err["message"] == "Too many jobs." and "GPSERVER_MAX_QUEUED_JOBS_PER_USER" in err["details"][0]
        assert "jobId" in c.post(url, data={"seconds": "0", "f": "json", "token": bob}).json()  # per user
        c.post(f"{PRIVATE}/Sleep/jobs/{jobs[0]}/cancel", data={"f": "json", "token": alice})
        assert "jobId" in c.post(url, data={"seconds": "0", "f": "json", "token": alice}).json()
        for job in jobs:
            c.post(f"{PRIVATE}/Sleep/jobs/{job}/cancel", data={"f": "json", "token": alice})


# -- the real stacks ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["celery", "embedded"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp(f"own-{request.param}")
    databases = _pg_database() if request.param == "celery" else iter([None])
    for url in databases:
        if url is not None:
            upgrade(url)
        env = {**stack_env(request.param, tmp, url), "GPSERVER_SERVICES_FILE": str(SERVICES)}
        # alice through the CLI, as an administrator would; the others directly (hashing is slow).
        subprocess.run(
            [sys.executable, "-m", "gpserver", "user", "add", "alice", "--role", "publisher", "--password-stdin"],
            input=PASSWORD, text=True, env={**os.environ, **env}, check=True, capture_output=True,
        )  # fmt: skip
        auth = Authenticator(make_settings(tmp, database_url=url))
        for user, role in USERS.items():
            if user != "alice":
                auth.users.add(user, PASSWORD, role)
        auth.close()
        stack = Stack(request.param, tmp, env)
        try:
            yield stack
        finally:
            stack.close()
            if url is not None:
                forget_queue(REDIS_URL, env["GPSERVER_JOB_QUEUE"])


def test_ownership_on_real_stacks(stack: Stack) -> None:
    http = stack.http
    tokens = {u: http.post("/tokens/generateToken", data={"username": u, "password": PASSWORD, "f": "json"}).json()
              ["token"] for u in ("alice", "bob", "root")}  # fmt: skip
    get: Get = lambda url, params: http.get(url, params=params)  # noqa: E731
    task = f"{PRIVATE}/ExportFeatures"
    features = {"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326},
                "features": [{"geometry": {"x": 1, "y": 2}, "attributes": {"name": "a"}}]}  # fmt: skip
    form = {"in_features": json.dumps(features), "out_name": "pts.geojson", "f": "json"}
    job = http.post(f"{task}/submitJob", data=form, headers={"X-Esri-Authorization": f"Bearer {tokens['alice']}"})
    job_id = job.json()["jobId"]
    assert wait(get, f"{task}/jobs/{job_id}", tokens["alice"])["jobStatus"] == "esriJobSucceeded"
    assert_hidden(get, task, job_id, tokens["bob"])
    result = get(f"{task}/jobs/{job_id}/results/out_file", {"f": "json", "token": tokens["root"]}).json()
    file_url = httpx.URL(result["value"]["url"])
    assert job_id in file_url.path and file_url.path.startswith("/rest/directories/arcgisjobs/Private_Jobs_gpserver/")
    owner_file = http.get(file_url.path, params={"token": tokens["alice"]})
    assert owner_file.status_code == 200 and b"FeatureCollection" in owner_file.content
    assert http.get(file_url.path, headers={"Cookie": f"agstoken={tokens['root']}"}).status_code == 200
    other = http.get(file_url.path, params={"token": tokens["bob"], "f": "json"}).text
    unknown = http.get(file_url.path.replace(job_id, UNKNOWN), params={"token": tokens["bob"], "f": "json"}).text
    assert other.replace(job_id, UNKNOWN) == unknown
    assert error(http.get(file_url.path, params={"f": "json"}), 499)
