"""Merge: combine several inputs of one geometry type into one (ArcGIS Data Management toolbox).

Fields are matched by name (case-insensitively); the first input's spatial reference wins and the
others are projected to it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools.common import aligned, build, data_fields

MERGE_SRC = FieldDef("MERGE_SRC", "esriFieldTypeString", "MERGE_SRC", 255)


class MergeInputs(GPInputs):
    """Merge inputs (ArcGIS Pro names and order)."""

    inputs: Annotated[list[FeatureSet], Input("Input Datasets", "Feature sets of one geometry type (or tables).")]
    add_source: Annotated[
        Literal["NO_SOURCE_INFO", "ADD_SOURCE_INFO"],
        Input("Add source information to output", "ADD_SOURCE_INFO adds MERGE_SRC naming each feature's input."),
    ] = "NO_SOURCE_INFO"


class MergeOutputs(GPOutputs):
    """Merge outputs."""

    output: Annotated[FeatureSet, Output("Output Dataset")]


class Merge(Tool[MergeInputs, MergeOutputs]):
    """Combines multiple input datasets of the same geometry type into a new dataset."""

    name = "Merge"
    bounded = True
    category = "Data Management"
    order = ("inputs", "output", "add_source")

    def run(self, inputs: MergeInputs, ctx: ToolContext) -> MergeOutputs:
        """Stack the features; the field list is the union of the inputs' fields."""
        sets = inputs.inputs
        if not sets:
            raise ToolExecutionError("Merge needs at least one input")
        gtype = sets[0].geometry_type
        if any(fs.geometry_type != gtype for fs in sets):
            kinds = sorted({str(fs.geometry_type) for fs in sets})
            raise ToolExecutionError("ERROR 000366: all inputs must have the same geometry type", details=kinds)
        sr = sets[0].spatial_reference
        if gtype is not None and sr is not None:
            sets = [sets[0]] + [aligned(fs, sr, ctx, f"inputs[{k}]") for k, fs in enumerate(sets[1:], 1)]
        geoms, columns = stack(sets)
        if inputs.add_source == "ADD_SOURCE_INFO":
            columns.append((MERGE_SRC, [f"inputs[{k}]" for k, fs in enumerate(sets) for _ in range(len(fs))]))
        ctx.message(f"Merged {len(sets)} inputs into {len(geoms)} features")
        return MergeOutputs(output=build(gtype, sr, geoms, columns))


def stack(
    sets: list[FeatureSet], schema: list[FieldDef] | None = None
) -> tuple[np.ndarray, list[tuple[FieldDef, list[Any]]]]:
    """Geometries and columns of all features; fields are ``schema`` or the union of the inputs' fields."""
    fields: list[FieldDef] = list(schema) if schema is not None else []
    if schema is None:
        seen: set[str] = set()
        for fs in sets:
            for f in data_fields(fs):
                if f.name.lower() not in seen:
                    seen.add(f.name.lower())
                    fields.append(f)
    columns: list[tuple[FieldDef, list[Any]]] = []
    for f in fields:
        values: list[Any] = []
        for fs in sets:
            own = fs.field(f.name)
            values.extend(row.get(own.name) if own else None for row in fs.attributes)
        columns.append((f, values))
    parts = [np.asarray(fs.geometries, dtype=object) for fs in sets]
    geoms = np.concatenate(parts) if parts else np.zeros(0, dtype=object)
    return geoms, columns
