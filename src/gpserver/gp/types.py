"""One codec per GP data type: decode a request value, encode a result value.

Request values arrive as strings (JSON inside a form field, or a literal) or, from stored job
inputs and the command line, as already-parsed JSON values. Every codec accepts both.
"""

from __future__ import annotations

import copy
import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

import orjson

from gpserver.errors import ConfigurationError, InvalidParameterError
from gpserver.gp import esri_json
from gpserver.gp.features import FIELD_TYPES, FeatureSet, FieldDef
from gpserver.gp.srs import SpatialReference
from gpserver.gp.units import areal_unit_name, linear_unit_name
from gpserver.gp.values import (
    ArealUnit,
    DataFile,
    Extent,
    FieldName,
    HiddenString,
    LinearUnit,
    RasterData,
    SQLExpression,
)

T = TypeVar("T")

# GPLong range on ArcGIS 11.2+ (spec 13.5).
MAX_LONG = 4503599627370495


@dataclass(frozen=True, slots=True)
class EncodeOptions:
    """How results are written (``env:outSR``, ``returnZ``, ``returnM``, ``maximumRecords``...).

    Attributes:
        column_names: ``returnColumnName``: value tables as objects keyed by column name.
        file_url: the download URL of an output file a tool wrote (``execute`` serves them under
            ``rest/directories/arcgisoutput``; jobs give their own); unset, file outputs fail.
    """

    out_sr: SpatialReference | None = None
    return_z: bool = False
    return_m: bool = False
    max_records: int | None = None
    feature_collection: bool = False
    column_names: bool = False
    file_url: Callable[[Path], str] | None = None


FULL = EncodeOptions(return_z=True, return_m=True)


def json_or_literal(raw: object) -> object:
    """Parse a wire string as JSON when it is JSON, else keep the literal (spec 1.2)."""
    if isinstance(raw, str | bytes):
        try:
            return esri_json.loads(raw) if len(raw) > 65536 else orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw.decode() if isinstance(raw, bytes) else raw
    return raw


def invalid(param: str, reason: str) -> InvalidParameterError:
    """The one error shape for a value that does not fit its parameter."""
    return InvalidParameterError(f"Invalid value for parameter '{param}'", details=[reason])


def _show(raw: object) -> str:
    text = raw if isinstance(raw, str) else repr(raw)
    return text if len(text) <= 80 else text[:77] + "..."


class GPType(Generic[T]):
    """A GP data type: its wire name and its two-way codec.

    Attributes:
        data_type: the ``dataType`` name.
        aliases: other names a declaration may publish it under (``Input(data_type=...)``).
    """

    data_type: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    _alias: str | None = None

    def decode(self, raw: object, *, param: str) -> T:
        """Turn a request value into the tool's value; raise InvalidParameterError if it does not fit."""
        raise NotImplementedError

    def encode(self, value: T, opts: EncodeOptions = FULL) -> Any:
        """Turn a tool's value into result JSON."""
        return value

    @property
    def name(self) -> str:
        """The ``dataType`` published in task JSON."""
        return self._alias or self.data_type

    def result_type(self, value: T) -> str:
        """The ``dataType`` of a result holding ``value`` (a composite names its member)."""
        return self.name

    def renamed(self, name: str) -> GPType[T]:
        """The same codec published under one of its aliases."""
        if name == self.name:
            return self
        if name not in self.aliases:
            raise ConfigurationError(f"{self.name} cannot be published as {name!r}; aliases: {list(self.aliases)}")
        twin = copy.copy(self)
        twin._alias = name
        return twin


class StringType(GPType[str]):
    """GPString."""

    data_type = "GPString"

    def decode(self, raw: object, *, param: str) -> str:
        """Strings pass as sent; numbers given as JSON become their text."""
        if isinstance(raw, str):
            return raw
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return str(raw)
        raise invalid(param, f"expected a string, got {_show(raw)}")


