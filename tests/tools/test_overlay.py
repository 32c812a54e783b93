"""Clip, Erase, Intersect, Union and Dissolve against shapely computed in the test, plus edge cases."""

from __future__ import annotations

from typing import Any

import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from tests.tools.helpers import error, execute, features, rows, shapes, value

A = shapely.box(0, 0, 10, 10)
B = shapely.box(5, 5, 15, 15)
C = shapely.Polygon([(20, 20), (30, 20), (25, 28)])
CUT = shapely.box(2, 2, 8, 12)
POLYS = features([A, B, C, None], POP=[10.0, 20.0, 30.0, 40.0], NAME=["a", "b", "c", "d"])
BOWTIE = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])  # self-intersecting


def test_clip_areas_and_attributes(client: TestClient) -> None:
    out = value(execute(client, "Clip", in_features=POLYS, clip_features=features([CUT])), "out_feature_class")
    got = shapes(out)
    assert [r["NAME"] for r in rows(out)] == ["a", "b"]
    assert [r["OBJECTID"] for r in rows(out)] == [1, 2]
    for geom, src in zip(got, [A, B], strict=True):
        assert geom.area == pytest.approx(src.intersection(CUT).area)
    assert out["geometryType"] == "esriGeometryPolygon"


def test_clip_lines_and_points(client: TestClient) -> None:
    line = shapely.LineString([(-5, 5), (20, 5)])
    out = value(
        execute(client, "Clip", in_features=features([line]), clip_features=features([CUT])), "out_feature_class"
    )
    assert shapes(out)[0].length == pytest.approx(line.intersection(CUT).length)
    pts = [shapely.Point(3, 3), shapely.Point(9, 9), shapely.Point(5, 11)]
    out = value(execute(client, "Clip", in_features=features(pts), clip_features=features([CUT])), "out_feature_class")
    assert [(p.x, p.y) for p in shapes(out)] == [(3, 3), (5, 11)]


def test_clip_features_in_another_sr_are_projected(client: TestClient) -> None:
    to_geo = pyproj.Transformer.from_crs(3857, 4326, always_xy=True)
    box = shapely.box(100_000, 100_000, 200_000, 200_000)
    geo_box = shapely.transform(
        shapely.segmentize(box, 1000), lambda xy: list(zip(*to_geo.transform(*xy.T), strict=True))
    )
    square = shapely.box(0, 0, 150_000, 150_000)
    body = execute(client, "Clip", in_features=features([square]), clip_features=features([geo_box], wkid=4326))
    out = value(body, "out_feature_class")
    assert out["spatialReference"]["wkid"] == 3857
    assert shapes(out)[0].area == pytest.approx(50_000**2, rel=1e-4)
    assert any("Projecting clip_features" in m["description"] for m in body["messages"])


def test_erase_keeps_the_outside(client: TestClient) -> None:
    out = value(execute(client, "Erase", in_features=POLYS, erase_features=features([CUT])), "out_feature_class")
    assert [r["NAME"] for r in rows(out)] == ["a", "b", "c"]
    for geom, src in zip(shapes(out), [A, B, C], strict=True):
        assert geom.area == pytest.approx(src.difference(CUT).area)


def test_intersect_two_inputs_with_fids(client: TestClient) -> None:
    other = features([CUT, shapely.box(12, 0, 14, 3)], ZONE=["z1", "z2"])
    out = value(execute(client, "Intersect", in_features=[POLYS, other]), "out_feature_class")
    names = [f["name"] for f in out["fields"]]
    assert names == ["OBJECTID", "FID_Input1", "POP", "NAME", "FID_Input2", "ZONE"]
    got = {(r["FID_Input1"], r["FID_Input2"]): s.area for r, s in zip(rows(out), shapes(out), strict=True)}
    assert got == pytest.approx({(1, 1): A.intersection(CUT).area, (2, 1): B.intersection(CUT).area})


def test_intersect_points_with_polygons_gives_points(client: TestClient) -> None:
    pts = features([shapely.Point(1, 1), shapely.Point(6, 6), shapely.Point(50, 50)], K=[1, 2, 3])
    out = value(execute(client, "Intersect", in_features=[pts, POLYS]), "out_feature_class")
    assert out["geometryType"] == "esriGeometryPoint"
    assert sorted((r["K"], r["NAME"]) for r in rows(out)) == [(1, "a"), (2, "a"), (2, "b")]


