"""DeleteField: drop attribute fields, or keep only some (ArcGIS Data Management toolbox)."""

from __future__ import annotations

from typing import Annotated, Literal

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext


class DeleteFieldInputs(GPInputs):
    """DeleteField inputs (ArcGIS Pro names and order)."""

    in_table: Annotated[FeatureSet, Input("Input Table", "The features or records whose fields are deleted.")]
    drop_field: Annotated[
        list[str], Input("Fields", "Names of the fields to delete (DELETE_FIELDS) or to keep (KEEP_FIELDS).")
    ]
    method: Annotated[
        Literal["DELETE_FIELDS", "KEEP_FIELDS"],
        Input("Method", "DELETE_FIELDS removes the named fields; KEEP_FIELDS removes all others."),
    ] = "DELETE_FIELDS"


class DeleteFieldOutputs(GPOutputs):
    """DeleteField outputs."""

    out_table: Annotated[FeatureSet, Output("Updated Input Table", derived=True)]


class DeleteField(Tool[DeleteFieldInputs, DeleteFieldOutputs]):
    """Deletes fields from a table or the table of a feature class. The object id field is never deleted."""

    name = "DeleteField"
    bounded = True
    category = "Data Management"

    def run(self, inputs: DeleteFieldInputs, ctx: ToolContext) -> DeleteFieldOutputs:
        """Remove the named fields (or all but them) from the schema and every row."""
        fs = inputs.in_table
        named = {n.strip().lower() for n in inputs.drop_field if n.strip()}
        known = {f.name.lower() for f in fs.fields}
        missing = [n.strip() for n in inputs.drop_field if n.strip() and n.strip().lower() not in known]
        if missing and inputs.method == "DELETE_FIELDS":
            raise ToolExecutionError(f"ERROR 000728: Field {missing[0]} does not exist within table")
        for name in missing:
            ctx.warning(f"Field {name} does not exist and is ignored")
        oid = fs.oid_field
        keep = [
            f for f in fs.fields if f.name == oid or ((f.name.lower() in named) == (inputs.method == "KEEP_FIELDS"))
        ]
        if oid is not None and oid.lower() in named and inputs.method == "DELETE_FIELDS":
            ctx.warning(f"The object id field {oid} cannot be deleted")
        names = [f.name for f in keep]
        rows = [{n: row.get(n) for n in names} for row in fs.attributes]
        dropped = [f.name for f in fs.fields if f not in keep]
        ctx.message(f"Deleted {len(dropped)} fields: {', '.join(dropped) or '(none)'}")
        out = FeatureSet(
            fs.geometry_type, fs.spatial_reference, keep, fs.geometries, rows, fs.has_z, fs.has_m, fs.m_values
        )
        return DeleteFieldOutputs(out_table=out)
