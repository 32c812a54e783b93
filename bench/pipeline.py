"""The same work as gpserver's Buffer/Project ``execute``, done directly: the in-process baseline.

form body -> (vectorised percent-decoding) -> Esri JSON -> shapely 2 -> buffer / project ->
Esri JSON (numpy views) -> orjson bytes. The output has the same shape as the server's (``results``
with the same fields and attributes), so both sides write the same bytes, give or take messages.
"""

from __future__ import annotations

import binascii
from typing import Any

import numpy as np
import orjson
import pyproj
import shapely

QUAD_SEGS = 16
_OPTS = orjson.OPT_SERIALIZE_NUMPY

# one int16 per two-byte window "XY" after a '%': the byte value, or -1 when not two hex digits
_PAIR = np.full(1 << 16, -1, dtype=np.int16)
_DIGITS = {c: i for i, c in enumerate(b"0123456789abcdef")} | {c: i for i, c in enumerate(b"ABCDEF", start=10)}
for _h, _hv in _DIGITS.items():
    for _l, _lv in _DIGITS.items():
        _PAIR[_h | (_l << 8)] = _hv * 16 + _lv


_QP = bytes.maketrans(b"%+", b"= ")


def unquote_plus(raw: bytes) -> str:
    """Percent-decoding with ``+`` as space: by the C quoted-printable decoder with '%' as its sign
    when every '%' is an escape (the output is then exactly two bytes shorter per '%'), else one
    gather per escape through a 64 Ki table."""
    if b"%" not in raw:
        return raw.replace(b"+", b" ").decode("utf-8", "replace")
    if not (b"=" in raw or b"\r" in raw or b"\n" in raw):
        text = binascii.a2b_qp(raw.translate(_QP))
        if len(text) == len(raw) - 2 * np.count_nonzero(np.frombuffer(raw, dtype=np.uint8) == 37):
            return text.decode("utf-8", "replace")
    arr = np.frombuffer(raw, dtype=np.uint8)
    n = len(arr)
    pct = np.flatnonzero(arr[: n - 2] == 37)
    pairs = np.ndarray((n - 1,), dtype="<u2", buffer=raw, strides=(1,))
    val = _PAIR[pairs[pct + 1]]
    ok = val >= 0
    if not ok.all():
        pct, val = pct[ok], val[ok]
    out = arr.copy()
    plus = np.flatnonzero(arr == 43)
    if len(plus):
        out[plus] = 32
    out[pct] = val
    drop = np.zeros(n + 2, dtype=bool)
    drop[pct + 1] = True
    drop[pct + 2] = True
    return out[~drop[:n]].tobytes().decode("utf-8", "replace")


def parse_form(body: bytes) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` -> {name: value} (last value wins)."""
    out = {}
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        out[unquote_plus(name)] = unquote_plus(value)
    return out


def _points(fs: dict[str, Any]) -> tuple[np.ndarray, list[Any]]:
    feats = fs["features"]
    xs = np.array([f["geometry"]["x"] for f in feats], dtype=np.float64)
    ys = np.array([f["geometry"]["y"] for f in feats], dtype=np.float64)
    return shapely.points(xs, ys), [f.get("attributes", {}).get("OBJECTID") for f in feats]


def _polygon_features(polys: np.ndarray, attrs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    _, xy, offsets = shapely.to_ragged_array(polys)
    xy = np.ascontiguousarray(xy)
    ring_b = np.asarray(offsets[0]).tolist()
    rings = [xy[a:b] for a, b in zip(ring_b[:-1], ring_b[1:], strict=True)]
    poly_b = np.asarray(offsets[1]).tolist()
    return [
        {"attributes": a, "geometry": {"rings": rings[s:e]}}
        for a, s, e in zip(attrs, poly_b[:-1], poly_b[1:], strict=True)
    ]


def _point_features(pts: np.ndarray, attrs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    xy = shapely.get_coordinates(pts)
    return [
        {"attributes": a, "geometry": {"x": x, "y": y}}
        for a, x, y in zip(attrs, xy[:, 0].tolist(), xy[:, 1].tolist(), strict=True)
    ]


def _oid_field() -> dict[str, str]:
    return {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}


def buffer_value(fs: dict[str, Any], distance: float) -> dict[str, Any]:
    """The Buffer output feature set (planar, metres in a metre-based projected reference)."""
    pts, oids = _points(fs)
    polys = shapely.buffer(pts, distance, quad_segs=QUAD_SEGS)
    attrs = [{"OBJECTID": i, "BUFF_DIST": distance, "ORIG_FID": o} for i, o in enumerate(oids, start=1)]
    return {
        "displayFieldName": "",
        "geometryType": "esriGeometryPolygon",
        "spatialReference": fs["spatialReference"],
        "fields": [
            _oid_field(),
            {"name": "BUFF_DIST", "type": "esriFieldTypeDouble", "alias": "BUFF_DIST"},
            {"name": "ORIG_FID", "type": "esriFieldTypeInteger", "alias": "ORIG_FID"},
        ],
        "features": _polygon_features(polys, attrs),
        "exceededTransferLimit": False,
    }


_TRANSFORMERS: dict[tuple[int, int], pyproj.Transformer] = {}


def project_value(fs: dict[str, Any], wkid: int) -> dict[str, Any]:
    """The Project output feature set."""
    src = fs["spatialReference"]["wkid"]
    tr = _TRANSFORMERS.get((src, wkid))
    if tr is None:
        tr = _TRANSFORMERS[(src, wkid)] = pyproj.Transformer.from_crs(src, wkid, always_xy=True)
    pts, oids = _points(fs)
    xy = shapely.get_coordinates(pts)
    x, y = tr.transform(xy[:, 0], xy[:, 1])
    out = shapely.points(x, y)
    attrs = [{"OBJECTID": o} for o in oids]
    return {
        "displayFieldName": "",
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": wkid, "latestWkid": wkid},
        "fields": [_oid_field()],
        "features": _point_features(out, attrs),
        "exceededTransferLimit": False,
    }


def run_params(tool: str, params: dict[str, str]) -> bytes:
    """Decoded parameters (JSON strings) -> the response bytes."""
    if tool == "buffer":
        dist = orjson.loads(params["buffer_distance_or_field"])["distance"]
        value = buffer_value(orjson.loads(params["in_features"]), float(dist))
        name, dtype = "out_feature_class", "GPFeatureRecordSetLayer"
    else:
        wkid = orjson.loads(params["out_coor_system"])["wkid"]
        value = project_value(orjson.loads(params["in_dataset"]), int(wkid))
        name, dtype = "out_dataset", "GPFeatureRecordSetLayer"
    return orjson.dumps(
        {"results": [{"paramName": name, "dataType": dtype, "value": value}], "messages": []}, option=_OPTS
    )


def run_form(tool: str, body: bytes) -> bytes:
    """The whole pipeline from the form body."""
    return run_params(tool, parse_form(body))
