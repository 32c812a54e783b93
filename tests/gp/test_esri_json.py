"""Esri JSON <-> shapely: fixtures per geometry type, ring orientation, dialects, errors, round trips."""

from __future__ import annotations

import gc
import time
from typing import Any

import numpy as np
import orjson
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gpserver.errors import InvalidParameterError
from gpserver.gp import esri_json
from gpserver.gp.esri_json import (
    decode_feature_set,
    decode_geometries,
    decode_geometry,
    encode_feature_set,
    encode_geometries,
    encode_geometry,
    loads,
)
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.geometry import orient_esri, reproject
from gpserver.gp.srs import SpatialReference

POINT = "esriGeometryPoint"
MULTIPOINT = "esriGeometryMultipoint"
POLYLINE = "esriGeometryPolyline"
POLYGON = "esriGeometryPolygon"

WGS84 = SpatialReference(wkid=4326)
WEB_MERCATOR = SpatialReference(wkid=102100, latest_wkid=3857)

# Esri orientation: outer rings clockwise, holes counter-clockwise
OUTER = [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]
HOLE = [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]
OUTER2 = [[20, 0], [20, 10], [30, 10], [30, 0], [20, 0]]


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def wire(value: Any) -> Any:
    """What a client would read: the value serialised and parsed again."""
    return orjson.loads(dumps(value))


def shoelace(ring: list[list[float]]) -> float:
    """Signed area, positive when counter-clockwise with y up (independent of the code under test)."""
    total = 0.0
    for (x1, y1, *_), (x2, y2, *_) in zip(ring, ring[1:], strict=False):
        total += x1 * y2 - x2 * y1
    return total / 2.0


def geom(obj: Any, **kw: Any) -> Any:
    return decode_geometry(obj, **kw)[0]


# ------------------------------------------------------------------------------- fixed fixtures


