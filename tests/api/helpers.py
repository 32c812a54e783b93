"""Request helpers shared by API tests."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

SYNC = "/rest/services/SampleSync/GPServer"


def points(coords: list[tuple[float, float]], wkid: int, **attrs: list[Any]) -> dict[str, Any]:
    """A point feature set with optional attribute columns."""
    fields = [{"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}]
    for name, values in attrs.items():
        kind = "esriFieldTypeString" if isinstance(values[0], str) else "esriFieldTypeDouble"
        fields.append({"name": name, "type": kind, "alias": name})
    features = []
    for i, (x, y) in enumerate(coords):
        row = {"OBJECTID": i + 1, **{k: v[i] for k, v in attrs.items()}}
        features.append({"geometry": {"x": x, "y": y}, "attributes": row})
    return {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": wkid},
        "fields": fields,
        "features": features,
    }


def execute(client: TestClient, task: str, method: str = "POST", **params: Any) -> dict[str, Any]:
    """POST (form-encoded, as clients do) or GET an execute; JSON values are serialised."""
    form = {k.replace("__", ":"): v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    form.setdefault("f", "json")
    url = f"{SYNC}/{task}/execute"
    resp = client.post(url, data=form) if method == "POST" else client.get(url, params=form)
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def result(body: dict[str, Any], name: str) -> Any:
    """The value of one result parameter, checking the entry's shape."""
    assert "error" not in body, body
    entries = [r for r in body["results"] if r["paramName"] == name]
    assert len(entries) == 1
    assert set(entries[0]) == {"paramName", "dataType", "value"}
    return entries[0]["value"]
