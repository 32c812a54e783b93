"""Near, SpatialJoin, SelectLayerByLocation and SummarizeWithin against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
import shapely
import shapely.ops
from fastapi.testclient import TestClient

from tests.tools.helpers import execute, features, rows, shapes, value

GEOD = pyproj.Geod(ellps="WGS84")
PTS = [shapely.Point(1, 1), shapely.Point(6, 6), shapely.Point(20, 20), None, shapely.Point(12, 6)]
LINES = [shapely.LineString([(0, 0), (10, 0)]), shapely.LineString([(0, 8), (10, 8)])]
POLYS = [shapely.box(0, 0, 10, 10), shapely.box(5, 5, 15, 15)]


def test_near_planar_matches_shapely(client: TestClient) -> None:
    body = execute(
        client, "Near", in_features=features(PTS), near_features=[features(LINES)], location=True, angle=True
    )
    out = rows(value(body, "out_feature_class"))
    assert len(out) == len(PTS)
    for pt, row in zip(PTS, out, strict=True):
        if pt is None:
            assert (row["NEAR_FID"], row["NEAR_DIST"]) == (-1, -1)
            continue
        dists = [pt.distance(line) for line in LINES]
        k = int(np.argmin(dists))
        assert row["NEAR_FID"] == k + 1
        assert row["NEAR_DIST"] == pytest.approx(dists[k])
        near = shapely.ops.nearest_points(pt, LINES[k])[1]
        assert (row["NEAR_X"], row["NEAR_Y"]) == pytest.approx((near.x, near.y))
        expected = math.degrees(math.atan2(near.y - pt.y, near.x - pt.x)) if dists[k] else 0
        assert row["NEAR_ANGLE"] == pytest.approx(expected)


def test_near_search_radius_and_several_near_sets(client: TestClient) -> None:
    body = execute(
        client,
        "Near",
        in_features=features(PTS),
        near_features=[features(LINES), features([shapely.Point(20, 21)])],
        search_radius="3 Meters",
    )
    out = rows(value(body, "out_feature_class"))
    assert [(r["NEAR_FID"], r["NEAR_FC"]) for r in out] == [
        (1, "near_features[0]"),
        (2, "near_features[0]"),
        (1, "near_features[1]"),
        (-1, ""),
        (2, "near_features[0]"),
    ]
    assert out[2]["NEAR_DIST"] == pytest.approx(1.0)


def test_near_geodesic_for_geographic_input(client: TestClient) -> None:
    cities = [shapely.Point(2.35, 48.85), shapely.Point(13.4, 52.52)]  # Paris, Berlin
    targets = [shapely.Point(-0.13, 51.51), shapely.Point(12.5, 41.9)]  # London, Rome
    body = execute(
        client, "Near", in_features=features(cities, 4326), near_features=[features(targets, 4326)], angle=True
    )
    out = rows(value(body, "out_feature_class"))
    for city, row in zip(cities, out, strict=True):
        options = [GEOD.inv(city.x, city.y, t.x, t.y) for t in targets]
        k = int(np.argmin([o[2] for o in options]))
        assert row["NEAR_FID"] == k + 1
        assert row["NEAR_DIST"] == pytest.approx(options[k][2], rel=1e-6)
        assert row["NEAR_ANGLE"] == pytest.approx(options[k][0], abs=1e-6)


def test_spatial_join_one_to_one_and_many(client: TestClient) -> None:
    targets = features(PTS, V=[1.0, 2.0, 3.0, 4.0, 5.0])
    joins = features(POLYS, NAME=["a", "b"], V=[10.0, 20.0])
    out = value(execute(client, "SpatialJoin", target_features=targets, join_features=joins), "out_feature_class")
    names = [f["name"] for f in out["fields"]]
    assert names == ["OBJECTID", "Join_Count", "TARGET_FID", "V", "NAME", "V_1"]
    got = [(r["TARGET_FID"], r["Join_Count"], r["NAME"], r["V_1"]) for r in rows(out)]
    assert got == [(1, 1, "a", 10.0), (2, 2, "a", 10.0), (3, 0, None, None), (4, 0, None, None), (5, 1, "b", 20.0)]
    body = execute(
        client,
        "SpatialJoin",
        target_features=targets,
        join_features=joins,
        join_operation="JOIN_ONE_TO_MANY",
        join_type="KEEP_COMMON",
    )
    many = rows(value(body, "out_feature_class"))
    assert [(r["TARGET_FID"], r["JOIN_FID"]) for r in many] == [(1, 1), (2, 1), (2, 2), (5, 2)]


def test_spatial_join_closest_with_distance(client: TestClient) -> None:
    body = execute(
        client,
        "SpatialJoin",
        target_features=features(PTS),
        join_features=features(LINES, K=[1, 2]),
        match_option="CLOSEST",
        distance_field_name="DIST",
    )
    out = rows(value(body, "out_feature_class"))
    for pt, row in zip(PTS, out, strict=True):
        if pt is None:
            assert row["K"] is None
            continue
        dists = [pt.distance(line) for line in LINES]
        assert row["K"] == int(np.argmin(dists)) + 1
        assert row["DIST"] == pytest.approx(min(dists))


@pytest.mark.parametrize(
    ("relation", "distance", "expected"),
    [
        ("INTERSECT", None, [1, 2, 5]),
        ("WITHIN_A_DISTANCE", "7.1 Meters", [1, 2, 3, 5]),
        ("WITHIN_A_DISTANCE", "7 Meters", [1, 2, 5]),
        ("WITHIN", None, [1, 2, 5]),
        ("COMPLETELY_WITHIN", None, [1, 2, 5]),
        ("HAVE_THEIR_CENTER_IN", None, [1, 2, 5]),
        ("ARE_IDENTICAL_TO", None, []),
    ],
)
def test_select_layer_by_location(client: TestClient, relation: str, distance: str | None, expected: list[int]) -> None:
    params = {"search_distance": distance} if distance else {}
    body = execute(
        client,
        "SelectLayerByLocation",
        in_layer=features(PTS, ID=[1, 2, 3, 4, 5]),
        overlap_type=relation,
        select_features=features(POLYS),
        **params,
    )
    assert [r["ID"] for r in rows(value(body, "out_layer_or_view"))] == expected
    assert value(body, "count") == len(expected)
    inverted = execute(
        client,
        "SelectLayerByLocation",
        in_layer=features(PTS, ID=[1, 2, 3, 4, 5]),
        overlap_type=relation,
        select_features=features(POLYS),
        invert_spatial_relationship=True,
        **params,
    )
    assert value(inverted, "count") == 5 - len(expected)


def test_select_by_location_geodesic_distance(client: TestClient) -> None:
    paris, london = shapely.Point(2.35, 48.85), shapely.Point(-0.13, 51.51)
    meters = GEOD.inv(paris.x, paris.y, london.x, london.y)[2]
    for km, count in ((meters / 1000 - 1, 0), (meters / 1000 + 1, 1)):
        body = execute(
            client,
            "SelectLayerByLocation",
            in_layer=features([paris], 4326),
            overlap_type="WITHIN_A_DISTANCE_GEODESIC",
            select_features=features([london], 4326),
            search_distance=f"{km} Kilometers",
        )
        assert value(body, "count") == count


def test_summarize_points_lines_and_polygons(client: TestClient) -> None:
    zones = features(POLYS, NAME=["a", "b"])
    pts = features(PTS, V=[1.0, 2.0, 3.0, 4.0, 5.0])
    body = execute(client, "SummarizeWithin", in_polygons=zones, in_sum_features=pts, sum_fields=["V SUM", "V MEAN"])
    out = rows(value(body, "out_feature_class"))
    assert [(r["Point_Count"], r["sum_V"], r["mean_V"]) for r in out] == [(2, 3.0, 1.5), (2, 7.0, 3.5)]
    line = shapely.LineString([(-10, 8), (30, 8)])
    body = execute(client, "SummarizeWithin", in_polygons=zones, in_sum_features=features([line], W=[40.0]),
                   sum_fields=["W SUM"], shape_unit="METERS")  # fmt: skip
    out = rows(value(body, "out_feature_class"))
    lengths = [line.intersection(p).length for p in POLYS]
    assert [r["sum_Length_METERS"] for r in out] == pytest.approx(lengths)
    assert [r["sum_W"] for r in out] == pytest.approx([40.0 * x / line.length for x in lengths])
    cover = shapely.box(8, 8, 12, 12)
    body = execute(client, "SummarizeWithin", in_polygons=zones, in_sum_features=features([cover]),
                   shape_unit="SQUAREMETERS", keep_all_polygons=False)  # fmt: skip
    out = rows(value(body, "out_feature_class"))
    assert [r["sum_Area_SQUAREMETERS"] for r in out] == pytest.approx([cover.intersection(p).area for p in POLYS])


def test_summarize_geodesic_area_in_geographic_reference(client: TestClient) -> None:
    zone = shapely.box(10, 50, 11, 51)
    inner = shapely.box(10.2, 50.2, 10.4, 50.4)
    body = execute(
        client, "SummarizeWithin", in_polygons=features([zone], 4326), in_sum_features=features([inner], 4326)
    )
    row = rows(value(body, "out_feature_class"))[0]
    area, _ = GEOD.geometry_area_perimeter(inner)
    assert row["sum_Area_SQUAREKILOMETERS"] == pytest.approx(abs(area) / 1e6, rel=1e-6)
    assert shapes(value(body, "out_feature_class"))[0].equals(zone)
