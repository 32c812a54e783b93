"""One codec per GP data type: decode a request value, encode a result value.

Request values arrive as strings (JSON inside a form field, or a literal) or, from stored job
inputs and the command line, as already-parsed JSON values. Every codec accepts both.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

import orjson

from gpserver.errors import ConfigurationError, InvalidParameterError
from gpserver.gp import esri_json
from gpserver.gp.features import FeatureSet
from gpserver.gp.srs import SpatialReference
from gpserver.gp.units import areal_unit_name, linear_unit_name
from gpserver.gp.values import ArealUnit, FieldName, LinearUnit

T = TypeVar("T")

# GPLong range on ArcGIS 11.2+ (spec 13.5).
MAX_LONG = 4503599627370495


@dataclass(frozen=True, slots=True)
class EncodeOptions:
    """How results are written (``env:outSR``, ``returnZ``, ``returnM``, ``maximumRecords``...)."""

    out_sr: SpatialReference | None = None
    return_z: bool = False
    return_m: bool = False
    max_records: int | None = None
    feature_collection: bool = False


FULL = EncodeOptions(return_z=True, return_m=True)


def json_or_literal(raw: object) -> object:
    """Parse a wire string as JSON when it is JSON, else keep the literal (spec 1.2)."""
    if isinstance(raw, str | bytes):
        try:
            return orjson.loads(raw)
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
    """A GP data type: its wire name and its two-way codec."""

    data_type: ClassVar[str]

    def decode(self, raw: object, *, param: str) -> T:
        """Turn a request value into the tool's value; raise InvalidParameterError if it does not fit."""
        raise NotImplementedError

    def encode(self, value: T, opts: EncodeOptions = FULL) -> Any:
        """Turn a tool's value into result JSON."""
        return value

    @property
    def name(self) -> str:
        """The ``dataType`` published in task JSON."""
        return self.data_type


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


_SCALARS: dict[Any, type[GPType[Any]]] = {
    str: StringType,
    int: LongType,
    float: DoubleType,
    bool: BooleanType,
    datetime: DateType,
    LinearUnit: LinearUnitType,
    ArealUnit: ArealUnitType,
    SpatialReference: SpatialReferenceType,
}


def gp_type_for(annotation: Any, *, table: bool = False, default_schema: FeatureSet | None = None) -> GPType[Any]:
    """The codec for a Python annotation (``X | None`` unwrapped, ``Literal`` as GPString)."""
    origin = get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if set(members) == {LinearUnit, FieldName}:
            return LinearUnitType(allow_field=True)
        if len(members) == 1:
            return gp_type_for(members[0], table=table, default_schema=default_schema)
    if origin is Literal:
        return StringType()
    if origin is list:
        (member,) = get_args(annotation)
        return MultiValueType(gp_type_for(member, table=table, default_schema=default_schema))
    if annotation is FeatureSet:
        return FeatureSetType(default_schema, table=table)
    codec = _SCALARS.get(annotation)
    if codec is None:
        raise ConfigurationError(f"No GP data type for the annotation {annotation!r}")
    return codec()


def literal_choices(annotation: Any) -> list[str] | None:
    """The choice list of a ``Literal[...]`` annotation (unwrapping ``| None`` and ``list[...]``)."""
    origin = get_origin(annotation)
    if origin in (types.UnionType, typing.Union, list):
        for arg in get_args(annotation):
            if arg is not type(None) and (choices := literal_choices(arg)):
                return choices
        return None
    if origin is Literal:
        return [str(a) for a in get_args(annotation)]
    return None
