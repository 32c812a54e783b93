"""SimplifyPolygon: remove vertices within a tolerance, keeping shape (ArcGIS Cartography toolbox).

``POINT_REMOVE`` (Douglas-Peucker, topology preserved per feature). Tolerances are metres: planar in
projected references, in a local equidistant projection for geographic ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import shapely

from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import ArealUnit, LinearUnit
from gpserver.tools.common import POLYGON, keep_dimension, linear_meters, oids, present, renumber, require_sr
from gpserver.tools.generalize import in_metres
from gpserver.tools.overlay import prepare

DOUBLE, INTEGER = "esriFieldTypeDouble", "esriFieldTypeInteger"


class SimplifyPolygonInputs(GPInputs):
    """SimplifyPolygon inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The polygons to simplify.", geometry=(POLYGON,))]
    algorithm: Annotated[
        Literal["POINT_REMOVE"], Input("Simplification Algorithm", "POINT_REMOVE: Douglas-Peucker.")
    ] = "POINT_REMOVE"
    tolerance: Annotated[LinearUnit, Input("Simplification Tolerance", "The maximum allowed offset.")]
    minimum_area: Annotated[
        ArealUnit | None, Input("Minimum Area", "Polygon parts smaller than this are removed after simplifying.")
    ] = None


class SimplifyPolygonOutputs(GPOutputs):
    """SimplifyPolygon outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYGON)]


class SimplifyPolygon(Tool[SimplifyPolygonInputs, SimplifyPolygonOutputs]):
    """Simplifies polygon outlines by removing relatively extraneous vertices while preserving shape."""

    name = "SimplifyPolygon"
    bounded = True
    category = "Cartography"
    order = ("in_features", "out_feature_class", "algorithm", "tolerance", "minimum_area")

    def run(self, inputs: SimplifyPolygonInputs, ctx: ToolContext) -> SimplifyPolygonOutputs:
        """Douglas-Peucker on all polygons at once, then drop parts under the minimum area."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        sr = require_sr(fs, "in_features")
        meters = linear_meters(inputs.tolerance, sr, "tolerance")
        min_area = inputs.minimum_area.square_meters() if inputs.minimum_area else None

        def simplify(geoms: np.ndarray, unit: float) -> np.ndarray:
            out = np.asarray(shapely.simplify(geoms, meters / unit, preserve_topology=True), dtype=object)
            if min_area:
                out = _drop_small(out, min_area / unit**2)
            return out

        keep = present(fs.geometries)
        simplified = keep_dimension(in_metres(fs.geometries[keep], sr, simplify), 2)
        ok = present(simplified)
        if len(ok) < len(keep):
            ctx.warning(f"{len(keep) - len(ok)} polygons collapsed or fell under the minimum area and were removed")
        rows = keep[ok]
        before, after = (
            shapely.get_num_coordinates(fs.geometries[rows]).sum(),
            shapely.get_num_coordinates(simplified[ok]).sum(),
        )
        ctx.message(f"Simplified {len(rows)} polygons: {int(before)} -> {int(after)} vertices")
        ids = oids(fs)
        extra = {"InPoly_FID": [ids[i] for i in rows.tolist()], "MaxSimpTol": [inputs.tolerance.distance] * len(rows),
                 "MinSimpTol": [inputs.tolerance.distance] * len(rows)}  # fmt: skip
        fields, attrs = renumber(fs, rows, extra=extra, extra_fields=[
            FieldDef("InPoly_FID", INTEGER, "InPoly_FID"), FieldDef("MaxSimpTol", DOUBLE, "MaxSimpTol"),
            FieldDef("MinSimpTol", DOUBLE, "MinSimpTol")])  # fmt: skip
        return SimplifyPolygonOutputs(out_feature_class=FeatureSet(POLYGON, sr, fields, simplified[ok], attrs))


def _drop_small(geoms: np.ndarray, min_area: float) -> np.ndarray:
    parts, owner = shapely.get_parts(geoms, return_index=True)
    big = shapely.area(parts) >= min_area
    out = np.full(len(geoms), None, dtype=object)
    if big.any():
        owners, dense = np.unique(owner[big], return_inverse=True)
        out[owners] = shapely.multipolygons(parts[big], indices=dense)
    return out
