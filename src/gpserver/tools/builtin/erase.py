"""Erase: the parts of features outside erase polygons (ArcGIS Analysis toolbox).

Planar, in the input's spatial reference; erase features in another reference are projected first.
"""

from __future__ import annotations

from typing import Annotated

from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.common import ALL_GEOMETRIES, POLYGON, dimension, keep_dimension, present, renumber
from gpserver.tools.overlay import erase, prepare


class EraseInputs(GPInputs):
    """Erase inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The features to erase from.", geometry=ALL_GEOMETRIES)]
    erase_features: Annotated[
        FeatureSet, Input("Erase Features", "Polygons whose area is removed.", geometry=(POLYGON,))
    ]
    cluster_tolerance: Annotated[LinearUnit | None, Input("XY Tolerance", "Accepted for compatibility.")] = None


class EraseOutputs(GPOutputs):
    """Erase outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class")]


class Erase(Tool[EraseInputs, EraseOutputs]):
    """Creates a feature class from the parts of the input features outside the erase features."""

    name = "Erase"
    bounded = True
    category = "Analysis"
    order = ("in_features", "erase_features", "out_feature_class", "cluster_tolerance")

    def run(self, inputs: EraseInputs, ctx: ToolContext) -> EraseOutputs:
        """Subtract, from every feature, the union of the erase polygons overlapping it."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        sr = fs.spatial_reference
        assert sr is not None
        cut = prepare(inputs.erase_features, sr, ctx, "erase_features")
        dimension(cut, "erase_features")
        left = erase(fs.geometries, keep_dimension(cut.geometries, 2), dimension(fs, "in_features"))
        keep = present(left)
        ctx.message(f"{len(keep)} of {len(fs)} features keep a part outside the erase features")
        fields, rows = renumber(fs, keep)
        return EraseOutputs(out_feature_class=FeatureSet(fs.geometry_type, sr, fields, left[keep], rows))
