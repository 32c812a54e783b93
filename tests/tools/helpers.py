"""Helpers for tool tests: Esri JSON built by hand from coordinates, execute through real HTTP."""

from __future__ import annotations

import json
from typing import Any

import shapely
from fastapi.testclient import TestClient

TOOLS = "/rest/services/SampleTools/GPServer"
MODELS = "/rest/services/SampleModels/GPServer"

_TYPES = {
    "Point": "esriGeometryPoint",
    "MultiPoint": "esriGeometryMultipoint",
    "LineString": "esriGeometryPolyline",
    "MultiLineString": "esriGeometryPolyline",
    "Polygon": "esriGeometryPolygon",
    "MultiPolygon": "esriGeometryPolygon",
}


def esri_geometry(geom: Any) -> dict[str, Any] | None:
    """Esri JSON of a shapely geometry, written independently of the server's codec."""
    if geom is None:
        return None
    kind = geom.geom_type
    if kind == "Point":
        return {"x": geom.x, "y": geom.y}
    if kind == "MultiPoint":
        return {"points": [[p.x, p.y] for p in geom.geoms]}
    if kind in ("LineString", "MultiLineString"):
        parts = [geom] if kind == "LineString" else list(geom.geoms)
        return {"paths": [[list(c) for c in p.coords] for p in parts]}
    polys = [geom] if kind == "Polygon" else list(geom.geoms)
    rings = []
    for p in polys:
        rings.append(
            [list(c) for c in p.exterior.coords][::-1] if p.exterior.is_ccw else [list(c) for c in p.exterior.coords]
        )
        rings.extend([list(c) for c in r.coords] for r in p.interiors)
    return {"rings": rings}


def features(geoms: list[Any], wkid: int | None = 3857, gtype: str | None = None, **attrs: list[Any]) -> dict[str, Any]:
    """A feature set with an OBJECTID and optional attribute columns (types guessed from the values)."""
    fields = [{"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}]
    for name, values in attrs.items():
        sample = next((v for v in values if v is not None), 0)
        kind = {str: "esriFieldTypeString", int: "esriFieldTypeInteger"}.get(type(sample), "esriFieldTypeDouble")
        fields.append({"name": name, "type": kind, "alias": name})
    first = next((g for g in geoms if g is not None), None)
    out: dict[str, Any] = {
        "geometryType": gtype or _TYPES[first.geom_type if first is not None else "Point"],
        "fields": fields,
        "features": [
            {"geometry": esri_geometry(g), "attributes": {"OBJECTID": i + 1, **{k: v[i] for k, v in attrs.items()}}}
            for i, g in enumerate(geoms)
        ],
    }
    if wkid is not None:
        out["spatialReference"] = {"wkid": wkid}
    return out


def execute(client: TestClient, task: str, base: str = TOOLS, **params: Any) -> dict[str, Any]:
    """POST an execute (form-encoded, JSON values serialised) and return the body."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    form["f"] = "json"
    resp = client.post(f"{base}/{task}/execute", data=form)
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def value(body: dict[str, Any], name: str) -> Any:
    """One result's value."""
    assert "error" not in body, body
    return next(r["value"] for r in body["results"] if r["paramName"] == name)


def shapes(fs: dict[str, Any]) -> list[Any]:
    """Shapely geometries of a result feature set (rings: outer then holes by orientation)."""
    out: list[Any] = []
    for f in fs["features"]:
        g = f.get("geometry")
        if not g:
            out.append(None)
        elif "x" in g:
            out.append(shapely.Point(g["x"], g["y"]))
        elif "paths" in g:
            paths = [shapely.LineString(p) for p in g["paths"]]
            out.append(paths[0] if len(paths) == 1 else shapely.MultiLineString(paths))
        elif "points" in g:
            out.append(shapely.MultiPoint(g["points"]))
        else:
            out.append(_rings(g["rings"]))
    return out


def _rings(rings: list[list[list[float]]]) -> Any:
    polys: list[tuple[Any, list[Any]]] = []
    for ring in rings:
        lr = shapely.LinearRing(ring)
        if not lr.is_ccw:  # clockwise: an outer ring in Esri JSON
            polys.append((ring, []))
        else:
            polys[-1][1].append(ring)
    made = [shapely.Polygon(outer, holes) for outer, holes in polys]
    return made[0] if len(made) == 1 else shapely.MultiPolygon(made)


def rows(fs: dict[str, Any]) -> list[dict[str, Any]]:
    """The attribute dicts."""
    return [f["attributes"] for f in fs["features"]]


def error(body: dict[str, Any]) -> dict[str, Any]:
    """The error object of an error body."""
    assert "error" in body, body
    err: dict[str, Any] = body["error"]
    return err