def test_union_covers_everything_once(client: TestClient) -> None:
    out = value(execute(client, "Union", in_features=[features([A]), features([B])]), "out_feature_class")
    pieces = {(r["FID_Input1"], r["FID_Input2"]): s.area for r, s in zip(rows(out), shapes(out), strict=True)}
    assert pieces == pytest.approx({(1, 1): 25.0, (1, -1): 75.0, (-1, 1): 75.0})
    assert sum(pieces.values()) == pytest.approx(shapely.union(A, B).area)


def test_union_fills_gaps_when_asked(client: TestClient) -> None:
    ring = [shapely.box(0, 0, 10, 2), shapely.box(0, 8, 10, 10), shapely.box(0, 2, 2, 8)]
    right = shapely.box(8, 2, 10, 8)
    body = execute(client, "Union", in_features=[features(ring), features([right])], gaps=False)
    out = value(body, "out_feature_class")
    gap = [s for r, s in zip(rows(out), shapes(out), strict=True) if r["FID_Input1"] == -1 and r["FID_Input2"] == -1]
    assert len(gap) == 1 and gap[0].area == pytest.approx(36.0)


def test_dissolve_with_statistics(client: TestClient) -> None:
    parcels = [shapely.box(i, 0, i + 1, 1) for i in range(4)] + [shapely.box(10, 10, 11, 11)]
    fs = features(parcels, ZONE=["r", "r", "c", "c", "r"], POP=[1.0, 2.0, 3.0, None, 5.0])
    body = execute(
        client,
        "Dissolve",
        in_features=fs,
        dissolve_field=["ZONE"],
        statistics_field=["POP SUM", "POP MEAN", "POP COUNT", "POP MAX", "ZONE FIRST"],
    )
    out = value(body, "out_feature_class")
    by_zone = {r["ZONE"]: (r, s) for r, s in zip(rows(out), shapes(out), strict=True)}
    r_row, r_shape = by_zone["r"]
    assert (r_row["SUM_POP"], r_row["MEAN_POP"], r_row["COUNT_POP"], r_row["MAX_POP"]) == (8.0, 8 / 3, 3, 5.0)
    assert r_shape.area == pytest.approx(3.0) and r_shape.geom_type == "MultiPolygon"
    c_row, c_shape = by_zone["c"]
    assert (c_row["SUM_POP"], c_row["COUNT_POP"], c_row["FIRST_ZONE"]) == (3.0, 1, "c")
    assert c_shape.equals(shapely.box(2, 0, 4, 1))
    single = execute(client, "Dissolve", in_features=fs, dissolve_field=["ZONE"], multi_part="SINGLE_PART")
    assert len(value(single, "out_feature_class")["features"]) == 3


def test_dissolve_rejects_bad_statistics(client: TestClient) -> None:
    body = execute(client, "Dissolve", in_features=POLYS, statistics_field=["NAME SUM"])
    assert "numeric" in error(body)["message"]


@pytest.mark.parametrize("task", ["Clip", "Erase"])
def test_empty_inputs_give_empty_outputs(client: TestClient, task: str) -> None:
    other = "clip_features" if task == "Clip" else "erase_features"
    empty: Any = {"geometryType": "esriGeometryPolygon", "spatialReference": {"wkid": 3857}, "features": []}
    cutter: dict[str, Any] = {other: features([CUT])}
    out = value(execute(client, task, in_features=empty, **cutter), "out_feature_class")
    assert out["features"] == []
    nothing: dict[str, Any] = {other: empty}
    out = value(execute(client, task, in_features=POLYS, **nothing), "out_feature_class")
    assert len(out["features"]) == (0 if task == "Clip" else 3)


def test_invalid_polygons_are_repaired_with_a_warning(client: TestClient) -> None:
    body = execute(client, "Clip", in_features=features([BOWTIE]), clip_features=features([shapely.box(0, 0, 10, 10)]))
    out = value(body, "out_feature_class")
    assert shapes(out)[0].area == pytest.approx(shapely.make_valid(BOWTIE).area)
    assert any(m["type"] == "esriJobMessageTypeWarning" and "repaired" in m["description"] for m in body["messages"])
    body = execute(client, "Dissolve", in_features=features([BOWTIE, shapely.box(20, 20, 21, 21)]))
    assert shapes(value(body, "out_feature_class"))[0].area == pytest.approx(shapely.make_valid(BOWTIE).area + 1)


def test_union_refuses_lines(client: TestClient) -> None:
    line = features([shapely.LineString([(0, 0), (1, 1)])])
    assert "polygon" in error(execute(client, "Union", in_features=[line, POLYS]))["message"]