@pytest.mark.parametrize(
    ("obj", "wkt"),
    [
        ({"x": -118.15, "y": 33.8}, "POINT (-118.15 33.8)"),
        ({"x": 1, "y": 2, "z": 3}, "POINT Z (1 2 3)"),
        ({"points": [[1, 2], [3, 4]]}, "MULTIPOINT ((1 2), (3 4))"),
        ({"hasZ": True, "points": [[1, 2, 5], [3, 4, 6]]}, "MULTIPOINT Z ((1 2 5), (3 4 6))"),
        ({"paths": [[[0, 0], [1, 1], [2, 0]]]}, "LINESTRING (0 0, 1 1, 2 0)"),
        ({"paths": [[[0, 0], [1, 1]], [[5, 5], [6, 6], [7, 5]]]}, "MULTILINESTRING ((0 0, 1 1), (5 5, 6 6, 7 5))"),
        ({"paths": [[[0, 0, 1], [1, 1, 2]]]}, "LINESTRING Z (0 0 1, 1 1 2)"),
        ({"rings": [OUTER]}, "POLYGON ((0 0, 0 10, 10 10, 10 0, 0 0))"),
        ({"rings": [OUTER, HOLE]}, "POLYGON ((0 0, 0 10, 10 10, 10 0, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))"),
        (
            {"rings": [OUTER2, HOLE, OUTER]},  # the hole belongs to the second outer ring given
            "MULTIPOLYGON (((20 0, 20 10, 30 10, 30 0, 20 0)),"
            " ((0 0, 0 10, 10 10, 10 0, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2)))",
        ),
        ({"rings": [[[0, 0], [0, 1], [1, 1], [1, 0]]]}, "POLYGON ((0 0, 0 1, 1 1, 1 0, 0 0))"),  # unclosed
        ({"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 5}, "POLYGON ((1 2, 1 5, 3 5, 3 2, 1 2))"),
        ({"x": None}, "POINT EMPTY"),
        ({"x": "NaN", "y": "NaN"}, "POINT EMPTY"),
        ({"points": []}, "MULTIPOINT EMPTY"),
        ({"paths": []}, "LINESTRING EMPTY"),
        ({"rings": []}, "POLYGON EMPTY"),
        ({"xmin": None}, "POLYGON EMPTY"),
    ],
)
def test_decode_fixture(obj: dict[str, Any], wkt: str) -> None:
    expected = shapely.from_wkt(wkt)
    got, sr = decode_geometry(obj)
    assert sr is None
    assert got is not None
    assert got.geom_type == expected.geom_type
    assert got.has_z == expected.has_z
    if expected.is_empty:
        assert got.is_empty
    else:
        assert shapely.equals(got, expected)
        assert shapely.equals_exact(shapely.normalize(got), shapely.normalize(expected), tolerance=0)


def test_multipolygon_two_outers_one_hole() -> None:
    got = geom({"rings": [OUTER, OUTER2, [[22, 2], [24, 2], [24, 4], [22, 4], [22, 2]]]})
    assert got.geom_type == "MultiPolygon"
    first, second = shapely.get_parts(got)
    assert len(first.interiors) == 0
    assert len(second.interiors) == 1
    assert got.area == pytest.approx(100 + 100 - 4)


def test_hole_goes_to_the_smallest_covering_outer() -> None:
    big = [[0, 0], [0, 100], [100, 100], [100, 0], [0, 0]]
    big_hole = [[10, 10], [90, 10], [90, 90], [10, 90], [10, 10]]
    island = [[20, 20], [20, 80], [80, 80], [80, 20], [20, 20]]
    island_hole = [[40, 40], [60, 40], [60, 60], [40, 60], [40, 40]]
    got = geom({"rings": [big, big_hole, island, island_hole]})
    assert got.geom_type == "MultiPolygon"
    assert got.area == pytest.approx(100**2 - 80**2 + 60**2 - 20**2)
    assert [len(p.interiors) for p in shapely.get_parts(got)] == [1, 1]


def test_point_m_and_sr() -> None:
    got, sr = decode_geometry({"x": 1, "y": 2, "m": 7, "spatialReference": {"wkid": 4326}})
    assert got is not None and shapely.equals(got, shapely.Point(1, 2))
    assert sr is not None and sr.wkid == 4326
    geoms, has_z, has_m, m_values = decode_geometries([{"x": 1, "y": 2, "m": 7}], geometry_type=POINT, param="p")
    assert not has_z and has_m
    assert m_values is not None and m_values[0].tolist() == [7.0]


def test_xym_and_xyzm_coordinates() -> None:
    ring_m = [[0, 0, 1], [0, 1, 2], [1, 1, 3], [1, 0, 4], [0, 0, 1]]
    geoms, has_z, has_m, m_values = decode_geometries(
        [{"rings": [ring_m]}], geometry_type=POLYGON, param="p", has_z=False, has_m=True
    )
    assert not has_z and has_m and not geoms[0].has_z
    assert m_values is not None and m_values[0].tolist() == [1, 2, 3, 4, 1]
    ring_zm = [[0, 0, 5, 1], [0, 1, 5, 2], [1, 1, 5, 3], [1, 0, 5, 4], [0, 0, 5, 1]]
    geoms, has_z, has_m, m_values = decode_geometries([{"rings": [ring_zm]}], geometry_type=POLYGON, param="p")
    assert has_z and has_m and geoms[0].has_z
    assert shapely.get_coordinates(geoms[0], include_z=True)[:, 2].tolist() == [5] * 5
    assert m_values is not None and m_values[0].tolist() == [1, 2, 3, 4, 1]
    # without hasM, [x, y, v] is z
    geoms, has_z, has_m, _ = decode_geometries([{"paths": [[[0, 0, 9], [1, 1, 9]]]}], geometry_type=POLYLINE, param="p")
    assert has_z and not has_m and geoms[0].has_z


def test_m_values_round_trip_through_a_feature_set() -> None:
    fs = decode_feature_set(
        {
            "geometryType": POLYLINE,
            "hasM": True,
            "features": [
                {"geometry": {"paths": [[[0, 0, 1], [1, 1, 2]], [[5, 5, 3], [6, 6, None]]]}},
                {"geometry": None},
            ],
        },
        param="p",
    )
    out = wire(encode_feature_set(fs, return_m=True))
    assert out["hasM"] is True
    assert out["features"][0]["geometry"]["paths"] == [[[0, 0, 1], [1, 1, 2]], [[5, 5, 3], [6, 6, None]]]
    assert "geometry" not in out["features"][1]
    stripped = wire(encode_feature_set(fs))
    assert "hasM" not in stripped
    assert stripped["features"][0]["geometry"]["paths"][0] == [[0, 0], [1, 1]]


def test_encoded_polygon_orientation_and_closure() -> None:
    # rings given the "wrong" way round (GeoJSON orientation) come out in Esri orientation
    ccw_outer = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (2, 4), (4, 4), (4, 2)]])
    multi = shapely.MultiPolygon([ccw_outer, shapely.box(20, 0, 30, 10, ccw=True)])
    for g, ring_kinds in ((ccw_outer, ["outer", "hole"]), (multi, ["outer", "hole", "outer"])):
        out = wire(encode_geometry(g, geometry_type=POLYGON))
        assert len(out["rings"]) == len(ring_kinds)
        for ring, kind in zip(out["rings"], ring_kinds, strict=True):
            assert ring[0] == ring[-1]
            assert (shoelace(ring) < 0) == (kind == "outer")
        assert shapely.equals(geom(out), g)


