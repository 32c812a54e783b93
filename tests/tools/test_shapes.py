"""FeatureToPoint, MinimumBoundingGeometry, simplify/smooth, PointsToLine and GenerateTessellation."""

from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from tests.tools.helpers import error, execute, features, rows, shapes, value

L_SHAPE = shapely.Polygon([(0, 0), (10, 0), (10, 2), (2, 2), (2, 10), (0, 10)])
WIGGLE = shapely.LineString([(x, math.sin(x / 3) * 5 + (0.2 if x % 2 else -0.2)) for x in range(0, 60)])


def test_feature_to_point_centroid_and_inside(client: TestClient) -> None:
    fs = features([L_SHAPE, None, shapely.box(20, 20, 22, 24)], K=[1, 2, 3])
    body = execute(client, "FeatureToPoint", in_features=fs)
    out = value(body, "out_feature_class")
    assert out["geometryType"] == "esriGeometryPoint"
    assert [r["ORIG_FID"] for r in rows(out)] == [1, 3]
    assert shapes(out)[0].equals_exact(L_SHAPE.centroid, 1e-9)
    assert not L_SHAPE.contains(L_SHAPE.centroid)  # the centroid of an L is outside it...
    inside = shapes(
        value(execute(client, "FeatureToPoint", in_features=fs, point_location="INSIDE"), "out_feature_class")
    )
    assert L_SHAPE.contains(inside[0])  # ...INSIDE guarantees a point in the polygon
    assert "without geometry" in " ".join(m["description"] for m in body["messages"])


@pytest.mark.parametrize("kind", ["ENVELOPE", "CONVEX_HULL", "CIRCLE", "RECTANGLE_BY_AREA", "RECTANGLE_BY_WIDTH"])
def test_minimum_bounding_geometry(client: TestClient, kind: str) -> None:
    tilted = shapely.affinity.rotate(shapely.box(0, 0, 8, 2), 30, origin=(0, 0))
    body = execute(client, "MinimumBoundingGeometry", in_features=features([tilted, L_SHAPE]), geometry_type=kind,
                   mbg_fields_option=True)  # fmt: skip
    out = value(body, "out_feature_class")
    got = shapes(out)
    for src, geom, row in zip([tilted, L_SHAPE], got, rows(out), strict=True):
        assert geom.buffer(0.01 if kind == "CIRCLE" else 1e-6).covers(src)  # circles are 64-gons
        if kind == "ENVELOPE":
            assert geom.area == pytest.approx(src.envelope.area)
        elif kind == "CONVEX_HULL":
            assert geom.area == pytest.approx(src.convex_hull.area)
            coords = np.asarray(src.exterior.coords)
            assert row["MBG_Length"] == pytest.approx(max(np.hypot(*(a - b)) for a in coords for b in coords))
        elif kind == "CIRCLE":
            radius = shapely.minimum_bounding_radius(src)
            assert row["MBG_Diameter"] == pytest.approx(2 * radius)
            assert geom.area == pytest.approx(math.pi * radius**2, rel=0.01)
        else:
            assert row["MBG_Width"] * row["MBG_Length"] == pytest.approx(geom.area, rel=1e-6)
    if kind.startswith("RECTANGLE"):
        first = rows(out)[0]
        assert (first["MBG_Width"], first["MBG_Length"], first["MBG_Orientation"]) == pytest.approx((2, 8, 60))


def test_minimum_bounding_geometry_groups(client: TestClient) -> None:
    pts = [shapely.Point(0, 0), shapely.Point(4, 0), shapely.Point(0, 3), shapely.Point(10, 10), shapely.Point(12, 12)]
    fs = features(pts, G=["a", "a", "a", "b", "b"])
    out = value(execute(client, "MinimumBoundingGeometry", in_features=fs, geometry_type="CONVEX_HULL",
                        group_option="LIST", group_field=["G"]), "out_feature_class")  # fmt: skip
    assert [r["G"] for r in rows(out)] == ["a"]  # group b is collinear: no area, skipped
    assert shapes(out)[0].area == pytest.approx(6.0)


def test_simplify_polygon_and_line(client: TestClient) -> None:
    circle = shapely.Point(0, 0).buffer(100, quad_segs=64)
    out = value(
        execute(client, "SimplifyPolygon", in_features=features([circle]), tolerance="1 Meters"), "out_feature_class"
    )
    simple = shapes(out)[0]
    expected = shapely.simplify(circle, 1.0)
    assert len(simple.exterior.coords) == len(expected.exterior.coords) < len(circle.exterior.coords)
    assert simple.hausdorff_distance(circle) <= 1.0 + 1e-9
    assert rows(out)[0]["InPoly_FID"] == 1
    tiny = features([circle, shapely.box(500, 500, 501, 501)])
    body = execute(client, "SimplifyPolygon", in_features=tiny, tolerance="1 Meters", minimum_area="10 SquareMeters")
    out = value(body, "out_feature_class")
    assert [r["InPoly_FID"] for r in rows(out)] == [1]
    out = value(
        execute(client, "SimplifyLine", in_features=features([WIGGLE]), tolerance="1 Meters"), "out_feature_class"
    )
    assert shapes(out)[0].equals_exact(shapely.simplify(WIGGLE, 1.0), 1e-9)