class LongType(GPType[int]):
    """GPLong."""

    data_type = "GPLong"

    def decode(self, raw: object, *, param: str) -> int:
        """Accept ``345``, ``"345"`` and integral floats such as ``"5.0"``."""
        value: object = raw
        if isinstance(raw, str):
            text = raw.strip()
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    raise invalid(param, f"expected an integer, got {_show(raw)}") from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid(param, f"expected an integer, got {_show(raw)}")
        if abs(value) > MAX_LONG:
            raise invalid(param, f"{value} is outside the GPLong range ±{MAX_LONG}")
        return value


class DoubleType(GPType[float]):
    """GPDouble."""

    data_type = "GPDouble"

    def decode(self, raw: object, *, param: str) -> float:
        """Accept JSON numbers and numeric strings; refuse NaN and infinities."""
        value: object = raw
        if isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                raise invalid(param, f"expected a number, got {_show(raw)}") from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise invalid(param, f"expected a number, got {_show(raw)}")
        if not math.isfinite(value):
            raise invalid(param, "expected a finite number")
        return float(value)


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class BooleanType(GPType[bool]):
    """GPBoolean: ``true``/``false`` in any case, ``1``/``0``."""

    data_type = "GPBoolean"

    def decode(self, raw: object, *, param: str) -> bool:
        """Parse a boolean as clients spell it (``True`` from Python's requests included)."""
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        raise invalid(param, f"expected true or false, got {_show(raw)}")


def parse_bool(raw: object, default: bool = False) -> bool:
    """Lenient boolean for request options (``returnZ``...): anything unknown is the default."""
    if raw is None or raw == "":
        return default
    try:
        return BooleanType().decode(raw, param="")
    except InvalidParameterError:
        return default


_DATE_FORMATS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


