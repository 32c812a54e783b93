"""AddField: a new attribute field (ArcGIS Data Management toolbox)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext

FIELD_TYPES = {
    "TEXT": "esriFieldTypeString",
    "FLOAT": "esriFieldTypeSingle",
    "DOUBLE": "esriFieldTypeDouble",
    "SHORT": "esriFieldTypeSmallInteger",
    "LONG": "esriFieldTypeInteger",
    "BIGINTEGER": "esriFieldTypeBigInteger",
    "DATE": "esriFieldTypeDate",
    "DATEONLY": "esriFieldTypeDateOnly",
    "TIMEONLY": "esriFieldTypeTimeOnly",
    "TIMESTAMPOFFSET": "esriFieldTypeTimestampOffset",
    "GUID": "esriFieldTypeGUID",
    "BLOB": "esriFieldTypeBlob",
}
FieldType = Literal[
    "TEXT", "FLOAT", "DOUBLE", "SHORT", "LONG", "BIGINTEGER", "DATE", "DATEONLY", "TIMEONLY", "TIMESTAMPOFFSET",
    "GUID", "BLOB",
]  # fmt: skip
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_NUMERIC = {"esriFieldTypeSingle", "esriFieldTypeDouble", "esriFieldTypeSmallInteger", "esriFieldTypeInteger",
            "esriFieldTypeBigInteger"}  # fmt: skip


class AddFieldInputs(GPInputs):
    """AddField inputs (ArcGIS Pro names and order)."""

    in_table: Annotated[FeatureSet, Input("Input Table", "The features or records that get the new field.")]
    field_name: Annotated[str, Input("Field Name", "Letters, digits and underscores; starts with a letter.")]
    field_type: Annotated[FieldType, Input("Field Type")]
    field_precision: Annotated[int | None, Input("Field Precision", range=(0, 38))] = None
    field_scale: Annotated[int | None, Input("Field Scale", range=(0, 38))] = None
    field_length: Annotated[int | None, Input("Field Length", "Length of a TEXT field.", range=(1, 2_147_483_647))] = (
        None
    )
    field_alias: Annotated[str | None, Input("Field Alias")] = None
    field_is_nullable: Annotated[Literal["NULLABLE", "NON_NULLABLE"], Input("Field IsNullable")] = "NULLABLE"


class AddFieldOutputs(GPOutputs):
    """AddField outputs."""

    out_table: Annotated[FeatureSet, Output("Updated Input Table", derived=True)]


class AddField(Tool[AddFieldInputs, AddFieldOutputs]):
    """Adds a new field to a table or the table of a feature class."""

    name = "AddField"
    bounded = True
    category = "Data Management"
    order = (
        "in_table",
        "field_name",
        "field_type",
        "field_precision",
        "field_scale",
        "field_length",
        "field_alias",
        "field_is_nullable",
        "out_table",
    )

    def run(self, inputs: AddFieldInputs, ctx: ToolContext) -> AddFieldOutputs:
        """Append the field; existing rows get null (or 0 / "" when not nullable)."""
        fs = inputs.in_table
        name = inputs.field_name.strip()
        if not _NAME.fullmatch(name):
            raise ToolExecutionError(
                f"ERROR 000310: The field name '{name}' is invalid",
                details=["Use letters, digits and underscores, start with a letter, at most 64 characters."],
            )
        if fs.field(name) is not None:
            raise ToolExecutionError(f"ERROR 000012: {name} already exists")
        esri_type = FIELD_TYPES[inputs.field_type]
        length = (inputs.field_length or 255) if esri_type == "esriFieldTypeString" else None
        nullable = inputs.field_is_nullable == "NULLABLE"
        field = FieldDef(name, esri_type, inputs.field_alias or name, length, nullable, True)
        fill: object = None
        if not nullable:
            fill = 0 if esri_type in _NUMERIC else ("" if esri_type == "esriFieldTypeString" else None)
        rows = [{**row, name: fill} for row in fs.attributes]
        ctx.message(f"Added field {name} ({inputs.field_type})")
        out = FeatureSet(
            fs.geometry_type, fs.spatial_reference, [*fs.fields, field], fs.geometries, rows, fs.has_z, fs.has_m,
            fs.m_values,
        )  # fmt: skip
        return AddFieldOutputs(out_table=out)
