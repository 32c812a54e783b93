"""Append: add input features to a target dataset (ArcGIS Data Management toolbox).

With ``schema_type=TEST`` every input must have the target's fields (same names and types); with
``NO_TEST`` fields are matched by name and the rest is dropped. Inputs are projected to the target's
spatial reference.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools import expressions
from gpserver.tools.builtin.merge import stack
from gpserver.tools.common import aligned, build, data_fields


class AppendInputs(GPInputs):
    """Append inputs (ArcGIS Pro names and order)."""

    inputs: Annotated[list[FeatureSet], Input("Input Datasets", "The feature sets whose features are added.")]
    target: Annotated[FeatureSet, Input("Target Dataset", "The feature set that receives the features.")]
    schema_type: Annotated[
        Literal["TEST", "NO_TEST"],
        Input("Field Matching Type", "TEST: inputs must have the target's fields; NO_TEST: match by name."),
    ] = "TEST"
    expression: Annotated[
        str | None, Input("Expression", "A SQL where clause choosing which input features are appended.")
    ] = None


class AppendOutputs(GPOutputs):
    """Append outputs."""

    output: Annotated[FeatureSet, Output("Updated Target Dataset", derived=True)]


class Append(Tool[AppendInputs, AppendOutputs]):
    """Appends features from input datasets to a target dataset."""

    name = "Append"
    bounded = True
    category = "Data Management"
    order = ("inputs", "target", "schema_type", "expression", "output")

    def run(self, inputs: AppendInputs, ctx: ToolContext) -> AppendOutputs:
        """Check the schemas, filter the inputs, stack them under the target's features."""
        target = inputs.target
        sets = []
        for k, fs in enumerate(inputs.inputs):
            if target.geometry_type is not None and fs.geometry_type != target.geometry_type:
                raise ToolExecutionError(
                    f"ERROR 000366: inputs[{k}] has geometry type {fs.geometry_type}, the target {target.geometry_type}"
                )
            if inputs.schema_type == "TEST":
                wanted = {(f.name.lower(), f.type) for f in data_fields(target)}
                have = {(f.name.lower(), f.type) for f in data_fields(fs)}
                if wanted != have:
                    diff = sorted(n for n, _ in wanted ^ have)
                    raise ToolExecutionError(
                        f"ERROR 000466: inputs[{k}] does not match the schema of the target",
                        details=[f"differing fields: {', '.join(diff)}", "Use schema_type=NO_TEST to match by name."],
                    )
            if target.geometry_type is not None and target.spatial_reference is not None:
                fs = aligned(fs, target.spatial_reference, ctx, f"inputs[{k}]")
            keep = expressions.where(inputs.expression, fs, param="expression")
            if len(keep) < len(fs):
                fs = FeatureSet(fs.geometry_type, fs.spatial_reference, fs.fields, fs.geometries[keep],
                                [fs.attributes[i] for i in keep.tolist()])  # fmt: skip
            sets.append(fs)
        geoms, columns = stack([target, *sets], schema=data_fields(target))
        added = len(geoms) - len(target)
        ctx.message(f"Appended {added} features to the target's {len(target)}")
        geoms = np.asarray(geoms, dtype=object)
        return AppendOutputs(output=build(target.geometry_type, target.spatial_reference, geoms, columns))
