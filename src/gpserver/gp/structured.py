"""Codecs of the structured GP types: GPValueTable (rows of typed columns) and GPComposite.

A value table is declared as ``list[Row]`` where ``Row`` is a ``NamedTuple``: each field is a
column, its annotation the column's GP type (``Literal[...]`` gives a choice list, a default or
``| None`` makes the column optional). A composite is declared as a union (``FeatureSet | DataFile``).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from gpserver.errors import ConfigurationError, InvalidParameterError
from gpserver.gp.types import FULL, EncodeOptions, GPType, StringType, invalid, json_or_literal


def is_row_type(annotation: Any) -> bool:
    """True for a ``NamedTuple`` class (a value table row)."""
    return isinstance(annotation, type) and issubclass(annotation, tuple) and hasattr(annotation, "_fields")


@dataclass(frozen=True, slots=True)
class Column:
    """One value table column."""

    name: str
    codec: GPType[Any]
    choices: list[str] | None
    required: bool
    default: Any


def _is_empty(value: object, codec: GPType[Any]) -> bool:
    # Rows as arrays use "" for an empty string and null for other empties (spec 13.11).
    return value is None or (value == "" and not isinstance(codec, StringType))


class ValueTableType(GPType[list[Any]]):
    """GPValueTable: rows as arrays in column order, or as objects keyed by column name."""

    data_type = "GPValueTable"

    def __init__(self, row: type[Any], columns: list[Column]) -> None:
        self.row = row
        self.columns = columns

    def decode(self, raw: object, *, param: str) -> list[Any]:
        """Every row decoded cell by cell with its column's codec; problems name row and column."""
        value = json_or_literal(raw)
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise invalid(param, f"expected an array of rows, got {str(raw)[:80]}")
        rows, problems = [], []
        for i, item in enumerate(value):
            try:
                rows.append(self._row(item, f"{param}[{i}]"))
            except InvalidParameterError as exc:
                problems.extend(exc.details or [exc.message])
        if problems:
            raise InvalidParameterError(f"Invalid value for parameter '{param}'", details=problems)
        return rows

    def _row(self, item: object, where: str) -> Any:
        cells: dict[str, Any]
        if isinstance(item, list):
            if len(item) > len(self.columns):
                raise invalid(where, f"{where}: {len(item)} values for {len(self.columns)} columns")
            cells = {c.name: v for c, v in zip(self.columns, item, strict=False)}
        elif isinstance(item, dict):
            by_low = {c.name.lower(): c.name for c in self.columns}
            unknown = [k for k in item if str(k).lower() not in by_low]
            if unknown:
                raise invalid(
                    where, f"{where}: unknown column(s) {unknown}; columns are {[c.name for c in self.columns]}"
                )
            cells = {by_low[str(k).lower()]: v for k, v in item.items()}
        else:
            raise invalid(where, f"{where}: a row is an array or an object, got {str(item)[:80]}")
        out: dict[str, Any] = {}
        for col in self.columns:
            raw = cells.get(col.name)
            if _is_empty(raw, col.codec):
                if col.required:
                    raise invalid(where, f"{where}: column '{col.name}' needs a value")
                out[col.name] = col.default
                continue
            value = col.codec.decode(raw, param=f"{where}.{col.name}")
            if col.choices:
                canon = {c.lower(): c for c in col.choices}
                if not isinstance(value, str) or value.lower() not in canon:
                    raise invalid(where, f"{where}.{col.name}: '{value}' is not one of {col.choices}")
                value = canon[value.lower()]
            out[col.name] = value
        return self.row(**out)

    def encode(self, value: list[Any], opts: EncodeOptions = FULL) -> list[Any]:
        """Rows as arrays, or as objects with every column when ``returnColumnName=true``."""
        out: list[Any] = []
        for row in value:
            cells = [None if v is None else c.codec.encode(v, opts) for c, v in zip(self.columns, row, strict=True)]
            out.append(dict(zip((c.name for c in self.columns), cells, strict=True)) if opts.column_names else cells)
        return out

    def parameter_infos(self) -> list[dict[str, Any]]:
        """Column descriptions for the task JSON."""
        infos = []
        for col in self.columns:
            info: dict[str, Any] = {"name": col.name, "dataType": col.codec.name, "displayName": col.name}
            if col.choices:
                info["choiceList"] = list(col.choices)
            infos.append(info)
        return infos


def value_table_for(row: type[Any], gp_type_for: Any, literal_choices: Any) -> ValueTableType:
    """The value table codec of a ``NamedTuple`` row class."""
    hints = typing.get_type_hints(row)
    defaults: dict[str, Any] = getattr(row, "_field_defaults", {})
    columns = []
    for name in row._fields:
        ann = hints[name]
        optional = get_origin(ann) in (types.UnionType, typing.Union) and type(None) in get_args(ann)
        codec = gp_type_for(ann)
        if isinstance(codec, ValueTableType | CompositeType) or codec.name.startswith("GPMultiValue"):
            raise ConfigurationError(f"value table column '{name}' cannot be a {codec.name}")
        required = not optional and name not in defaults
        columns.append(Column(name, codec, literal_choices(ann), required, defaults.get(name)))
    return ValueTableType(row, columns)


def _matches(annotation: Any, value: object) -> bool:
    if get_origin(annotation) is Literal:
        return value in get_args(annotation)
    if isinstance(annotation, type):
        if annotation is int and isinstance(value, bool):
            return False
        if annotation is float and isinstance(value, int) and not isinstance(value, bool):
            return True
        return isinstance(value, annotation)
    return False


class CompositeType(GPType[Any]):
    """GPComposite: ``{"dataType", "value"}``, or a value tried against each member in order."""

    data_type = "GPComposite"

    def __init__(self, members: list[tuple[Any, GPType[Any]]]) -> None:
        self.members = members

    def decode(self, raw: object, *, param: str) -> Any:
        """The declared member, else the first member that accepts the value (spec 13.12)."""
        value = json_or_literal(raw)
        if isinstance(value, dict) and set(value) == {"dataType", "value"} and isinstance(value["dataType"], str):
            low = value["dataType"].lower()
            for _, codec in self.members:
                if codec.name.lower() == low:
                    return codec.decode(value["value"], param=param)
            names = [c.name for _, c in self.members]
            raise invalid(param, f"dataType '{value['dataType']}' is not one of {names}")
        reasons = []
        for _, codec in self.members:
            try:
                return codec.decode(raw, param=param)
            except InvalidParameterError as exc:
                reasons.append(f"as {codec.name}: {'; '.join(exc.details or [exc.message])}")
        raise InvalidParameterError(f"Invalid value for parameter '{param}'", details=reasons)

    def _member(self, value: Any) -> GPType[Any]:
        for annotation, codec in self.members:
            if type(value) is annotation:
                return codec
        for annotation, codec in self.members:
            if _matches(annotation, value):
                return codec
        raise InvalidParameterError(f"a {type(value).__name__} is none of the composite's member types")

    def encode(self, value: Any, opts: EncodeOptions = FULL) -> Any:
        """The concrete member's syntax."""
        return self._member(value).encode(value, opts)

    def result_type(self, value: Any) -> str:
        """The concrete member's ``dataType`` (an output is never ``GPComposite``)."""
        return self._member(value).name

    def parameter_infos(self) -> list[dict[str, Any]]:
        """Member descriptions for the task JSON."""
        return [{"name": "", "dataType": c.name, "displayName": ""} for _, c in self.members]