def test_encode_geometry_forms() -> None:
    assert encode_geometry(None, geometry_type=POINT) is None
    assert wire(encode_geometry(shapely.Point(1, 2), geometry_type=POINT)) == {"x": 1, "y": 2}
    assert wire(encode_geometry(shapely.Point(1, 2, 3), geometry_type=POINT, has_z=True)) == {"x": 1, "y": 2, "z": 3}
    assert wire(encode_geometry(shapely.Point(), geometry_type=POINT)) == {"x": None, "y": None}
    assert wire(encode_geometry(shapely.MultiPoint([(1, 2), (3, 4)]), geometry_type=MULTIPOINT)) == {
        "points": [[1, 2], [3, 4]]
    }
    assert wire(encode_geometry(shapely.LineString([(0, 0), (1, 1)]), geometry_type=POLYLINE)) == {
        "paths": [[[0, 0], [1, 1]]]
    }
    line_z = encode_geometry(shapely.LineString([(0, 0, 1), (1, 1, 2)]), geometry_type=POLYLINE, has_z=True)
    assert wire(line_z) == {"paths": [[[0, 0, 1], [1, 1, 2]]], "hasZ": True}
    assert wire(encode_geometry(shapely.Polygon(), geometry_type=POLYGON)) == {"rings": []}
    assert wire(encode_geometry(shapely.box(0, 0, 1, 2), geometry_type="esriGeometryEnvelope")) == {
        "xmin": 0,
        "ymin": 0,
        "xmax": 1,
        "ymax": 2,
    }
    # a tool returning a collection still gets a polygon out
    mixed = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(5, 5), (6, 6)])])
    assert shapely.equals(geom(wire(encode_geometry(mixed, geometry_type=POLYGON))), shapely.box(0, 0, 1, 1))


def test_encode_geometries_keeps_nones_in_place() -> None:
    geoms = np.array([shapely.Point(1, 1), None, shapely.Point(2, 2)], dtype=object)
    out = encode_geometries(geoms, geometry_type=POINT)
    assert out[1] is None
    assert out[0] == {"x": 1.0, "y": 1.0} and out[2] == {"x": 2.0, "y": 2.0}


def test_coordinate_arrays_are_contiguous_float64() -> None:
    poly = shapely.Polygon(OUTER, [HOLE])
    out = encode_geometries(np.array([poly, poly], dtype=object), geometry_type=POLYGON, has_z=False)
    for feature in out:
        assert feature is not None
        for ring in feature["rings"]:
            assert isinstance(ring, np.ndarray)
            assert ring.dtype == np.float64 and ring.flags.c_contiguous


# ------------------------------------------------------------------------------- round trips

coord = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(coord, coord, coord), min_size=1, max_size=20), st.booleans())
def test_points_round_trip(xyz: list[tuple[float, float, float]], with_z: bool) -> None:
    pts = shapely.points([p if with_z else p[:2] for p in xyz])
    fs = FeatureSet(POINT, WGS84, [], np.asarray(pts, dtype=object), [{} for _ in xyz], has_z=with_z)
    back = decode_feature_set(wire(encode_feature_set(fs, return_z=True)), param="p")
    assert back.has_z == with_z
    assert all(shapely.equals_exact(a, b, tolerance=0) for a, b in zip(back.geometries, pts, strict=True))
    assert bool(shapely.has_z(back.geometries).all()) == with_z


@st.composite
def polylines(draw: st.DrawFn) -> shapely.Geometry:
    n_paths = draw(st.integers(1, 3))
    z = draw(st.booleans())
    paths = []
    for _ in range(n_paths):
        pts = draw(st.lists(st.tuples(coord, coord, coord), min_size=2, max_size=8))
        paths.append([p if z else p[:2] for p in pts])
    return shapely.LineString(paths[0]) if n_paths == 1 else shapely.MultiLineString(paths)


@settings(max_examples=25, deadline=None)
@given(st.lists(polylines(), min_size=1, max_size=5))
def test_polylines_round_trip(lines: list[shapely.Geometry]) -> None:
    has_z = any(g.has_z for g in lines)
    if has_z and not all(g.has_z for g in lines):
        lines = [shapely.force_3d(g) for g in lines]
    arr = np.asarray(lines, dtype=object)
    encoded = wire(encode_geometries(arr, geometry_type=POLYLINE, has_z=has_z))
    back, back_z, _, _ = decode_geometries(encoded, geometry_type=POLYLINE, param="p")
    assert back_z == has_z
    for a, b in zip(back, arr, strict=True):
        assert a.geom_type == b.geom_type
        assert shapely.equals_exact(a, b, tolerance=0)
        assert np.array_equal(shapely.get_coordinates(a, include_z=has_z), shapely.get_coordinates(b, include_z=has_z))


@st.composite
def polygons_with_holes(draw: st.DrawFn) -> shapely.Geometry:
    """Non-overlapping squares on a grid, some with square holes; optional constant-per-part z."""
    n_parts = draw(st.integers(1, 3))
    z = draw(st.booleans())
    parts = []
    for k in range(n_parts):
        x0, y0 = 100.0 * k + draw(st.floats(0, 10)), draw(st.floats(-1e4, 1e4))
        size = draw(st.floats(10, 80))
        shell = [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)]
        holes = []
        if draw(st.booleans()):
            hs = size / 4
            holes.append(
                [(x0 + hs, y0 + hs), (x0 + 2 * hs, y0 + hs), (x0 + 2 * hs, y0 + 2 * hs), (x0 + hs, y0 + 2 * hs)]
            )
        poly = shapely.Polygon(shell, holes)
        if z:
            poly = shapely.force_3d(poly, draw(st.floats(-100, 100)))
        parts.append(poly)
    return parts[0] if n_parts == 1 else shapely.MultiPolygon(parts)


