"""FeatureToPoint: a point for each feature, its centroid or a point inside it (ArcGIS Data Management).

Planar, in the input's coordinates (ArcGIS computes centroids in the feature's own coordinate system).
Features without geometry are skipped.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import shapely

from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools.common import ALL_GEOMETRIES, ORIG_FID, POINT, oids, present, renumber
from gpserver.tools.overlay import prepare


class FeatureToPointInputs(GPInputs):
    """FeatureToPoint inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "Points, lines or polygons.", geometry=ALL_GEOMETRIES)]
    point_location: Annotated[
        Literal["CENTROID", "INSIDE"],
        Input("Inside", "CENTROID: the centre of mass; INSIDE: a point guaranteed inside the feature."),
    ] = "CENTROID"


class FeatureToPointOutputs(GPOutputs):
    """FeatureToPoint outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POINT)]


class FeatureToPoint(Tool[FeatureToPointInputs, FeatureToPointOutputs]):
    """Creates a point feature class from the centroids (or inside points) of the input features."""

    name = "FeatureToPoint"
    bounded = True
    category = "Data Management"
    order = ("in_features", "out_feature_class", "point_location")

    def run(self, inputs: FeatureToPointInputs, ctx: ToolContext) -> FeatureToPointOutputs:
        """One vectorised centroid / point-on-surface call."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        keep = present(fs.geometries)
        if len(keep) < len(fs):
            ctx.warning(f"{len(fs) - len(keep)} features without geometry were skipped")
        geoms = fs.geometries[keep]
        fn = shapely.point_on_surface if inputs.point_location == "INSIDE" else shapely.centroid
        points = np.asarray(fn(geoms), dtype=object) if len(geoms) else geoms
        ids = oids(fs)
        fields, rows = renumber(fs, keep, extra={"ORIG_FID": [ids[i] for i in keep.tolist()]}, extra_fields=[ORIG_FID])
        return FeatureToPointOutputs(out_feature_class=FeatureSet(POINT, fs.spatial_reference, fields, points, rows))
