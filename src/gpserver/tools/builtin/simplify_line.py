"""SimplifyLine: remove vertices of lines within a tolerance (ArcGIS Cartography toolbox).

``POINT_REMOVE`` (Douglas-Peucker). Tolerances are metres: planar in projected references, in a
local equidistant projection for geographic ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import shapely

from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.common import POLYLINE, keep_dimension, linear_meters, oids, present, renumber, require_sr
from gpserver.tools.generalize import in_metres
from gpserver.tools.overlay import prepare


class SimplifyLineInputs(GPInputs):
    """SimplifyLine inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The lines to simplify.", geometry=(POLYLINE,))]
    algorithm: Annotated[
        Literal["POINT_REMOVE"], Input("Simplification Algorithm", "POINT_REMOVE: Douglas-Peucker.")
    ] = "POINT_REMOVE"
    tolerance: Annotated[LinearUnit, Input("Simplification Tolerance", "The maximum allowed offset.")]


class SimplifyLineOutputs(GPOutputs):
    """SimplifyLine outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYLINE)]


class SimplifyLine(Tool[SimplifyLineInputs, SimplifyLineOutputs]):
    """Simplifies lines by removing relatively extraneous vertices while preserving essential shape."""

    name = "SimplifyLine"
    bounded = True
    category = "Cartography"
    order = ("in_features", "out_feature_class", "algorithm", "tolerance")

    def run(self, inputs: SimplifyLineInputs, ctx: ToolContext) -> SimplifyLineOutputs:
        """Douglas-Peucker on all lines in one call."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        sr = require_sr(fs, "in_features")
        meters = linear_meters(inputs.tolerance, sr, "tolerance")
        keep = present(fs.geometries)

        def simplify(geoms: np.ndarray, unit: float) -> np.ndarray:
            return np.asarray(shapely.simplify(geoms, meters / unit, preserve_topology=True), dtype=object)

        simplified = keep_dimension(in_metres(fs.geometries[keep], sr, simplify), 1)
        ok = present(simplified)
        rows = keep[ok]
        ctx.message(f"Simplified {len(rows)} lines")
        ids = oids(fs)
        fid = FieldDef("InLine_FID", "esriFieldTypeInteger", "InLine_FID")
        fields, attrs = renumber(fs, rows, extra={"InLine_FID": [ids[i] for i in rows.tolist()]}, extra_fields=[fid])
        return SimplifyLineOutputs(out_feature_class=FeatureSet(POLYLINE, sr, fields, simplified[ok], attrs))