class DateType(GPType[datetime]):
    """GPDate: epoch milliseconds (UTC), ISO strings or ``{"date", "format"}``."""

    data_type = "GPDate"

    def decode(self, raw: object, *, param: str) -> datetime:
        """Parse epoch ms, ISO 8601 (also ``...:ss:SSS``) or a date with its format."""
        value = json_or_literal(raw) if isinstance(raw, str) else raw
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return datetime.fromtimestamp(value / 1000, tz=UTC)
            if isinstance(value, str):
                text = value.strip()
                text = re.sub(r"(T\d\d:\d\d:\d\d):(\d{1,3})$", r"\1.\2", text)
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            if isinstance(value, dict) and isinstance(value.get("date"), str):
                fmt = str(value.get("format") or "yyyy-MM-ddTHH:mm:ss")
                for esri, py in _DATE_FORMATS.items():
                    fmt = fmt.replace(esri, py)
                return datetime.strptime(value["date"], fmt).replace(tzinfo=UTC)
        except (ValueError, OverflowError, OSError):
            pass
        raise invalid(param, f"expected epoch milliseconds or an ISO date, got {_show(raw)}")

    def encode(self, value: datetime, opts: EncodeOptions = FULL) -> int:
        """Epoch milliseconds."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return round(value.timestamp() * 1000)


_UNIT_STRING = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z_]*)\s*$")


class LinearUnitType(GPType[LinearUnit | FieldName]):
    """GPLinearUnit: ``{"distance", "units"}`` (units in any case), or ``"5 Miles"``.

    With ``allow_field`` a bare name (``"BUFF_M"``) is taken as a field holding the distance,
    as ArcGIS's "Linear Unit; Field" parameters allow.
    """

    data_type = "GPLinearUnit"

    def __init__(self, *, allow_field: bool = False) -> None:
        self.allow_field = allow_field

    def decode(self, raw: object, *, param: str) -> LinearUnit | FieldName:
        """Parse the JSON or string form; missing units are metres (spec 13.7)."""
        value = json_or_literal(raw)
        if self.allow_field and isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value.strip()):
            if linear_unit_name(value) is None:
                return FieldName(value.strip())
        distance: object
        units: object
        if isinstance(value, dict):
            distance, units = value.get("distance"), value.get("units") or "esriMeters"
        elif isinstance(value, int | float) and not isinstance(value, bool):
            distance, units = value, "esriMeters"
        elif isinstance(value, str) and (m := _UNIT_STRING.match(value)):
            distance, units = float(m.group(1)), m.group(2) or "esriMeters"
        else:
            raise invalid(param, f'expected {{"distance": <number>, "units": <unit>}}, got {_show(raw)}')
        if isinstance(distance, str):
            try:
                distance = float(distance)
            except ValueError:
                pass
        if not isinstance(distance, int | float) or isinstance(distance, bool) or not math.isfinite(distance):
            raise invalid(param, f"distance must be a number, got {_show(distance)}")
        canonical = linear_unit_name(units) if isinstance(units, str) else None
        if canonical is None:
            raise invalid(param, f"unknown linear unit {_show(units)}")
        return LinearUnit(float(distance), canonical)

    def encode(self, value: LinearUnit | FieldName, opts: EncodeOptions = FULL) -> Any:
        """``{"distance", "units"}`` (a field name stays a string)."""
        if isinstance(value, FieldName):
            return str(value)
        return {"distance": value.distance, "units": value.units}


class ArealUnitType(GPType[ArealUnit]):
    """GPArealUnit: ``{"area", "units"}`` or ``"3 SquareKilometers"``."""

    data_type = "GPArealUnit"

    def decode(self, raw: object, *, param: str) -> ArealUnit:
        """Parse the JSON or string form."""
        value = json_or_literal(raw)
        area: object
        units: object
        if isinstance(value, dict):
            area, units = value.get("area"), value.get("units") or "esriSquareMeters"
        elif isinstance(value, str) and (m := _UNIT_STRING.match(value)):
            area, units = float(m.group(1)), m.group(2) or "esriSquareMeters"
        else:
            raise invalid(param, f'expected {{"area": <number>, "units": <unit>}}, got {_show(raw)}')
        if not isinstance(area, int | float) or isinstance(area, bool) or not math.isfinite(area):
            raise invalid(param, f"area must be a number, got {_show(area)}")
        canonical = areal_unit_name(units) if isinstance(units, str) else None
        if canonical is None:
            raise invalid(param, f"unknown areal unit {_show(units)}")
        return ArealUnit(float(area), canonical)

    def encode(self, value: ArealUnit, opts: EncodeOptions = FULL) -> dict[str, Any]:
        """``{"area", "units"}``."""
        return {"area": value.area, "units": value.units}


class SpatialReferenceType(GPType[SpatialReference]):
    """GPSpatialReference: a wkid, ``{"wkid"}``, ``{"latestWkid"}`` or ``{"wkt"}``."""

    data_type = "GPSpatialReference"
    aliases = ("GPCoordinateSystem",)

    def decode(self, raw: object, *, param: str) -> SpatialReference:
        """Parse and check against PROJ's database."""
        return SpatialReference.from_json(json_or_literal(raw), param=param)

    def encode(self, value: SpatialReference, opts: EncodeOptions = FULL) -> dict[str, Any]:
        """Esri JSON spatial reference."""
        return value.to_json()


class FeatureSetType(GPType[FeatureSet]):
    """GPFeatureRecordSetLayer (and GPRecordSet with ``table=True``)."""

    data_type = "GPFeatureRecordSetLayer"

    def __init__(self, default: FeatureSet | None = None, *, table: bool = False) -> None:
        self.default = default
        self.table = table

    @property
    def name(self) -> str:
        """GPRecordSet for tables."""
        return "GPRecordSet" if self.table else self.data_type

    def decode(self, raw: object, *, param: str) -> FeatureSet:
        """Decode any feature-set dialect clients send (spec 13.1, 18.13)."""
        value = json_or_literal(raw)
        if isinstance(value, dict) and ("url" in value or "itemID" in value) and "features" not in value:
            raise invalid(param, "inputs by URL or itemID must be resolved before decoding")
        if not isinstance(value, dict):
            raise invalid(param, f"expected a feature set (JSON object), got {_show(raw)}")
        return esri_json.decode_feature_set(value, param=param, default=self.default, require_geometry=not self.table)

    def encode(self, value: FeatureSet, opts: EncodeOptions = FULL) -> dict[str, Any]:
        """Esri JSON feature set with ``exceededTransferLimit``."""
        return esri_json.encode_feature_set(
            value,
            out_sr=opts.out_sr,
            return_z=opts.return_z,
            return_m=opts.return_m,
            max_records=opts.max_records,
            feature_collection=opts.feature_collection and not self.table,
        )


