"""DeleteField, Select, Merge and Append: counts and values against plain Python."""

from __future__ import annotations

import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from tests.tools.helpers import error, execute, features, rows, shapes, value

PTS = [shapely.Point(i, i * 2) for i in range(6)]
POP = [5.0, 50.0, None, 500.0, 15.0, 25.0]
NAMES = ["Anna", "Bert", "Ana", None, "Ann", "Cleo"]


def test_delete_and_keep_fields(client: TestClient) -> None:
    fs = features(PTS, POP=POP, NAME=NAMES, X=[1.0] * 6)
    out = value(execute(client, "DeleteField", in_table=fs, drop_field=["pop", "X"]), "out_table")
    assert [f["name"] for f in out["fields"]] == ["OBJECTID", "NAME"]
    assert [r["NAME"] for r in rows(out)] == NAMES
    out = value(execute(client, "DeleteField", in_table=fs, drop_field=["X"], method="KEEP_FIELDS"), "out_table")
    assert [f["name"] for f in out["fields"]] == ["OBJECTID", "X"]
    assert "NOPE" in error(execute(client, "DeleteField", in_table=fs, drop_field=["NOPE"]))["message"]


@pytest.mark.parametrize(
    ("clause", "keep"),
    [
        ("POP > 20", lambda p, n: p is not None and p > 20),
        (
            "NAME LIKE 'An%' AND POP < 100",
            lambda p, n: n is not None and n.startswith("An") and p is not None and p < 100,
        ),
        ("POP IS NULL OR NAME IS NULL", lambda p, n: p is None or n is None),
        ("NOT (POP BETWEEN 10 AND 60)", lambda p, n: p is not None and not 10 <= p <= 60),
    ],
)
def test_select_counts_match_python(client: TestClient, clause: str, keep: object) -> None:
    body = execute(client, "Select", in_features=features(PTS, POP=POP, NAME=NAMES), where_clause=clause)
    out = value(body, "out_feature_class")
    expected = [i for i, (p, n) in enumerate(zip(POP, NAMES, strict=True)) if keep(p, n)]  # type: ignore[operator]
    assert [r["NAME"] for r in rows(out)] == [NAMES[i] for i in expected]
    assert [(g.x, g.y) for g in shapes(out)] == [(PTS[i].x, PTS[i].y) for i in expected]
    assert [r["OBJECTID"] for r in rows(out)] == list(range(1, len(expected) + 1))


def test_select_on_empty_input(client: TestClient) -> None:
    empty = {"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 3857},
             "fields": [{"name": "POP", "type": "esriFieldTypeDouble"}], "features": []}  # fmt: skip
    assert (
        value(execute(client, "Select", in_features=empty, where_clause="POP > 1"), "out_feature_class")["features"]
        == []
    )


def test_merge_projects_and_unions_fields(client: TestClient) -> None:
    a = features([shapely.Point(1000, 2000)], 3857, NAME=["a"])
    b = features([shapely.Point(10, 50)], 4326, POP=[7.0])
    out = value(execute(client, "Merge", inputs=[a, b], add_source="ADD_SOURCE_INFO"), "output")
    assert [f["name"] for f in out["fields"]] == ["OBJECTID", "NAME", "POP", "MERGE_SRC"]
    assert rows(out) == [
        {"OBJECTID": 1, "NAME": "a", "POP": None, "MERGE_SRC": "inputs[0]"},
        {"OBJECTID": 2, "NAME": None, "POP": 7.0, "MERGE_SRC": "inputs[1]"},
    ]
    x, y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(10, 50)
    assert (shapes(out)[1].x, shapes(out)[1].y) == pytest.approx((x, y))
    lines = features([shapely.LineString([(0, 0), (1, 1)])])
    assert "geometry type" in error(execute(client, "Merge", inputs=[a, lines]))["message"]


def test_append_checks_schema_and_filters(client: TestClient) -> None:
    target = features(PTS[:2], POP=POP[:2], NAME=NAMES[:2])
    new = features(PTS[2:], POP=POP[2:], NAME=NAMES[2:])
    out = value(execute(client, "Append", inputs=[new], target=target, expression="POP > 10"), "output")
    assert [r["POP"] for r in rows(out)] == [5.0, 50.0, 500.0, 15.0, 25.0]
    other = features(PTS[:1], OTHER=[1.0])
    assert "schema" in error(execute(client, "Append", inputs=[other], target=target))["message"]
    out = value(execute(client, "Append", inputs=[other], target=target, schema_type="NO_TEST"), "output")
    assert rows(out)[-1] == {"OBJECTID": 3, "POP": None, "NAME": None}
