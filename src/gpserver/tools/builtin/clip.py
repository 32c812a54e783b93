"""Clip: the parts of features inside clip polygons (ArcGIS Analysis toolbox).

Planar, in the input's spatial reference; clip features in another reference are projected first.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import shapely

from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.common import ALL_GEOMETRIES, POLYGON, dimension, keep_dimension, present, renumber
from gpserver.tools.overlay import overlay_pairs, prepare, snap_tolerance


class ClipInputs(GPInputs):
    """Clip inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The features to clip.", geometry=ALL_GEOMETRIES)]
    clip_features: Annotated[
        FeatureSet, Input("Clip Features", "Polygons that define the area kept.", geometry=(POLYGON,))
    ]
    cluster_tolerance: Annotated[
        LinearUnit | None, Input("XY Tolerance", "Vertices closer than this are snapped together.")
    ] = None


class ClipOutputs(GPOutputs):
    """Clip outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Features or Dataset")]


class Clip(Tool[ClipInputs, ClipOutputs]):
    """Extracts the input features that overlay the clip features (the "cookie cutter")."""

    name = "Clip"
    bounded = True
    category = "Analysis"
    order = ("in_features", "clip_features", "out_feature_class", "cluster_tolerance")

    def run(self, inputs: ClipInputs, ctx: ToolContext) -> ClipOutputs:
        """Intersect every feature with the union of the clip polygons it touches."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        sr = fs.spatial_reference
        assert sr is not None
        clip = prepare(inputs.clip_features, sr, ctx, "clip_features")
        dimension(clip, "clip_features")
        dim = dimension(fs, "in_features")
        clipped = clip_geometries(fs.geometries, clip.geometries, dim, snap_tolerance(inputs.cluster_tolerance, sr))
        keep = present(clipped)
        ctx.message(f"{len(keep)} of {len(fs)} features lie inside the clip features")
        fields, rows = renumber(fs, keep)
        return ClipOutputs(out_feature_class=FeatureSet(fs.geometry_type, sr, fields, clipped[keep], rows))


def clip_geometries(geoms: np.ndarray, clip: np.ndarray, dim: int, tolerance: float = 0.0) -> np.ndarray:
    """Each geometry intersected with the clip polygons (``None`` outside)."""
    polygons = keep_dimension(clip, 2)
    i, j = overlay_pairs(geoms, polygons)
    out = np.full(len(geoms), None, dtype=object)
    if not len(i):
        return out
    hit = np.unique(i)
    cutter = shapely.union_all(polygons[np.unique(j)])
    if tolerance > 0:
        cutter = shapely.set_precision(cutter, tolerance)
    shapely.prepare(cutter)
    out[hit] = shapely.intersection(geoms[hit], cutter)
    return keep_dimension(out, dim)