class MultiValueType(GPType[list[Any]]):
    """GPMultiValue:<member>: a JSON array, a comma-joined list or a repeated key (spec 1.2)."""

    data_type = "GPMultiValue"

    def __init__(self, member: GPType[Any]) -> None:
        self.member = member

    @property
    def name(self) -> str:
        """``GPMultiValue:<member>``."""
        return f"GPMultiValue:{self.member.name}"

    def decode(self, raw: object, *, param: str) -> list[Any]:
        """Decode each member with the member codec."""
        items: Sequence[object]
        if isinstance(raw, list):
            items = raw
        else:
            value = json_or_literal(raw)
            if isinstance(value, list):
                items = value
            elif isinstance(raw, str):
                items = [part.strip() for part in raw.split(",") if part.strip()]
            else:
                items = [value]
        out = []
        for i, item in enumerate(items):
            member = item
            # Arrays of objects arrive as JSON; a member that is itself JSON text stays text for strings.
            out.append(self.member.decode(member, param=f"{param}[{i}]"))
        return out

    def encode(self, value: list[Any], opts: EncodeOptions = FULL) -> list[Any]:
        """A JSON array of member values."""
        return [self.member.encode(v, opts) for v in value]


class SQLExpressionType(GPType[SQLExpression]):
    """GPSQLExpression: a where clause, passed as text (tools check it against their data)."""

    data_type = "GPSQLExpression"

    def decode(self, raw: object, *, param: str) -> SQLExpression:
        """Any string; a JSON string literal is unquoted."""
        value = json_or_literal(raw) if isinstance(raw, str) and raw.strip().startswith('"') else raw
        if not isinstance(value, str):
            raise invalid(param, f"expected a SQL expression string, got {_show(raw)}")
        return SQLExpression(value)


class HiddenStringType(GPType[HiddenString]):
    """GPStringHidden: a string clients mask (11.4+)."""

    data_type = "GPStringHidden"

    def decode(self, raw: object, *, param: str) -> HiddenString:
        """Like GPString."""
        return HiddenString(StringType().decode(raw, param=param))


_FIELD_TYPES = {t.lower(): t for t in FIELD_TYPES} | {"esrifieldtypelong": "esriFieldTypeInteger"}