@settings(max_examples=25, deadline=None)
@given(st.lists(polygons_with_holes(), min_size=1, max_size=4))
def test_polygons_round_trip(polys: list[shapely.Geometry]) -> None:
    has_z = any(g.has_z for g in polys)
    if has_z:
        polys = [shapely.force_3d(g) for g in polys]
    arr = np.asarray(polys, dtype=object)
    encoded = wire(encode_geometries(arr, geometry_type=POLYGON, has_z=has_z))
    for g in encoded:
        for ring in g["rings"]:
            assert ring[0] == ring[-1]
    back, back_z, _, _ = decode_geometries(encoded, geometry_type=POLYGON, param="p")
    assert back_z == has_z
    for a, b in zip(back, arr, strict=True):
        assert a.geom_type == b.geom_type
        assert shapely.equals(a, b)
        assert a.area == pytest.approx(b.area)
        if has_z:
            assert sorted(shapely.get_coordinates(a, include_z=True)[:, 2]) == sorted(
                shapely.get_coordinates(b, include_z=True)[:, 2]
            )


# ------------------------------------------------------------------------------- feature sets

DIALECT_GEOMS = [{"x": -104.44, "y": 34.83}, {"x": -104.0, "y": 35.0}]
DIALECT_ATTRS = [{"OBJECTID": 1, "Name": "a"}, {"OBJECTID": 2, "Name": "b"}]


