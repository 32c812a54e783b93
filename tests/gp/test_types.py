"""Codecs of every GP data type, table-driven: decode then encode, and refusals, without HTTP."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pytest

from gpserver.errors import ConfigurationError, InvalidParameterError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.srs import SpatialReference
from gpserver.gp.structured import CompositeType, ValueTableType
from gpserver.gp.types import (
    FULL,
    DataFileType,
    EncodeOptions,
    ExtentType,
    GPType,
    RasterType,
    SpatialReferenceType,
    gp_type_for,
    literal_choices,
)
from gpserver.gp.values import ArealUnit, DataFile, Extent, HiddenString, LinearUnit, RasterData, SQLExpression


class Row(NamedTuple):
    n: int
    name: str = ""
    kind: Literal["X", "Y"] = "X"


# (annotation, published dataType, [(raw, encoded)], [invalid raw])
TABLE: list[tuple[Any, str, list[tuple[Any, Any]], list[Any]]] = [
    (str, "GPString", [("a", "a"), (5, "5")], [None, True, {"a": 1}, [1]]),
    (int, "GPLong", [("7", 7), (7.0, 7), ("-3", -3)], ["7.5", "x", True, None, 2**60]),
    (float, "GPDouble", [("1e3", 1000.0), (2, 2.0)], ["nan", "inf", "x", False, [1]]),
    (bool, "GPBoolean", [("TRUE", True), ("0", False), (1, True)], ["yes please", 2, None]),
    (
        datetime,
        "GPDate",
        [
            (1199145600000, 1199145600000),
            ("2008-01-01T00:00:00:000", 1199145600000),
            ({"date": "01/02/2008", "format": "MM/dd/yyyy"}, 1199232000000),
        ],
        ["soon", {"date": 5}, [1], "2008-02-30"],
    ),
    (
        LinearUnit,
        "GPLinearUnit",
        [
            ("5 Miles", {"distance": 5.0, "units": "esriMiles"}),
            ({"distance": 2}, {"distance": 2.0, "units": "esriMeters"}),
        ],
        ['{"distance": 1, "units": "esriLightYears"}', {"distance": None}, "five miles", [1]],
    ),
    (
        ArealUnit,
        "GPArealUnit",
        [("2 Hectares", {"area": 2.0, "units": "esriHectares"})],
        ["2 Furlongs", {"area": "x", "units": "esriAcres"}, 5],
    ),
    (SQLExpression, "GPSQLExpression", [("A = 'b'", "A = 'b'"), ('"quoted"', "quoted")], [5, {"where": "x"}, None]),
    (HiddenString, "GPStringHidden", [("secret", "secret")], [{"a": 1}, None]),
    (
        FieldDef,
        "GPField",
        [
            ({"name": "d", "type": "esriFieldTypeLong"}, {"name": "d", "type": "esriFieldTypeInteger", "alias": "d"}),
            (
                '{"name": "s", "type": "esriFieldTypeString", "length": 5, "nullable": true}',
                {"name": "s", "type": "esriFieldTypeString", "alias": "s", "length": 5, "nullable": True},
            ),
        ],
        [
            {"name": "", "type": "esriFieldTypeString"},
            {"name": "x"},
            {"name": "x", "type": "esriFieldTypeString", "nullable": "yes"},
            "x",
        ],
    ),
    (
        Extent,
        "GPExtent",
        [
            (
                {"xmin": 0, "ymin": 1, "xmax": 2, "ymax": 3, "spatialReference": {"wkid": 4326}},
                {
                    "xmin": 0.0,
                    "ymin": 1.0,
                    "xmax": 2.0,
                    "ymax": 3.0,
                    "spatialReference": {"wkid": 4326, "latestWkid": 4326},
                },
            ),
            (
                {"xmin": 0, "ymin": 1, "xmax": 2, "ymax": 3, "zmin": 5, "zmax": 6},
                {"xmin": 0.0, "ymin": 1.0, "xmax": 2.0, "ymax": 3.0, "zmin": 5.0, "zmax": 6.0},
            ),
        ],
        [
            {"xmin": 0},
            {"xmin": 3, "ymin": 0, "xmax": 2, "ymax": 1},
            {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1, "zmin": "a"},
            {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1, "spatial_reference": {"name": "World_Sinusoidal"}},
            "0,0,1,1",
        ],
    ),
    (
        SpatialReference,
        "GPSpatialReference",
        [(3857, {"wkid": 3857, "latestWkid": 3857}), ({"latestWkid": 2056}, {"wkid": 2056, "latestWkid": 2056})],
        [{"wkid": 123456789}, "bogus", {"foo": 1}],
    ),
    (
        list[str],
        "GPMultiValue:GPString",
        [('["a","b"]', ["a", "b"]), ("a, b", ["a", "b"]), (["x"], ["x"])],
        ['[{"a": 1}]', "[[1]]"],
    ),
    (list[int], "GPMultiValue:GPLong", [("1,2,3", [1, 2, 3]), ([4, "5"], [4, 5])], ["1,x", '["1.5"]']),
    (
        list[Row],
        "GPValueTable",
        [([[1, "a", "y"]], [[1, "a", "Y"]]), ([{"N": 2}], [[2, "", "X"]]), ('{"n": 3}', [[3, "", "X"]])],
        [[["a"]], [[1, "a", "Z"]], [{"m": 1}], [[None, "a"]], [[1, 2, "X", 4]], "x", [5]],
    ),
    (
        int | LinearUnit,
        "GPComposite",
        [
            ("3", 3),
            ('{"distance": 3}', {"distance": 3.0, "units": "esriMeters"}),
            ({"dataType": "GPLinearUnit", "value": "3"}, {"distance": 3.0, "units": "esriMeters"}),
        ],
        [{"dataType": "GPString", "value": "x"}, "ten", {"dataType": "GPLong", "value": "x"}, [1]],
    ),
]


def codec_of(annotation: Any) -> GPType[Any]:
    return gp_type_for(annotation)


@pytest.mark.parametrize(("annotation", "name", "valid", "invalid"), TABLE, ids=[t[1] for t in TABLE])
def test_decode_encode(annotation: Any, name: str, valid: list[tuple[Any, Any]], invalid: list[Any]) -> None:
    codec = codec_of(annotation)
    assert codec.name == name
    for raw, encoded in valid:
        value = codec.decode(raw, param="p")
        assert codec.encode(value, FULL) == encoded
        assert codec.encode(codec.decode(encoded, param="p"), FULL) == encoded  # outputs decode as inputs
    for raw in invalid:
        with pytest.raises(InvalidParameterError) as info:
            codec.decode(raw, param="p")
        assert info.value.details, raw


def test_value_table_columns_and_column_names() -> None:
    codec = codec_of(list[Row])
    assert isinstance(codec, ValueTableType)
    assert [(c.name, c.codec.name, c.required, c.choices) for c in codec.columns] == [
        ("n", "GPLong", True, None),
        ("name", "GPString", False, None),
        ("kind", "GPString", False, ["X", "Y"]),
    ]
    rows = codec.decode([[1]], param="t")
    assert rows == [Row(1)]
    assert codec.encode(rows, EncodeOptions(column_names=True)) == [{"n": 1, "name": "", "kind": "X"}]


def test_composite_names_its_concrete_member() -> None:
    codec = codec_of(LinearUnit | str)
    assert isinstance(codec, CompositeType)
    assert codec.result_type(LinearUnit(1.0)) == "GPLinearUnit"
    assert codec.result_type("text") == "GPString"
    assert literal_choices(Literal["A"] | int) is None
    assert literal_choices(Literal["A", "B"] | None) == ["A", "B"]


def test_value_tables_cannot_nest() -> None:
    class Bad(NamedTuple):
        values: list[int]

    with pytest.raises(ConfigurationError):
        codec_of(list[Bad])
    with pytest.raises(ConfigurationError):
        codec_of(list[list[Row]])


def test_aliases() -> None:
    assert ExtentType().renamed("GPEnvelope").name == "GPEnvelope"
    assert RasterType().renamed("GPRasterData").name == "GPRasterData"
    assert SpatialReferenceType().renamed("GPCoordinateSystem").name == "GPCoordinateSystem"
    with pytest.raises(ConfigurationError):
        ExtentType().renamed("GPString")


def test_files_decode_references_and_encode_urls(tmp_path: Path) -> None:
    codec = DataFileType()
    assert codec.decode('{"itemID": "i1"}', param="f") == DataFile(item_id="i1")
    assert codec.decode("https://h/x.csv", param="f") == DataFile(url="https://h/x.csv")
    for bad in ['{"portalItemID": "x"}', '{"url": "file:///etc/passwd"}', "[]", '{"itemID": ""}']:
        with pytest.raises(InvalidParameterError):
            codec.decode(bad, param="f")
    out = DataFile(path=tmp_path / "a.csv")
    with pytest.raises(ConfigurationError):
        codec.encode(out, FULL)  # no output URL configured: never a local path on the wire
    opts = EncodeOptions(file_url=lambda p: f"https://srv/out/{p.name}")
    assert codec.encode(out, opts) == {"url": "https://srv/out/a.csv"}
    raster = RasterType()
    assert raster.decode({"url": "https://h/dem.tif", "format": "tif"}, param="r").format == "tif"
    assert raster.encode(RasterData(path=tmp_path / "dem.tiff"), opts) == {
        "url": "https://srv/out/dem.tiff",
        "format": "tiff",
    }
    assert DataFile(url="https://h/a/b.GeoJSON?token=x").extension == "geojson"


def test_unknown_annotations_fail_at_declaration() -> None:
    with pytest.raises(ConfigurationError):
        codec_of(bytes)
    assert codec_of(FeatureSet).name == "GPFeatureRecordSetLayer"
    assert codec_of(FeatureSet | None).name == "GPFeatureRecordSetLayer"