class FieldType(GPType[FieldDef]):
    """Field (published ``GPField``, the name the JS SDK decodes): ``{"name", "type", ...}``."""

    data_type = "GPField"
    aliases = ("Field",)

    def decode(self, raw: object, *, param: str) -> FieldDef:
        """``name`` and ``type`` required; ``alias``, ``length``, ``nullable``, ``editable`` optional."""
        value = json_or_literal(raw)
        if not isinstance(value, dict):
            raise invalid(param, f'expected a field {{"name", "type"}}, got {_show(raw)}')
        name, kind = value.get("name"), value.get("type")
        if not isinstance(name, str) or not name.strip():
            raise invalid(param, "a field needs a non-empty 'name'")
        canonical = _FIELD_TYPES.get(kind.lower()) if isinstance(kind, str) else None
        if canonical is None:
            raise invalid(param, f"unknown field type {_show(kind)}")
        length, alias = value.get("length"), value.get("alias")
        if length is not None and (not isinstance(length, int) or isinstance(length, bool) or length < 0):
            raise invalid(param, f"'length' must be a non-negative integer, got {_show(length)}")
        flags = {k: value.get(k) for k in ("nullable", "editable")}
        for key, flag in flags.items():
            if flag is not None and not isinstance(flag, bool):
                raise invalid(param, f"'{key}' must be true or false, got {_show(flag)}")
        return FieldDef(
            name.strip(),
            canonical,
            alias if isinstance(alias, str) else None,
            length,
            flags["nullable"],
            flags["editable"],
        )

    def encode(self, value: FieldDef, opts: EncodeOptions = FULL) -> dict[str, Any]:
        """The field object."""
        return value.to_json()


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class ExtentType(GPType[Extent]):
    """GPExtent / GPEnvelope: ``{"xmin", "ymin", "xmax", "ymax"}`` with an optional reference."""

    data_type = "GPExtent"
    aliases = ("GPEnvelope",)

    def decode(self, raw: object, *, param: str) -> Extent:
        """Accept ``spatialReference`` and the doc's ``spatial_reference`` (spec 13.15)."""
        value = json_or_literal(raw)
        if not isinstance(value, dict):
            raise invalid(param, f'expected {{"xmin", "ymin", "xmax", "ymax"}}, got {_show(raw)}')
        box = [value.get(k) for k in ("xmin", "ymin", "xmax", "ymax")]
        if not all(_finite(v) for v in box):
            raise invalid(param, "xmin, ymin, xmax and ymax must all be numbers")
        xmin, ymin, xmax, ymax = (float(typing.cast(float, v)) for v in box)
        if xmin > xmax or ymin > ymax:
            raise invalid(param, "xmin must not exceed xmax, nor ymin ymax")
        extra: dict[str, float | None] = {}
        for key in ("zmin", "zmax", "mmin", "mmax"):
            v = value.get(key)
            if v is not None and not _finite(v):
                raise invalid(param, f"'{key}' must be a number")
            extra[key] = None if v is None else float(v)
        raw_sr = value.get("spatialReference", value.get("spatial_reference"))
        sr = None if raw_sr is None else SpatialReference.from_json(raw_sr, param=param)
        return Extent(xmin, ymin, xmax, ymax, sr, **extra)

    def encode(self, value: Extent, opts: EncodeOptions = FULL) -> dict[str, Any]:
        """The envelope JSON (``spatialReference`` when known)."""
        out: dict[str, Any] = {"xmin": value.xmin, "ymin": value.ymin, "xmax": value.xmax, "ymax": value.ymax}
        for key in ("zmin", "zmax", "mmin", "mmax"):
            if getattr(value, key) is not None:
                out[key] = getattr(value, key)
        if value.spatial_reference is not None:
            out["spatialReference"] = value.spatial_reference.to_json()
        return out


_URL = re.compile(r"^https?://", re.IGNORECASE)


def _file_reference(raw: object, param: str) -> dict[str, Any]:
    """The ``{"url"}`` / ``{"itemID"}`` object of a file input (a bare URL string is accepted too)."""
    value = json_or_literal(raw)
    if isinstance(value, str) and _URL.match(value.strip()):
        return {"url": value.strip()}
    if not isinstance(value, dict):
        raise invalid(param, f'expected {{"url": ...}} or {{"itemID": ...}}, got {_show(raw)}')
    if "portalItemID" in value and "url" not in value and "itemID" not in value:
        raise invalid(param, "portal items (portalItemID) are not supported here; upload the file and give its itemID")
    url, item = value.get("url"), value.get("itemID")
    if isinstance(url, str) and _URL.match(url.strip()):
        return value
    if isinstance(item, str) and item.strip():
        return value
    raise invalid(param, f'expected {{"url": "http(s)://..."}} or {{"itemID": ...}}, got {_show(raw)}')


def _file_url(path: Path | None, url: str | None, opts: EncodeOptions) -> str:
    if path is not None:
        if opts.file_url is None:
            raise ConfigurationError("Output files cannot be published here (no output URL is configured).")
        return opts.file_url(path)
    if url is None:
        raise ConfigurationError("An output file has neither a local path nor a URL.")
    return url