def dialects() -> list[dict[str, Any]]:
    with_oid = {
        "objectIdFieldName": "OBJECTID",
        "geometryType": POINT,
        "spatialReference": {"wkid": 4326},
        "fields": [
            {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID", "sqlType": "sqlTypeOther"},
            {
                "name": "Name",
                "type": "esriFieldTypeString",
                "alias": "Name",
                "sqlType": "sqlTypeNVarchar",
                "length": 50,
            },
        ],
        "features": [{"geometry": g, "attributes": a} for g, a in zip(DIALECT_GEOMS, DIALECT_ATTRS, strict=True)],
    }
    with_nulls = {
        "geometryType": POINT,
        "spatialReference": {"wkid": 4326, "latestWkid": 4326},
        "fields": [
            {"name": "OBJECTID", "type": "esriFieldTypeOID"},
            {"name": "Name", "type": "esriFieldTypeString"},
        ],
        "features": [
            {"geometry": g, "attributes": a, "symbol": None, "popupTemplate": None, "aggregateGeometries": None}
            for g, a in zip(DIALECT_GEOMS, DIALECT_ATTRS, strict=True)
        ],
    }
    sr_on_geometry = {
        "geometryType": POINT,
        "features": [
            {"geometry": {**g, "spatialReference": {"wkid": 4326}}, "attributes": a}
            for g, a in zip(DIALECT_GEOMS, DIALECT_ATTRS, strict=True)
        ],
    }
    return [with_oid, with_nulls, sr_on_geometry]


@pytest.mark.parametrize("dialect", range(3))
def test_three_dialects_decode_alike(dialect: int) -> None:
    fs = decode_feature_set(dialects()[dialect], param="in_features")
    assert fs.geometry_type == POINT
    assert fs.spatial_reference is not None and fs.spatial_reference.wkid == 4326
    assert fs.attributes == DIALECT_ATTRS
    assert [(p.x, p.y) for p in fs.geometries] == [(g["x"], g["y"]) for g in DIALECT_GEOMS]
    assert fs.oid_field == "OBJECTID"
    assert fs.field("name") is not None


def test_feature_collection_and_layers_input() -> None:
    base = dialects()[0]
    layer = {
        "layerDefinition": {
            "geometryType": POINT,
            "objectIdField": "OBJECTID",
            "fields": base["fields"],
            "spatialReference": {"wkid": 4326},
        },
        "featureSet": {"features": base["features"]},
    }
    for obj in (layer, {"layers": [layer]}):
        fs = decode_feature_set(obj, param="p")
        assert fs.geometry_type == POINT
        assert fs.spatial_reference is not None and fs.spatial_reference.wkid == 4326
        assert fs.attributes == DIALECT_ATTRS
        assert [f.name for f in fs.fields] == ["OBJECTID", "Name"]


def test_schema_less_input_takes_the_default_schema() -> None:
    default = FeatureSet.empty(
        POLYGON,
        WEB_MERCATOR,
        [FieldDef("OBJECTID", "esriFieldTypeOID"), FieldDef("Zone", "esriFieldTypeString", length=10)],
    )
    fs = decode_feature_set(
        {"features": [{"geometry": {"rings": [OUTER]}, "attributes": {"Zone": "A"}}]}, param="p", default=default
    )
    assert fs.geometry_type == POLYGON
    assert fs.spatial_reference == WEB_MERCATOR
    assert fs.fields == default.fields
    # no geometry at all: the default's type; nothing at all: points
    empty = decode_feature_set({"features": []}, param="p", default=default)
    assert empty.geometry_type == POLYGON and len(empty) == 0
    bare = decode_feature_set({"features": [{"attributes": {"a": 1}}]}, param="p")
    assert bare.geometry_type == POINT and bare.spatial_reference is None


def test_fields_are_derived_and_normalised() -> None:
    fs = decode_feature_set(
        {
            "features": [
                {"geometry": {"x": 0, "y": 0}, "attributes": {"i": 1, "f": 1.5, "s": "x", "b": True, "n": None}},
                {"geometry": {"x": 0, "y": 0}, "attributes": {"i": 2, "f": 2, "s": "y", "b": False, "n": None}},
                {"geometry": {"x": 0, "y": 0}},
            ]
        },
        param="p",
    )
    types = {f.name: f.type for f in fs.fields}
    assert types == {
        "i": "esriFieldTypeInteger",
        "f": "esriFieldTypeDouble",
        "s": "esriFieldTypeString",
        "b": "esriFieldTypeSmallInteger",
        "n": "esriFieldTypeString",
    }
    assert fs.attributes[2] == {}
    fs = decode_feature_set(
        {
            "fields": [{"name": "a", "type": "ESRIFIELDTYPELONG"}, {"name": "d", "type": "esrifieldtypedouble"}],
            "features": [],
        },
        param="p",
    )
    assert [f.type for f in fs.fields] == ["esriFieldTypeInteger", "esriFieldTypeDouble"]


def test_attribute_dicts_are_not_copied() -> None:
    attrs = {"a": 1}
    fs = decode_feature_set({"features": [{"geometry": {"x": 1, "y": 1}, "attributes": attrs}]}, param="p")
    assert fs.attributes[0] is attrs


def test_per_geometry_sr_is_honoured() -> None:
    lon, lat = 10.0, 50.0
    x, y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    fs = decode_feature_set(
        {
            "geometryType": POINT,
            "spatialReference": {"wkid": 102100},
            "features": [
                {"geometry": {"x": x, "y": y}},
                {"geometry": {"x": lon, "y": lat, "spatialReference": {"wkid": 4326}}},
            ],
        },
        param="p",
    )
    assert fs.spatial_reference is not None and fs.spatial_reference.wkid == 102100
    a, b = fs.geometries
    assert (b.x, b.y) == pytest.approx((a.x, a.y), abs=1e-6)
    # no top-level SR: the first geometry's, and a later one in another SR is moved into it
    fs = decode_feature_set(
        {
            "features": [
                {"geometry": {"x": lon, "y": lat, "spatialReference": {"wkid": 4326}}},
                {"geometry": {"x": x, "y": y, "spatialReference": {"wkid": 3857}}},
            ]
        },
        param="p",
    )
    assert fs.spatial_reference is not None and fs.spatial_reference.wkid == 4326
    assert (fs.geometries[1].x, fs.geometries[1].y) == pytest.approx((lon, lat))


def test_record_set() -> None:
    fs = decode_feature_set(
        {"fields": [{"name": "COUNT", "type": "esriFieldTypeInteger"}], "features": [{"attributes": {"COUNT": 12}}]},
        param="stats",
        require_geometry=False,
    )
    assert fs.geometry_type is None and fs.geometries.tolist() == [None]
    out = wire(encode_feature_set(fs))
    assert out == {
        "displayFieldName": "",
        "fields": [{"name": "COUNT", "type": "esriFieldTypeInteger", "alias": "COUNT"}],
        "features": [{"attributes": {"COUNT": 12}}],
        "exceededTransferLimit": False,
    }


def test_features_without_attributes_get_a_dict_each() -> None:
    """Absent, null, empty (or other empty JSON) attributes decode as an empty dict of each
    feature's own, which a tool may fill; real attributes are kept as they are."""
    kept = {"A": 1}
    raw = {
        "geometryType": POINT,
        "features": [
            {"geometry": {"x": 1, "y": 2}},
            {"geometry": {"x": 1, "y": 2}, "attributes": None},
            {"geometry": {"x": 1, "y": 2}, "attributes": {}},
            {"geometry": {"x": 1, "y": 2}, "attributes": []},
            {"geometry": {"x": 1, "y": 2}, "attributes": kept},
        ],
    }
    fs = decode_feature_set(raw, param="p")
    assert fs.attributes == [{}, {}, {}, {}, {"A": 1}] and fs.attributes[4] is kept
    assert len({id(a) for a in fs.attributes}) == 5


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ("not json", "JSON object"),
        ({"features": 5}, "'features' must be an array"),
        ({"features": [1, 2]}, "features[0] must be a JSON object"),
        ({"features": [{"attributes": [1]}]}, "features[0].attributes"),
        ({"geometryType": "esriGeometryCircle", "features": []}, "unknown geometryType"),
        ({"spatialReference": {"wkid": 123456789}, "features": []}, "123456789"),
        ({"geometryType": POINT, "features": [{"geometry": {"y": 1}}]}, "no 'x'"),
        ({"geometryType": POINT, "features": [{"geometry": {"x": 1}}]}, ".y must be a number"),
        ({"geometryType": POINT, "features": [{"geometry": {"x": "1", "y": 2}}]}, "features[0].geometry.x"),
        (
            {"geometryType": POINT, "features": [{"geometry": {"x": 1, "y": 2}}, {"geometry": "a"}]},
            "features[1].geometry",
        ),
        ({"geometryType": POLYGON, "features": [{"geometry": {"rings": [[[0, 0], [1, 1]]]}}]}, "rings[0] has 2 point"),
        ({"geometryType": POLYGON, "features": [{"geometry": {"rings": [[[0, 0], [1, 1], [0, 0]]]}}]}, "3 distinct"),
        (
            {"geometryType": POLYGON, "features": [{"geometry": {"rings": [[[0, 0], [1], [1, 1], [0, 0]]]}}]},
            "rings[0][1]",
        ),
        ({"geometryType": POLYGON, "features": [{"geometry": {"rings": [["a", "b", "c"]]}}]}, "rings[0][0]"),
        ({"geometryType": POLYGON, "features": [{"geometry": {"rings": "x"}}]}, "must be an array"),
        ({"geometryType": POLYGON, "features": [{"geometry": {"paths": []}}]}, "no 'rings'"),
        ({"geometryType": POLYGON, "features": [{"geometry": {"curveRings": []}}]}, "curves"),
        ({"geometryType": POLYLINE, "features": [{"geometry": {"paths": [[[0, 0]]]}}]}, "a path needs 2"),
        ({"geometryType": POLYLINE, "features": [{"geometry": {"paths": [[[0, "1"], [1, 1]]]}}]}, "paths[0][0][1]"),
        ({"geometryType": POLYLINE, "features": [{"geometry": {"paths": [[0, 1]]}}]}, "paths[0][0]"),
        ({"geometryType": MULTIPOINT, "features": [{"geometry": {"points": [[True, True]]}}]}, "points[0]"),
        ({"geometryType": MULTIPOINT, "features": [{"geometry": {"points": [[1, 2, 3, 4, 5]]}}]}, "points[0]"),
        ({"fields": [{"name": "a", "type": "esriFieldTypeWhatever"}], "features": []}, "unknown type"),
        ({"fields": [{"type": "esriFieldTypeString"}], "features": []}, "fields[0]"),
        ({"fields": "a", "features": []}, "'fields' must be an array"),
        ({"layers": [1, 2]}, "exactly one layer"),
        ({"url": "https://example.com/FeatureServer/0"}, "resolved"),
    ],
)
def test_malformed_feature_sets(obj: Any, reason: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        decode_feature_set(obj, param="in_features")
    assert info.value.message == "Invalid value for 'in_features'"
    assert any(reason in d for d in info.value.details), info.value.details


@pytest.mark.parametrize(
    "obj",
    [
        {"x": [1], "y": 2},
        {"points": None},
        {"paths": [[[0, 0], None]]},
        {"rings": [[[0, 0], [0, 1], [1, {}]]]},
        5,
        {"foo": 1},
    ],
)
def test_malformed_single_geometries(obj: Any) -> None:
    with pytest.raises(InvalidParameterError):
        decode_geometry(obj)


def test_invalid_geometry_is_kept_not_rejected() -> None:
    bowtie = [[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]
    got = geom({"rings": [bowtie, [[1, 1], [2, 1], [2, 2], [1, 1]], OUTER2]})
    assert got is not None and not got.is_empty


# ------------------------------------------------------------------------------- output


def small_points() -> FeatureSet:
    return FeatureSet(
        POINT,
        WGS84,
        [FieldDef("OBJECTID", "esriFieldTypeOID"), FieldDef("v", "esriFieldTypeDouble")],
        np.asarray(shapely.points([[10, 50], [11, 51], [12, 52]]), dtype=object),
        [{"OBJECTID": i, "v": i / 2} for i in range(3)],
    )


def test_encode_feature_set_shape() -> None:
    out = wire(encode_feature_set(small_points()))
    assert list(out) == [
        "displayFieldName",
        "geometryType",
        "spatialReference",
        "fields",
        "features",
        "exceededTransferLimit",
    ]
    assert out["spatialReference"] == {"wkid": 4326, "latestWkid": 4326}
    assert out["features"][1] == {"attributes": {"OBJECTID": 1, "v": 0.5}, "geometry": {"x": 11, "y": 51}}
    assert out["exceededTransferLimit"] is False


def test_max_records() -> None:
    out = encode_feature_set(small_points(), max_records=2)
    assert out["features"] == [] and out["exceededTransferLimit"] is True
    out = encode_feature_set(small_points(), max_records=3)
    assert len(out["features"]) == 3 and out["exceededTransferLimit"] is False


def test_feature_collection_output() -> None:
    out = wire(encode_feature_set(small_points(), feature_collection=True))
    layer, fset = out["layerDefinition"], out["featureSet"]
    assert layer["type"] == "Feature Layer" and layer["geometryType"] == POINT
    assert layer["objectIdField"] == "OBJECTID"
    assert layer["templates"] == []
    assert layer["drawingInfo"]["renderer"]["type"] == "simple"
    assert layer["drawingInfo"]["renderer"]["symbol"]["type"] == "esriSMS"
    assert fset["exceededTransferLimit"] is False and len(fset["features"]) == 3
    # and it decodes again
    assert decode_feature_set(out, param="p").attributes == small_points().attributes


def test_reprojection_matches_pyproj() -> None:
    out = wire(encode_feature_set(small_points(), out_sr=WEB_MERCATOR))
    assert out["spatialReference"] == {"wkid": 102100, "latestWkid": 3857}
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    for feature, (lon, lat) in zip(out["features"], [(10, 50), (11, 51), (12, 52)], strict=True):
        x, y = tr.transform(lon, lat)
        assert feature["geometry"]["x"] == pytest.approx(x, abs=1e-6)
        assert feature["geometry"]["y"] == pytest.approx(y, abs=1e-6)


def test_reproject_keeps_z_and_none() -> None:
    geoms = np.array([shapely.Point(10, 50, 7), None, shapely.Point(11, 51, 8)], dtype=object)
    moved = reproject(geoms, WGS84, WEB_MERCATOR)
    assert moved[1] is None
    assert moved[0].has_z and moved[0].z == 7 and moved[2].z == 8
    x, y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(10, 50)
    assert (moved[0].x, moved[0].y) == pytest.approx((x, y))
    assert reproject(geoms, WGS84, WGS84) is not None


def test_orient_esri() -> None:
    out = orient_esri(np.array([shapely.box(0, 0, 1, 1, ccw=True), None], dtype=object))
    assert out[1] is None
    assert shoelace([list(c) for c in out[0].exterior.coords]) < 0


def test_everything_serialises_with_orjson() -> None:
    poly = shapely.Polygon(OUTER, [HOLE])
    fs = FeatureSet(
        POLYGON,
        WEB_MERCATOR,
        [FieldDef("OBJECTID", "esriFieldTypeOID")],
        np.array([poly, shapely.force_3d(poly, 4), None], dtype=object),
        [{"OBJECTID": i} for i in range(3)],
        has_z=True,
    )
    for kw in ({}, {"return_z": True}, {"feature_collection": True}, {"out_sr": WGS84, "return_z": True}):
        body = orjson.loads(dumps(encode_feature_set(fs, **kw)))
        features = body["featureSet"]["features"] if "featureSet" in body else body["features"]
        ring = features[0]["geometry"]["rings"][0]
        assert ring[0] == ring[-1]
        assert len(ring[0]) == (3 if kw.get("return_z") else 2)
        assert "geometry" not in features[2]


def test_hundred_thousand_points() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(-170, 170, (100_000, 2))
    payload = {
        "geometryType": POINT,
        "spatialReference": {"wkid": 4326},
        "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"}],
        "features": [
            {"geometry": {"x": x, "y": y}, "attributes": {"OBJECTID": i}} for i, (x, y) in enumerate(xy.tolist())
        ],
    }
    fs = decode_feature_set(loads(orjson.dumps(payload)), param="p")
    assert len(fs) == 100_000
    assert np.array_equal(shapely.get_coordinates(fs.geometries), xy)
    body = orjson.loads(dumps(encode_feature_set(fs)))
    assert len(body["features"]) == 100_000
    assert body["features"][-1]["geometry"] == {"x": xy[-1, 0], "y": xy[-1, 1]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)