def test_simplify_geographic_uses_metres(client: TestClient) -> None:
    line = shapely.LineString([(10, 50), (10.0004, 50.5), (10, 51)])  # the middle vertex is ~28 m off the meridian
    keep = value(
        execute(client, "SimplifyLine", in_features=features([line], 4326), tolerance="20 Meters"), "out_feature_class"
    )
    drop = value(
        execute(client, "SimplifyLine", in_features=features([line], 4326), tolerance="50 Meters"), "out_feature_class"
    )
    assert len(shapes(keep)[0].coords) == 3 and len(shapes(drop)[0].coords) == 2


def test_smooth_line_keeps_ends_and_reduces_wiggle(client: TestClient) -> None:
    out = value(
        execute(client, "SmoothLine", in_features=features([WIGGLE]), tolerance="6 Meters"), "out_feature_class"
    )
    smooth = shapes(out)[0]
    assert smooth.coords[0] == WIGGLE.coords[0] and smooth.coords[-1] == WIGGLE.coords[-1]
    assert smooth.length < WIGGLE.length
    assert smooth.hausdorff_distance(WIGGLE) < 6


def test_points_to_line(client: TestClient) -> None:
    pts = [
        shapely.Point(0, 0),
        shapely.Point(5, 5),
        shapely.Point(1, 0),
        shapely.Point(9, 9),
        shapely.Point(2, 1),
        None,
    ]
    fs = features(pts, TRACK=["t1", "t2", "t1", "t3", "t1", "t1"], SEQ=[3, 1, 1, 1, 2, 4])
    out = value(execute(client, "PointsToLine", Input_Features=fs, Line_Field="TRACK", Sort_Field="SEQ"),
                "Output_Feature_Class")  # fmt: skip
    assert [r["TRACK"] for r in rows(out)] == ["t1"]  # t2 and t3 have one point each
    assert list(shapes(out)[0].coords) == [(1, 0), (2, 1), (0, 0)]
    body = execute(client, "PointsToLine", Input_Features=fs, Line_Field="TRACK", Sort_Field="SEQ", Close_Line=True)
    closed = value(body, "Output_Feature_Class")
    assert shapes(closed)[0].is_closed


@pytest.mark.parametrize("shape", ["SQUARE", "HEXAGON", "TRANSVERSE_HEXAGON", "TRIANGLE", "DIAMOND"])
def test_tessellation_cells_have_the_area_and_cover_the_extent(client: TestClient, shape: str) -> None:
    body = execute(client, "GenerateTessellation", Extent="1000 2000 6000 5000", Shape_Type=shape,
                   Size="1 SquareKilometers", Spatial_Reference=3857)  # fmt: skip
    out = value(body, "Output_Feature_Class")
    cells = shapes(out)
    assert all(c.area == pytest.approx(1e6, rel=1e-9) for c in cells)
    union = shapely.union_all(cells)
    assert union.buffer(1e-6).covers(shapely.box(1000, 2000, 6000, 5000))
    assert shapely.area(shapely.intersection(cells, shapely.box(1000, 2000, 6000, 5000))).min() > 0
    assert sum(c.area for c in cells) == pytest.approx(union.area, rel=1e-9)  # no overlaps
    assert len({r["GRID_ID"] for r in rows(out)}) == len(cells)


def test_tessellation_geographic_cells_are_equal_area(client: TestClient) -> None:
    body = execute(client, "GenerateTessellation", Extent='{"xmin": 10, "ymin": 50, "xmax": 10.3, "ymax": 50.2, '
                   '"spatialReference": {"wkid": 4326}}', Shape_Type="SQUARE", Size="25 SquareKilometers")  # fmt: skip
    out = value(body, "Output_Feature_Class")
    assert out["spatialReference"]["wkid"] == 4326
    geod = pyproj.Geod(ellps="WGS84")
    areas = [abs(geod.geometry_area_perimeter(shapely.segmentize(c, 0.01))[0]) for c in shapes(out)]
    assert areas == pytest.approx([25e6] * len(areas), rel=0.002)


def test_tessellation_limits_the_cell_count(client: TestClient) -> None:
    body = execute(client, "GenerateTessellation", Extent="0 0 1000000 1000000", Size="1 SquareMeters",
                   Spatial_Reference=3857)  # fmt: skip
    assert "cells" in error(body)["message"]
