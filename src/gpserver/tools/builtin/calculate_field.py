"""CalculateField: compute a field's values from an expression (ArcGIS Data Management toolbox).

Expressions are parsed by the grammars in :mod:`gpserver.tools.expressions` (``PYTHON3`` and
``ARCADE``: ``!Field!`` / ``$feature.Field``; ``SQL``: bare field names) and evaluated over whole
columns. Code blocks are not supported: nothing a client sends is run as Python.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools import expressions
from gpserver.tools.builtin.add_field import FIELD_TYPES

_INTEGER = {"esriFieldTypeSmallInteger", "esriFieldTypeInteger", "esriFieldTypeBigInteger", "esriFieldTypeOID"}
_LIMITS = {"esriFieldTypeSmallInteger": 2**15, "esriFieldTypeInteger": 2**31, "esriFieldTypeBigInteger": 2**53}


class CalculateFieldInputs(GPInputs):
    """CalculateField inputs (ArcGIS Pro names and order)."""

    in_table: Annotated[FeatureSet, Input("Input Table", "The features or records to update.")]
    field: Annotated[str, Input("Field Name", "The field to calculate; created (with field_type) when missing.")]
    expression: Annotated[
        str,
        Input(
            "Expression",
            "PYTHON3/ARCADE: arithmetic over !Field! or $feature.Field with allowed functions (upper, round, "
            "iif, concat...); SQL: a SQL value expression over field names. See docs/tools.md for the grammar.",
        ),
    ]
    expression_type: Annotated[
        Literal["PYTHON3", "ARCADE", "SQL"], Input("Expression Type", "The expression dialect.")
    ] = "PYTHON3"
    code_block: Annotated[
        str | None, Input("Code Block", "Not supported: must be empty (client code is never executed).")
    ] = None
    field_type: Annotated[
        Literal["TEXT", "FLOAT", "DOUBLE", "SHORT", "LONG", "BIGINTEGER", "DATE"],
        Input("Field Type", "Type of a new field (ignored for an existing field)."),
    ] = "TEXT"
    enforce_domains: Annotated[bool, Input("Enforce Domains", "Accepted for compatibility; no domains here.")] = False


class CalculateFieldOutputs(GPOutputs):
    """CalculateField outputs."""

    out_table: Annotated[FeatureSet, Output("Updated Input Table", derived=True)]


class CalculateField(Tool[CalculateFieldInputs, CalculateFieldOutputs]):
    """Calculates the values of a field for every record from a safe expression."""

    name = "CalculateField"
    bounded = True
    category = "Data Management"
    order = (
        "in_table",
        "field",
        "expression",
        "expression_type",
        "code_block",
        "field_type",
        "enforce_domains",
        "out_table",
    )

    def run(self, inputs: CalculateFieldInputs, ctx: ToolContext) -> CalculateFieldOutputs:
        """Parse and check the expression, evaluate it over all rows, convert to the field type."""
        fs = inputs.in_table
        if inputs.code_block and inputs.code_block.strip():
            raise ToolExecutionError(
                "Invalid expression in parameter 'code_block'",
                details=["Code blocks are not supported; use a single expression with the allowed functions."],
            )
        dialect: Literal["sql", "calc"] = "sql" if inputs.expression_type == "SQL" else "calc"
        expr = expressions.parse(inputs.expression, dialect=dialect, param="expression")
        field = fs.field(inputs.field.strip())
        if field is not None and field.type == "esriFieldTypeOID":
            raise ToolExecutionError(f"ERROR 000536: Field {field.name} is the object id and cannot be calculated")
        result = expressions.evaluate(expr, fs)
        fields = list(fs.fields)
        if field is None:
            name = inputs.field.strip()
            if not name.replace("_", "a").isalnum() or not name[0].isalpha():
                raise ToolExecutionError(f"ERROR 000310: The field name '{name}' is invalid")
            esri = FIELD_TYPES[inputs.field_type]
            field = FieldDef(name, esri, name, 255 if esri == "esriFieldTypeString" else None, True, True)
            fields.append(field)
            ctx.message(f"Added field {name} ({inputs.field_type})")
        values = _convert(result, field)
        rows = [{**row, field.name: v} for row, v in zip(fs.attributes, values, strict=True)]
        ctx.message(f"Calculated {field.name} for {len(rows)} records")
        out = FeatureSet(
            fs.geometry_type, fs.spatial_reference, fields, fs.geometries, rows, fs.has_z, fs.has_m, fs.m_values
        )
        return CalculateFieldOutputs(out_table=out)


def _convert(result: expressions.Vec, field: FieldDef) -> list[Any]:
    """Values fitted to the field's type, or a tool error naming the first one that does not fit."""
    values = expressions.to_python(result)
    kind = expressions.field_kind(field.type)
    if kind == "text":
        texts = [v if v is None or isinstance(v, str) else _show(v) for v in values]
        limit = field.length or 0
        too_long = next((t for t in texts if limit and t is not None and len(t) > limit), None)
        if too_long is not None:
            raise ToolExecutionError(f"ERROR 001143: a value is longer than the field {field.name} ({limit})")
        return texts
    if kind == "date":
        if result.kind not in ("date", "number", "null", "text"):
            raise ToolExecutionError(f"ERROR 000539: a {result.kind} value cannot be stored in date field {field.name}")
        if result.kind == "text":
            stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce")
            return [None if pd.isna(s) else int(s.timestamp() * 1000) for s in stamps]
        return [None if v is None else int(v) for v in values]
    if kind == "number":
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        bad = [v for v, n in zip(values, numbers, strict=True) if v is not None and pd.isna(n)]
        if bad:
            raise ToolExecutionError(
                f"ERROR 000539: '{str(bad[0])[:40]}' cannot be stored in numeric field {field.name}"
            )
        out = [None if pd.isna(n) else float(n) for n in numbers]
        if field.type in _INTEGER:
            limit = _LIMITS.get(field.type, 2**53)
            ints = [None if v is None else round(v) for v in out]
            if any(v is not None and abs(v) >= limit for v in ints):
                raise ToolExecutionError(f"ERROR 000539: a value is out of range for field {field.name}")
            return ints
        return out
    raise ToolExecutionError(f"Field {field.name} ({field.type}) cannot be calculated")


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