coordinate_like = st.lists(st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.none(), st.text(max_size=1)), max_size=5)
geometry_like = st.dictionaries(
    st.sampled_from(
        [
            "x",
            "y",
            "z",
            "m",
            "points",
            "paths",
            "rings",
            "xmin",
            "ymin",
            "xmax",
            "ymax",
            "spatialReference",
            "hasZ",
            "hasM",
        ]
    ),
    json_values
    | coordinate_like
    | st.lists(coordinate_like, max_size=5)
    | st.lists(st.lists(coordinate_like, max_size=5), max_size=3),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([None, POINT, MULTIPOINT, POLYLINE, POLYGON, "esriGeometryEnvelope"]),
    st.lists(st.one_of(st.none(), geometry_like, json_values), max_size=4),
    st.one_of(st.none(), st.booleans()),
)
def test_garbage_raises_only_invalid_parameter(gtype: str | None, geometries: list[Any], has_m: bool | None) -> None:
    obj: dict[str, Any] = {"features": [{"geometry": g, "attributes": {}} for g in geometries]}
    if gtype:
        obj["geometryType"] = gtype
    if has_m is not None:
        obj["hasM"] = has_m
    try:
        fs = decode_feature_set(obj, param="p")
    except InvalidParameterError as exc:
        assert exc.details
        return
    dumps(encode_feature_set(fs, return_z=True, return_m=True))


