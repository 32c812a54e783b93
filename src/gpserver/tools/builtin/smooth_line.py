"""SmoothLine: smooth sharp angles of lines (ArcGIS Cartography toolbox).

``PAEK``-style: the line is densified and each vertex replaced by a Gaussian-weighted mean of the
vertices within the tolerance along the line; endpoints stay fixed (``FIXED_CLOSED_ENDPOINT``).
Tolerances are metres (planar in projected references, local equidistant for geographic ones).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.common import POLYLINE, linear_meters, present, renumber, require_sr
from gpserver.tools.generalize import in_metres, smooth_geometry
from gpserver.tools.overlay import prepare


class SmoothLineInputs(GPInputs):
    """SmoothLine inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The lines to smooth.", geometry=(POLYLINE,))]
    algorithm: Annotated[Literal["PAEK"], Input("Smoothing Algorithm", "PAEK: a moving weighted average.")] = "PAEK"
    tolerance: Annotated[LinearUnit, Input("Smoothing Tolerance", "Length of the smoothing window.")]
    endpoint_option: Annotated[
        Literal["FIXED_CLOSED_ENDPOINT", "NO_FIXED"], Input("Preserve endpoint for closed lines", "Keep endpoints.")
    ] = "FIXED_CLOSED_ENDPOINT"


class SmoothLineOutputs(GPOutputs):
    """SmoothLine outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYLINE)]


class SmoothLine(Tool[SmoothLineInputs, SmoothLineOutputs]):
    """Smooths sharp angles in lines to improve aesthetic or cartographic quality."""

    name = "SmoothLine"
    category = "Cartography"
    order = ("in_features", "out_feature_class", "algorithm", "tolerance", "endpoint_option")

    def run(self, inputs: SmoothLineInputs, ctx: ToolContext) -> SmoothLineOutputs:
        """Smooth each line's parts (a numpy convolution per part)."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        sr = require_sr(fs, "in_features")
        meters = linear_meters(inputs.tolerance, sr, "tolerance")
        keep = present(fs.geometries)
        fixed = inputs.endpoint_option == "FIXED_CLOSED_ENDPOINT"

        def smooth(geoms: np.ndarray, unit: float) -> np.ndarray:
            return np.asarray([smooth_geometry(g, meters / unit, fixed) for g in geoms], dtype=object)

        smoothed = in_metres(fs.geometries[keep], sr, smooth) if len(keep) else fs.geometries[keep]
        ctx.message(f"Smoothed {len(keep)} lines")
        fields, rows = renumber(fs, keep)
        return SmoothLineOutputs(out_feature_class=FeatureSet(POLYLINE, sr, fields, smoothed, rows))
