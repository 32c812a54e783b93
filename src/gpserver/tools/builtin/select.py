"""Select: features that match a SQL where clause (ArcGIS Analysis toolbox)."""

from __future__ import annotations

from typing import Annotated

from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools import expressions
from gpserver.tools.common import renumber


class SelectInputs(GPInputs):
    """Select inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The features to select from.")]
    where_clause: Annotated[
        str | None,
        Input("Expression", "A SQL where clause, e.g. POP > 1000 AND NAME LIKE 'A%'; empty selects all."),
    ] = None


class SelectOutputs(GPOutputs):
    """Select outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class")]


class Select(Tool[SelectInputs, SelectOutputs]):
    """Extracts the features that match a SQL expression into a new feature class."""

    name = "Select"
    bounded = True
    category = "Analysis"
    order = ("in_features", "out_feature_class", "where_clause")

    def run(self, inputs: SelectInputs, ctx: ToolContext) -> SelectOutputs:
        """Evaluate the clause over all features at once and keep the matches."""
        fs = inputs.in_features
        keep = expressions.where(inputs.where_clause, fs, param="where_clause")
        ctx.message(f"Selected {len(keep)} of {len(fs)} features")
        fields, rows = renumber(fs, keep)
        out = FeatureSet(fs.geometry_type, fs.spatial_reference, fields, fs.geometries[keep], rows)
        return SelectOutputs(out_feature_class=out)
