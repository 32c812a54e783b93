"""URL inputs against a live FeatureServer-like server: paging, tokens, limits and SSRF refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gpserver.app import create_app
from gpserver.net.fetch import AllowList, Fetcher, FetchError, redact
from gpserver.settings import FetchSettings, Settings
from tests.api.helpers import execute, result
from tests.conftest import make_settings
from tests.net.featureserver import TOKEN, TOTAL, FeatureServer

DIST = {"distance": 1, "units": "esriMeters"}


def fetch_settings(allow: tuple[str, ...] = (), **kw: Any) -> FetchSettings:
    """Fetch settings built explicitly."""
    values = {"fetch_timeout": 2.0, "fetch_max_bytes": 1_000_000, "fetch_max_pages": 10, **kw}
    return FetchSettings.model_construct(input_url_allowlist=list(allow), **values)


def app_settings(tmp: Path, allow: tuple[str, ...] = ("127.0.0.1",), **kw: Any) -> Settings:
    """App settings whose outbound client allows the test server (or not)."""
    return make_settings(tmp).model_copy(update={"fetch": fetch_settings(allow, **kw)})


@pytest.fixture
def allowed(tmp_path: Path) -> Iterator[TestClient]:
    """The app with 127.0.0.1 allow-listed, a 1 s timeout and a 1 MB cap."""
    settings = app_settings(tmp_path, fetch_timeout=1.0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def blocked(tmp_path: Path) -> Iterator[TestClient]:
    """The app with an empty allow-list (the default)."""
    with TestClient(create_app(app_settings(tmp_path, allow=())), raise_server_exceptions=False) as c:
        yield c


def buffered_ids(body: dict[str, Any]) -> list[int]:
    return sorted(f["attributes"]["id"] for f in result(body, "out_feature_class")["features"])


def error_details(body: dict[str, Any]) -> str:
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == 400
    return " ".join(body["error"]["details"])


# -- paging, filter, time, files ---------------------------------------------------------------------


def test_layer_url_pages_through_exceeded_transfer_limit(allowed: TestClient, featureserver: FeatureServer) -> None:
    before = len(featureserver.recorder.queries)
    body = execute(allowed, "Buffer", in_features={"url": featureserver.layer()}, buffer_distance_or_field=DIST)
    assert buffered_ids(body) == list(range(1, TOTAL + 1))
    queries = featureserver.recorder.queries[before:]
    assert len(queries) == 3  # 10 + 10 + 5
    assert [q.get("resultOffset") for q in queries] == [None, "10", "20"]
    assert all(q["where"] == "1=1" and q["outFields"] == "*" and q["f"] == "json" for q in queries)
    value = result(body, "out_feature_class")
    assert value["spatialReference"]["latestWkid"] == 3857


def test_filter_and_time_are_passed_on(allowed: TestClient, featureserver: FeatureServer) -> None:
    before = len(featureserver.recorder.queries)
    ref = {"url": featureserver.layer() + "/", "filter": "id > 20", "time": "967855732000,null"}
    body = execute(allowed, "Buffer", in_features=ref, buffer_distance_or_field=DIST)
    assert buffered_ids(body) == [21, 22, 23, 24, 25]
    query = featureserver.recorder.queries[before]
    assert query["where"] == "id > 20" and query["time"] == "967855732000,null"


def test_query_url_is_used_as_given_and_paged(allowed: TestClient, featureserver: FeatureServer) -> None:
    url = featureserver.layer() + "/query?where=id%20%3E%205&outFields=*&f=json"
    body = execute(allowed, "Buffer", in_features={"url": url}, buffer_distance_or_field=DIST)
    assert buffered_ids(body) == list(range(6, TOTAL + 1))


def test_json_file_url(allowed: TestClient, featureserver: FeatureServer) -> None:
    body = execute(
        allowed, "Buffer", in_features={"url": f"{featureserver.url}/data/points.json"}, buffer_distance_or_field=DIST
    )
    assert buffered_ids(body) == [1, 2, 3]


def test_multivalue_and_get_requests_resolve_too(allowed: TestClient, featureserver: FeatureServer) -> None:
    body = execute(
        allowed,
        "Buffer",
        "GET",
        in_features={"url": featureserver.layer(), "filter": "id > 23"},
        buffer_distance_or_field=DIST,
    )
    assert buffered_ids(body) == [24, 25]


# -- tokens -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["member", "in_url"])
def test_token_member_or_in_url(allowed: TestClient, featureserver: FeatureServer, how: str) -> None:
    layer = featureserver.layer("Secure")
    ref = {"url": layer, "token": TOKEN} if how == "member" else {"url": f"{layer}?token={TOKEN}"}
    body = execute(allowed, "Buffer", in_features=ref, buffer_distance_or_field=DIST)
    assert buffered_ids(body) == list(range(1, TOTAL + 1))


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ({"token": "wrong-token-xyz"}, "refused the token (498"),
        ({}, "requires a token (499"),
    ],
)
def test_bad_or_missing_token_is_a_clear_error(
    allowed: TestClient, featureserver: FeatureServer, ref: dict[str, str], expected: str
) -> None:
    layer = featureserver.layer("Secure")
    body = execute(allowed, "Buffer", in_features={"url": layer, **ref}, buffer_distance_or_field=DIST)
    text = error_details(body)
    assert expected in text and "'in_features'" in text and layer in text
    assert "wrong-token-xyz" not in text


def test_token_in_url_never_appears_in_errors(allowed: TestClient, featureserver: FeatureServer) -> None:
    url = f"{featureserver.layer('Secure')}?token=wrong-token-in-url"
    body = execute(allowed, "Buffer", in_features={"url": url}, buffer_distance_or_field=DIST)
    text = error_details(body)
    assert "refused the token" in text and "wrong-token-in-url" not in text and "token=" not in text


# -- limits -------------------------------------------------------------------------------------------


def test_slow_server_times_out_fast(allowed: TestClient, featureserver: FeatureServer) -> None:
    started = time.monotonic()
    body = execute(
        allowed,
        "Buffer",
        in_features={"url": f"{featureserver.url}/slow/FeatureServer/0"},
        buffer_distance_or_field=DIST,
    )
    assert time.monotonic() - started < 2.5
    assert "no answer within 1 seconds" in error_details(body)


def test_dripping_server_hits_the_overall_deadline(featureserver: FeatureServer) -> None:
    started = time.monotonic()
    with Fetcher(fetch_settings(("127.0.0.1",), fetch_timeout=1.0)) as fetcher:
        with pytest.raises(FetchError, match="longer than 1 seconds"):
            fetcher.get(f"{featureserver.url}/drip/FeatureServer/0/query")
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("path", ["big", "chunked"])
def test_oversized_response_is_cut_off(allowed: TestClient, featureserver: FeatureServer, path: str) -> None:
    body = execute(
        allowed,
        "Buffer",
        in_features={"url": f"{featureserver.url}/{path}/FeatureServer/0"},
        buffer_distance_or_field=DIST,
    )
    assert "larger than the limit of 1000000 bytes" in error_details(body)


def test_too_many_pages(featureserver: FeatureServer) -> None:
    with Fetcher(fetch_settings(("127.0.0.1",), fetch_max_pages=2)) as fetcher:
        with pytest.raises(FetchError, match="more than 2 pages"):
            fetcher.feature_set(featureserver.layer())


# -- SSRF ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]"])
def test_loopback_in_any_spelling_is_refused(blocked: TestClient, featureserver: FeatureServer, host: str) -> None:
    # The test server listens there: a missing check would answer with features, not an error.
    before = len(featureserver.recorder.queries)
    url = f"http://{host}:{featureserver.port}/arcgis/rest/services/Pts/FeatureServer/0"
    body = execute(blocked, "Buffer", in_features={"url": url}, buffer_distance_or_field=DIST)
    text = error_details(body)
    assert "non-public address" in text and "GPSERVER_INPUT_URL_ALLOWLIST" in text and "'in_features'" in text
    assert len(featureserver.recorder.queries) == before


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x/FeatureServer/0", "http://[::1]:9/x.json"]
)
def test_private_and_metadata_addresses_are_refused(url: str) -> None:
    with Fetcher(fetch_settings(("127.0.0.1",))) as fetcher:
        with pytest.raises(FetchError, match="non-public address"):
            fetcher.get_json(url)


@pytest.mark.parametrize("target", ["http://10.0.0.1/data.json", "http://169.254.169.254/latest/meta-data/"])
def test_redirect_into_a_private_range_is_refused(
    allowed: TestClient, featureserver: FeatureServer, target: str
) -> None:
    url = f"{featureserver.url}/redirect?to={target}"
    started = time.monotonic()
    body = execute(allowed, "Buffer", in_features={"url": url}, buffer_distance_or_field=DIST)
    assert "non-public address" in error_details(body)
    assert time.monotonic() - started < 1.0  # refused before any connection attempt


def test_redirect_to_an_allowed_place_is_followed(featureserver: FeatureServer) -> None:
    with Fetcher(fetch_settings(("127.0.0.1",))) as fetcher:
        body = fetcher.feature_set(f"{featureserver.url}/redirect?to=/data/points.json")
    assert len(body["features"]) == 3


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.json", "gopher://127.0.0.1/"])
def test_only_http_and_https(url: str) -> None:
    with Fetcher(fetch_settings(("127.0.0.1",))) as fetcher:
        with pytest.raises(FetchError, match="only http and https"):
            fetcher.get(url)


def test_allowlisted_host_name_keeps_its_host_header(featureserver: FeatureServer) -> None:
    """Connected to the pinned address, the request still names the host it was sent to."""
    with Fetcher(fetch_settings(("localhost",))) as fetcher:
        body = fetcher.get_json(f"http://localhost:{featureserver.port}/echo/FeatureServer/0/query")
    assert body["host"] == f"localhost:{featureserver.port}"


def test_allowlist_cidr_exempts_its_addresses(featureserver: FeatureServer) -> None:
    with Fetcher(fetch_settings(("127.0.0.0/8",))) as fetcher:
        assert len(fetcher.feature_set(f"{featureserver.url}/data/points.json")["features"]) == 3


def test_allowlist_parsing_and_redaction() -> None:
    allow = AllowList.parse(["gis.local", "10.1.0.0/16", " ", "[::1]"])
    assert allow.hosts == frozenset({"gis.local"})
    assert len(allow.networks) == 2
    assert redact("https://h/a/query?where=1%3D1&Token=abc&f=json") == "https://h/a/query?where=1%3D1&f=json"
    assert redact("https://h/a?token=abc") == "https://h/a"