def test_encode_sets_of_a_single_shapely_kind() -> None:
    line = shapely.LineString([(0, 0), (1, 1)])
    lines = np.array([line, line, shapely.LineString()], dtype=object)
    assert wire(encode_geometries(lines, geometry_type=POLYLINE)) == [
        {"paths": [[[0, 0], [1, 1]]]},
        {"paths": [[[0, 0], [1, 1]]]},
        {"paths": []},
    ]
    points = np.array([shapely.Point(1, 2), shapely.Point(), shapely.Point(3, 4)], dtype=object)
    out = encode_geometries(points, geometry_type=MULTIPOINT, has_m=True, m_values=[np.array([7.0]), None, [8.0]])
    assert wire(out) == [{"points": [[1, 2, 7]]}, {"points": []}, {"points": [[3, 4, 8]]}]
    polys = np.array([shapely.Polygon(), shapely.MultiPolygon([shapely.box(0, 0, 1, 1)])], dtype=object)
    rings = wire(encode_geometries(polys, geometry_type=POLYGON))
    assert rings[0] == {"rings": []} and len(rings[1]["rings"]) == 1


@pytest.mark.parametrize(
    ("gtype", "wkts"),
    [
        (
            "esriGeometryPolygon",
            [
                "POLYGON ((0 0, 0 10, 10 10, 10 0, 0 0), (2 2, 8 2, 8 8, 2 8, 2 2))",
                "MULTIPOLYGON (((0 0, 0 1, 1 1, 0 0)), ((5 5, 5 6, 6 6, 5 5)))",
                "POLYGON EMPTY",
            ],
        ),
        ("esriGeometryPolyline", ["LINESTRING (0 0, 1 1)", "MULTILINESTRING ((0 0, 1 1), (2 2, 3 3, 4 4))"]),
        ("esriGeometryMultipoint", ["MULTIPOINT (0 0, 1 1, 2 5)", "MULTIPOINT EMPTY"]),
    ],
)
def test_small_and_bulk_encoders_agree(gtype: str, wkts: list[str]) -> None:
    """A few geometries are read one by one, many through a ragged array: same JSON either way."""
    few = np.array([shapely.from_wkt(w) for w in wkts], dtype=object)
    many = np.array([shapely.from_wkt(w) for w in wkts * 10], dtype=object)
    small = encode_geometries(few, geometry_type=gtype)
    bulk = encode_geometries(many, geometry_type=gtype)[: len(wkts)]
    assert orjson.dumps(small, option=orjson.OPT_SERIALIZE_NUMPY) == orjson.dumps(
        bulk, option=orjson.OPT_SERIALIZE_NUMPY
    )


