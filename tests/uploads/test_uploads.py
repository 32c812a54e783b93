"""The uploads resource, itemID inputs, output files, and the upload -> execute -> download round trip."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from gpserver.app import create_app
from gpserver.errors import InvalidParameterError
from tests.api.helpers import points, result
from tests.conftest import make_settings

FILES = "/rest/services/Files/GPServer"
SERVICES = """
services:
  - name: Files
    uploads: true
    tools: [ImportFile, ExportFeatures, Buffer]
  - name: NoUploads
    tools: [ImportFile]
"""
GEOJSON: dict[str, Any] = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [10.0 + i / 7, 60.0 - i / 3]},
            "properties": {"name": f"site {i}", "depth": 1.25 * i, "count": i * 3},
        }
        for i in range(12)
    ],
}
CSV = "name,depth,count,lon,lat\n" + "".join(
    f"site {i},{1.25 * i},{i * 3},{10 + i / 7},{60 - i / 3}\n" for i in range(12)
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    services = tmp_path / "services.yaml"
    services.write_text(SERVICES)
    settings = make_settings(tmp_path, services_file=services)
    settings = settings.model_copy(update={"files": settings.files.model_copy(update={"max_upload_bytes": 200_000})})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def upload(client: TestClient, name: str, data: bytes, service: str = "Files", **fields: str) -> dict[str, Any]:
    resp = client.post(
        f"/rest/services/{service}/GPServer/uploads/upload", files={"file": (name, data)}, data={"f": "json", **fields}
    )
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def run(client: TestClient, task: str, **params: Any) -> dict[str, Any]:
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    body: dict[str, Any] = client.post(f"{FILES}/{task}/execute", data={"f": "json", **form}).json()
    return body


def error_text(body: dict[str, Any]) -> str:
    assert set(body) == {"error"}, body
    return f"{body['error']['message']} {' '.join(body['error']['details'])}"


# -- the uploads resource -----------------------------------------------------------------------------


def test_upload_item_info_and_delete(client: TestClient) -> None:
    body = upload(client, "lake.geojson", b"{}", description="Lake Tahoe")
    assert body["success"] is True
    item = body["item"]
    assert set(item) == {"itemID", "itemName", "description", "date", "committed"}
    assert item["itemID"].startswith("i") and len(item["itemID"]) == 37
    assert (item["itemName"], item["description"], item["committed"]) == ("lake.geojson", "Lake Tahoe", True)
    info = client.get(f"{FILES}/uploads/{item['itemID']}", params={"f": "json"}).json()
    assert info == {"item": item}
    assert client.post(f"{FILES}/uploads/{item['itemID']}/delete", data={"f": "json"}).json()["success"] is True
    gone = client.get(f"{FILES}/uploads/{item['itemID']}", params={"f": "json"}).json()
    assert gone["error"]["code"] == 400


def test_service_json_names_the_capability(client: TestClient) -> None:
    assert client.get(FILES, params={"f": "json"}).json()["capabilities"] == "Uploads"
    assert client.get("/rest/services/NoUploads/GPServer", params={"f": "json"}).json()["capabilities"] == ""
    refused = upload(client, "a.json", b"{}", service="NoUploads")
    assert refused["error"]["message"] == "Invalid URL"


def test_size_limit_and_extensions(client: TestClient) -> None:
    too_big = upload(client, "big.csv", b"x" * 300_000)
    assert "larger than the limit" in error_text(too_big)
    assert "may not be uploaded" in error_text(upload(client, "tool.exe", b"MZ"))
    assert "may not be uploaded" in error_text(upload(client, "noextension", b"x"))


@pytest.mark.parametrize("name", ["../../etc/passwd.json", "..\\..\\win.json", "/abs/path/x.json", "a b;$(rm).json"])
def test_file_names_cannot_leave_the_item_folder(client: TestClient, tmp_path: Path, name: str) -> None:
    item = upload(client, name, b"{}")["item"]
    assert "/" not in item["itemName"] and "\\" not in item["itemName"] and not item["itemName"].startswith(".")
    stored = list((tmp_path / "uploads" / item["itemID"]).iterdir())
    assert sorted(p.name for p in stored) == sorted([item["itemName"], "item.json"])


@pytest.mark.parametrize("item_id", ["..", "i123", "..%2F..%2Fsecret_key", "I" + "0" * 36, "item.json"])
def test_bad_item_ids_are_not_found(client: TestClient, item_id: str) -> None:
    if item_id != "..":  # the HTTP client itself normalises that path away
        body = client.get(f"{FILES}/uploads/{item_id}", params={"f": "json"}).json()
        assert body["error"]["code"] == 400
    body = run(client, "ImportFile", in_file={"itemID": item_id})
    assert "no uploaded item" in error_text(body)


def test_items_belong_to_their_service(client: TestClient, tmp_path: Path) -> None:
    item = upload(client, "pts.geojson", json.dumps(GEOJSON).encode())["item"]["itemID"]
    body = client.post(
        "/rest/services/NoUploads/GPServer/ImportFile/execute",
        data={"f": "json", "in_file": json.dumps({"itemID": item})},
    ).json()
    assert "does not accept uploaded items" in error_text(body)
    services = tmp_path / "other.yaml"
    services.write_text("services:\n  - {name: Other, uploads: true, tools: [ImportFile]}\n")
    settings = make_settings(tmp_path, services_file=services)
    with TestClient(create_app(settings), raise_server_exceptions=False) as other:
        body = other.post(
            "/rest/services/Other/GPServer/ImportFile/execute",
            data={"f": "json", "in_file": json.dumps({"itemID": item})},
        ).json()
    assert "no uploaded item" in error_text(body)


# -- itemID inputs ------------------------------------------------------------------------------------


def test_feature_set_by_item_id(client: TestClient) -> None:
    fs = points([(500000, 4000000), (501000, 4000000)], 32633, Name=["a", "b"])
    item = upload(client, "pts.json", json.dumps(fs).encode())["item"]["itemID"]
    body = run(client, "Buffer", in_features={"itemID": item}, buffer_distance_or_field="10 Meters")
    value = result(body, "out_feature_class")
    assert [f["attributes"]["Name"] for f in value["features"]] == ["a", "b"]


def test_file_filter_refuses_other_types(client: TestClient) -> None:
    item = upload(client, "notes.txt", b"hello")["item"]["itemID"]
    text = error_text(run(client, "ImportFile", in_file={"itemID": item}))
    assert "'in_file' must be a file of type" in text and "'txt'" in text


def test_unreadable_file_is_a_tool_error(client: TestClient) -> None:
    item = upload(client, "broken.gpkg", b"not a geopackage")["item"]["itemID"]
    text = error_text(run(client, "ImportFile", in_file={"itemID": item}))
    assert "cannot be read as a gpkg file" in text


def test_portal_items_are_refused_clearly(client: TestClient) -> None:
    text = error_text(run(client, "ImportFile", in_file={"portalItemID": "abc"}))
    assert "portal items" in text


def test_inline_multipart_file_part(client: TestClient, tmp_path: Path) -> None:
    resp = client.post(
        f"{FILES}/ImportFile/execute",
        data={"f": "json"},
        files={"in_file": ("pts.geojson", json.dumps(GEOJSON).encode(), "application/geo+json")},
    )
    assert len(result(resp.json(), "out_features")["features"]) == 12
    scratch = tmp_path / "tmp"  # the part was written to the request's own directory, removed after
    assert scratch.is_dir() and list(scratch.iterdir()) == []


# -- the round trip -----------------------------------------------------------------------------------


def expected_frame() -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    feats = GEOJSON["features"]
    xy = np.array([f["geometry"]["coordinates"] for f in feats])
    return (
        xy,
        [f["properties"]["name"] for f in feats],
        np.array([f["properties"]["depth"] for f in feats]),
        np.array([f["properties"]["count"] for f in feats]),
    )


def read_back(data: bytes, fmt: str, tmp: Path) -> Any:
    path = tmp / {"GeoJSON": "x.geojson", "GPKG": "x.gpkg", "Shapefile": "x.zip", "CSV": "x.csv"}[fmt]
    path.write_bytes(data)
    if fmt == "Shapefile":
        assert {Path(n).suffix for n in zipfile.ZipFile(io.BytesIO(data)).namelist()} >= {
            ".shp",
            ".shx",
            ".dbf",
            ".prj",
        }
    return pyogrio.read_dataframe(
        path, **({"GEOM_POSSIBLE_NAMES": "WKT", "KEEP_GEOM_COLUMNS": "NO"} if fmt == "CSV" else {})
    )


@pytest.mark.parametrize("source", ["geojson", "csv"])
@pytest.mark.parametrize("fmt", ["GeoJSON", "GPKG", "Shapefile", "CSV"])
def test_upload_import_export_download(client: TestClient, tmp_path: Path, source: str, fmt: str) -> None:
    data = json.dumps(GEOJSON).encode() if source == "geojson" else CSV.encode()
    item = upload(client, f"sites.{source}", data)["item"]["itemID"]
    imported = result(run(client, "ImportFile", in_file={"itemID": item}), "out_features")
    assert imported["geometryType"] == "esriGeometryPoint"
    assert imported["spatialReference"]["wkid"] == 4326
    assert [f["name"] for f in imported["fields"]][:1] == ["OBJECTID"]
    exported = run(client, "ExportFeatures", in_features=imported, out_name="sites out", format=fmt)
    url = result(exported, "out_file")["url"]
    assert url.startswith("http://testserver/rest/directories/arcgisoutput/")
    download = client.get(url)
    assert download.status_code == 200
    assert download.headers["vary"] == "Origin"  # cacheable (validators): says it varies by Origin
    frame = read_back(download.content, fmt, tmp_path)
    xy, names, depth, count = expected_frame()
    got = shapely.get_coordinates(np.asarray(frame.geometry.values))
    np.testing.assert_allclose(got, xy, rtol=0, atol=1e-9)
    assert list(frame["name"]) == names
    np.testing.assert_allclose(frame["depth"].astype(float), depth)
    np.testing.assert_array_equal(frame["count"].astype(int), count)
    if fmt != "CSV":
        assert frame.crs.to_epsg() == 4326


def test_output_file_url_feeds_another_execute_without_http(client: TestClient) -> None:
    """An own output-file URL is read from disk ('testserver' resolves nowhere: no HTTP is made)."""
    fs = points([(1.0, 2.0), (3.0, 4.0)], 4326, Name=["a", "b"])
    url = result(run(client, "ExportFeatures", in_features=fs, out_name="p.gpkg"), "out_file")["url"]
    assert url.endswith("/p.gpkg")
    back = result(run(client, "ImportFile", in_file={"url": url}), "out_features")
    assert [f["geometry"] for f in back["features"]] == [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}]


@pytest.mark.parametrize(
    "path",
    [
        "/rest/directories/arcgisoutput/..%2F..%2Fsecret_key/x",
        "/rest/directories/arcgisoutput/" + "0" * 32 + "/..%2Fitem.json",
        "/rest/directories/arcgisoutput/" + "0" * 32 + "/missing.csv",
        "/rest/directories/arcgisoutput/notatoken/export.csv",
    ],
)
def test_output_directory_refuses_traversal_and_unknown_files(client: TestClient, path: str) -> None:
    resp = client.get(path, params={"f": "json"})
    assert resp.status_code in (200, 404)
    assert "error" in resp.json()


def test_job_helpers_check_offline_then_resolve(client: TestClient, tmp_path: Path) -> None:
    """What the job path calls: offline validation at submit (items looked up, URLs left), then
    resolution in the worker."""
    from gpserver.gp.execution import decode_inputs
    from gpserver.inputs import resolve_inputs, resolver_for
    from gpserver.tools.builtin.buffer import Buffer, BufferInputs

    fs = points([(500000, 4000000)], 32633)
    item = upload(client, "pts.json", json.dumps(fs).encode())["item"]["itemID"]
    params = {"in_features": json.dumps({"itemID": item}), "buffer_distance_or_field": "5 Meters"}
    settings = make_settings(tmp_path)
    offline = resolver_for(settings, "Files", tmp_path / "submit", offline=True)
    by_url = {
        **params,
        "in_features": json.dumps({"url": "https://example.com/arcgis/rest/services/X/FeatureServer/0"}),
    }
    deferred = decode_inputs(Buffer, resolve_inputs(Buffer, by_url, resolver=offline))
    assert isinstance(deferred, BufferInputs) and len(deferred.in_features) == 0  # fetched by the worker
    checked = decode_inputs(Buffer, resolve_inputs(Buffer, params, resolver=offline))
    assert isinstance(checked, BufferInputs) and len(checked.in_features) == 1  # uploaded items are read at once
    missing = {**params, "in_features": json.dumps({"itemID": "i" + "0" * 8 + "-0000-0000-0000-" + "0" * 12})}
    with pytest.raises(InvalidParameterError):
        resolve_inputs(Buffer, missing, resolver=offline)
    resolver = resolver_for(settings, "Files", tmp_path / "work")
    try:
        resolved = resolve_inputs(Buffer, params, resolver=resolver)
    finally:
        resolver.close()
    decoded = decode_inputs(Buffer, resolved)
    assert isinstance(decoded, BufferInputs) and len(decoded.in_features) == 1


@pytest.mark.parametrize(
    ("params", "reads"),
    [
        ({"in_features": '{"features": [{"geometry": {"x": 1, "y": 2}}]}', "f": "json"}, False),
        ({"in_features": '{"URL": "https://host/FeatureServer/0"}'}, True),
        ({"in_file": '{"itemID": "i0123456789abcdef"}'}, True),
        ({"in_file": "https://host/data.csv"}, True),  # a file input may be a bare address
        ({"in_file": "HTTP://host/data.csv"}, True),
        ({"note": "a plain string"}, False),
    ],
)
def test_may_read_flags_every_reference(params: dict[str, str], reads: bool) -> None:
    """Small executes of bounded tools run on the event loop only when nothing is to be read."""
    from gpserver.inputs import may_read

    assert may_read(params) is reads
