"""Request bodies as ArcGIS clients send them: form-encoded, every JSON value percent-escaped."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import numpy as np
import orjson

BUFFER_SR = 3857  # planar buffer in metres
PROJECT_FROM, PROJECT_TO = 4326, 3857
BUFFER_DISTANCE = {"distance": 100, "units": "esriMeters"}


def points(n: int, wkid: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``n`` reproducible random points: around San Francisco in 4326 or 3857 (6 decimals, as clients round)."""
    rng = np.random.default_rng(seed + n)
    lon = rng.uniform(-122.6, -122.3, n)
    lat = rng.uniform(37.6, 37.9, n)
    if wkid == 4326:
        return np.round(lon, 6), np.round(lat, 6)
    x = lon * 20037508.342789244 / 180.0
    y = np.log(np.tan((90.0 + lat) * np.pi / 360.0)) * 6378137.0
    return np.round(x, 3), np.round(y, 3)


def feature_set(n: int, wkid: int) -> dict[str, Any]:
    """An Esri JSON point feature set with an OBJECTID per feature."""
    xs, ys = points(n, wkid)
    return {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": wkid},
        "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}],
        "features": [
            {"geometry": {"x": x, "y": y}, "attributes": {"OBJECTID": i}}
            for i, (x, y) in enumerate(zip(xs.tolist(), ys.tolist(), strict=True), start=1)
        ],
    }


def buffer_params(n: int) -> dict[str, str]:
    """Buffer parameters as strings (the JSON text each form field carries)."""
    return {
        "in_features": orjson.dumps(feature_set(n, BUFFER_SR)).decode(),
        "buffer_distance_or_field": orjson.dumps(BUFFER_DISTANCE).decode(),
        "f": "json",
    }


def project_params(n: int) -> dict[str, str]:
    """Project parameters as strings."""
    return {
        "in_dataset": orjson.dumps(feature_set(n, PROJECT_FROM)).decode(),
        "out_coor_system": orjson.dumps({"wkid": PROJECT_TO}).decode(),
        "f": "json",
    }


def form(params: dict[str, str]) -> bytes:
    """``application/x-www-form-urlencoded`` the way the ArcGIS JS API and Python clients write it."""
    return urlencode(params).encode("ascii")


def body(tool: str, n: int) -> bytes:
    """The form body of ``tool`` (``buffer`` | ``project``) over ``n`` points."""
    return form(buffer_params(n) if tool == "buffer" else project_params(n))


def geojson_buffer_body(n: int) -> bytes:
    """The same buffer for pygeoapi (OGC API - Processes execute): GeoJSON points in a JSON body."""
    xs, ys = points(n, BUFFER_SR)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": i, "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": {}}
            for i, (x, y) in enumerate(zip(xs.tolist(), ys.tolist(), strict=True), start=1)
        ],
    }
    return orjson.dumps({"inputs": {"features": fc, "distance": BUFFER_DISTANCE["distance"]}})