def test_large_parsed_json_is_kept_for_the_request_to_free_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside ``Keeping``, large parsed values go to the request's garbage (freed after its answer),
    except past KEEP_BYTES; outside, nothing is kept."""
    text = orjson.dumps({"features": [{"geometry": {"x": i, "y": i}} for i in range(5000)]})
    garbage: list[Any] = []
    with esri_json.Keeping(garbage):
        value = esri_json.loads(text)
        monkeypatch.setattr(esri_json, "KEEP_BYTES", len(text) - 1)
        esri_json.loads(text)
    assert len(garbage) == 1 and garbage[0] is value
    assert len(value["features"]) == 5000
    esri_json.loads(text)
    assert len(garbage) == 1


def test_a_kept_pause_outlasts_its_block_until_resumed_once() -> None:
    """``keep`` leaves the collector paused past the block; its resume ends the pause, once."""
    assert gc.isenabled()
    try:
        pause = esri_json.gc_paused()
        with pause:
            resume = pause.keep(30)
        assert not gc.isenabled()
        resume()
        assert gc.isenabled()
        gc.disable()  # someone else's pause now: a second resume must not end it
        resume()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_kept_pause_ends_by_itself_after_its_limit() -> None:
    try:
        pause = esri_json.gc_paused()
        with pause:
            pause.keep(0.05)
        assert not gc.isenabled()
        deadline = time.monotonic() + 5
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gc.isenabled()
    finally:
        gc.enable()


def test_a_pause_that_stopped_nothing_keeps_nothing() -> None:
    """Inside someone else's pause, ``keep`` neither holds nor ends the collector's pause."""
    gc.disable()
    try:
        pause = esri_json.gc_paused()
        with pause:
            resume = pause.keep(0.01)
        time.sleep(0.05)
        resume()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_everything_parsed_is_kept_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    text = orjson.dumps({"features": [{"geometry": {"x": i, "y": i}} for i in range(100)]})
    monkeypatch.setattr(esri_json, "KEEP_BYTES", 10)
    garbage: list[Any] = []
    with esri_json.Keeping(garbage, everything=True):
        value = esri_json.loads(text)
    with esri_json.Keeping(garbage):
        esri_json.loads(text)
    assert garbage == [value]
