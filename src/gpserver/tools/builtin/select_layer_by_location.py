"""SelectLayerByLocation: the features with a spatial relationship to others (ArcGIS Data Management).

A feature set has no selection to add to, so this returns the selected features (``NEW_SELECTION``)
and their count. Distances: planar in projected references; geodesic for geographic references and
``WITHIN_A_DISTANCE_GEODESIC`` (see :mod:`gpserver.tools.relate`).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.common import ALL_GEOMETRIES, linear_meters, renumber
from gpserver.tools.overlay import prepare
from gpserver.tools.relate import Relation, pairs


class SelectLayerByLocationInputs(GPInputs):
    """SelectLayerByLocation inputs (ArcGIS Pro names and order)."""

    in_layer: Annotated[FeatureSet, Input("Input Features", "The features to select from.", geometry=ALL_GEOMETRIES)]
    overlap_type: Annotated[
        Relation, Input("Relationship", "The spatial relationship the selected features have to select_features.")
    ] = "INTERSECT"
    select_features: Annotated[
        FeatureSet, Input("Selecting Features", "The features the relationship is tested against.")
    ]
    search_distance: Annotated[
        LinearUnit | None, Input("Search Distance", "For WITHIN_A_DISTANCE* (and INTERSECT with a distance).")
    ] = None
    invert_spatial_relationship: Annotated[
        bool, Input("Invert Spatial Relationship", "Select the features that do NOT have the relationship.")
    ] = False


class SelectLayerByLocationOutputs(GPOutputs):
    """SelectLayerByLocation outputs."""

    out_layer_or_view: Annotated[FeatureSet, Output("Updated Layer Or Table View", derived=True)]
    count: Annotated[int, Output("Count", derived=True)]


class SelectLayerByLocation(Tool[SelectLayerByLocationInputs, SelectLayerByLocationOutputs]):
    """Selects features based on a spatial relationship to features in another dataset."""

    name = "SelectLayerByLocation"
    bounded = True
    category = "Data Management"

    def run(self, inputs: SelectLayerByLocationInputs, ctx: ToolContext) -> SelectLayerByLocationOutputs:
        """One bulk STRtree query; a feature is selected when any pair matches."""
        fs = prepare(inputs.in_layer, None, ctx, "in_layer")
        sr = fs.spatial_reference
        assert sr is not None
        other = prepare(inputs.select_features, sr, ctx, "select_features")
        meters = linear_meters(inputs.search_distance, sr, "search_distance")
        i, _ = pairs(fs.geometries, other.geometries, inputs.overlap_type, sr, meters)
        hit = np.zeros(len(fs), dtype=bool)
        hit[i] = True
        if inputs.invert_spatial_relationship:
            hit = ~hit
        keep = np.flatnonzero(hit)
        ctx.message(f"Selected {len(keep)} of {len(fs)} features ({inputs.overlap_type})")
        fields, rows = renumber(fs, keep)
        out = FeatureSet(fs.geometry_type, sr, fields, fs.geometries[keep], rows)
        return SelectLayerByLocationOutputs(out_layer_or_view=out, count=len(keep))