class DataFileType(GPType[DataFile]):
    """GPDataFile: ``{"url"}`` or ``{"itemID"}`` in; ``{"url"}`` out (spec 13.4).

    The execution layer resolves inputs first (see ``gpserver.inputs``): the codec then receives a
    :class:`DataFile` with its local ``path``. Unresolved references decode without a path.
    """

    data_type = "GPDataFile"

    def decode(self, raw: object, *, param: str) -> DataFile:
        """A resolved file passes; a reference decodes without a local path."""
        if isinstance(raw, DataFile):
            return raw
        ref = _file_reference(raw, param)
        return DataFile(url=ref.get("url"), item_id=ref.get("itemID"))

    def encode(self, value: DataFile, opts: EncodeOptions = FULL) -> dict[str, Any]:
        """``{"url": <download URL>}``."""
        return {"url": _file_url(value.path, value.url, opts)}


class RasterType(GPType[RasterData]):
    """GPRasterDataLayer (also published as GPRasterData): a file with its ``format`` (spec 13.3)."""

    data_type = "GPRasterDataLayer"
    aliases = ("GPRasterData", "GPRasterLayer")

    def decode(self, raw: object, *, param: str) -> RasterData:
        """Like GPDataFile, plus an optional ``format``."""
        if isinstance(raw, RasterData):
            return raw
        if isinstance(raw, DataFile):
            return RasterData(raw.url, raw.item_id, raw.path, raw.name, raw.extension or None)
        ref = _file_reference(raw, param)
        fmt = ref.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise invalid(param, f"'format' must be a string, got {_show(fmt)}")
        return RasterData(url=ref.get("url"), item_id=ref.get("itemID"), format=fmt)

    def encode(self, value: RasterData, opts: EncodeOptions = FULL) -> dict[str, Any]:
        """``{"url", "format"}``."""
        return {"url": _file_url(value.path, value.url, opts), "format": value.format or value.extension}


_SCALARS: dict[Any, type[GPType[Any]]] = {
    str: StringType,
    int: LongType,
    float: DoubleType,
    bool: BooleanType,
    datetime: DateType,
    LinearUnit: LinearUnitType,
    ArealUnit: ArealUnitType,
    SpatialReference: SpatialReferenceType,
    SQLExpression: SQLExpressionType,
    HiddenString: HiddenStringType,
    FieldDef: FieldType,
    Extent: ExtentType,
    DataFile: DataFileType,
    RasterData: RasterType,
}


def gp_type_for(annotation: Any, *, table: bool = False, default_schema: FeatureSet | None = None) -> GPType[Any]:
    """The codec for a Python annotation.

    ``X | None`` is unwrapped, ``Literal`` is GPString, ``list[X]`` GPMultiValue:X, ``list[Row]``
    with a ``NamedTuple`` row a GPValueTable, and any other union a GPComposite of its members.
    """
    from gpserver.gp import structured

    origin = get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if set(members) == {LinearUnit, FieldName}:
            return LinearUnitType(allow_field=True)
        if len(members) == 1:
            return gp_type_for(members[0], table=table, default_schema=default_schema)
        return structured.CompositeType(
            [(m, gp_type_for(m, table=table, default_schema=default_schema)) for m in members]
        )
    if origin is Literal:
        return StringType()
    if origin is list:
        (member,) = get_args(annotation)
        if structured.is_row_type(member):
            return structured.value_table_for(member, gp_type_for, literal_choices)
        member_codec = gp_type_for(member, table=table, default_schema=default_schema)
        if isinstance(member_codec, structured.ValueTableType):
            raise ConfigurationError("GPMultiValue cannot hold a GPValueTable")
        return MultiValueType(member_codec)
    if annotation is FeatureSet:
        return FeatureSetType(default_schema, table=table)
    codec = _SCALARS.get(annotation)
    if codec is None:
        raise ConfigurationError(f"No GP data type for the annotation {annotation!r}")
    return codec()


def literal_choices(annotation: Any) -> list[str] | None:
    """The choice list of a ``Literal[...]`` annotation (unwrapping ``| None`` and ``list[...]``).

    A union of several non-``None`` members is a composite: it has no choice list of its own.
    """
    origin = get_origin(annotation)
    if origin in (types.UnionType, typing.Union, list):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if origin is not list and len(members) > 1:
            return None
        for arg in members:
            if choices := literal_choices(arg):
                return choices
        return None
    if origin is Literal:
        return [str(a) for a in get_args(annotation)]
    return None
