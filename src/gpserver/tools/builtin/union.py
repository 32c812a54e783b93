"""Union: the overlay of polygon inputs keeping all their area (ArcGIS Analysis toolbox).

Planar, in the first input's spatial reference (others are projected to it). Each output polygon
carries ``FID_Input<k>`` (-1 where input ``k`` does not cover it) and every input's fields. Inputs
are overlaid pairwise in order; overlaps among features of one input are not split.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.builtin.intersect import _columns
from gpserver.tools.common import POLYGON, build, dimension, present
from gpserver.tools.overlay import erase, intersect_pairs, prepare


class UnionInputs(GPInputs):
    """Union inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[list[FeatureSet], Input("Input Features", "Two or more polygon feature sets.")]
    join_attributes: Annotated[
        Literal["ALL", "NO_FID", "ONLY_FID"], Input("Attributes To Join", "Which attributes the output keeps.")
    ] = "ALL"
    cluster_tolerance: Annotated[LinearUnit | None, Input("XY Tolerance", "Accepted for compatibility.")] = None
    gaps: Annotated[
        bool, Input("Gaps Allowed", "false (NO_GAPS): fill areas enclosed by the inputs with new features.")
    ] = True


class UnionOutputs(GPOutputs):
    """Union outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYGON)]


class Union(Tool[UnionInputs, UnionOutputs]):
    """Computes the geometric union of polygon inputs; every part keeps the attributes of what covers it."""

    name = "Union"
    bounded = True
    category = "Analysis"
    order = ("in_features", "out_feature_class", "join_attributes", "cluster_tolerance", "gaps")

    def run(self, inputs: UnionInputs, ctx: ToolContext) -> UnionOutputs:
        """Overlay pairwise: intersections, then what only one side covers."""
        if len(inputs.in_features) < 2:
            raise ToolExecutionError("Union needs at least two polygon inputs in in_features")
        first = prepare(inputs.in_features[0], None, ctx, "in_features[0]")
        sr = first.spatial_reference
        layers = [first] + [prepare(fs, sr, ctx, f"in_features[{k}]") for k, fs in enumerate(inputs.in_features[1:], 1)]
        for k, layer in enumerate(layers):
            if dimension(layer, f"in_features[{k}]") != 2:
                raise ToolExecutionError("ERROR 000366: Union accepts polygon inputs only")
        keep0 = present(first.geometries)
        geoms = first.geometries[keep0]
        columns = _columns(first, keep0, 1, inputs.join_attributes, set())
        for k, layer in enumerate(layers[1:], start=2):
            ctx.check_cancelled()
            ctx.progress(100 * (k - 1) / len(layers), f"Overlaying input {k}")
            keep = present(layer.geometries)
            other = layer.geometries[keep]
            both, i, j = intersect_pairs(geoms, other, 2)
            only_a = erase(geoms, other, 2)
            only_b = erase(other, geoms, 2)
            ia, jb = present(only_a), present(only_b)
            taken = {f.name for f, _ in columns}
            rows_b = np.concatenate([keep[j], np.full(len(ia), -1), keep[jb]]).astype(np.intp)
            rows_a = np.concatenate([i, ia, np.full(len(jb), -1)]).astype(np.intp)
            columns = [(f, _pick(v, rows_a, f.name.startswith("FID_"))) for f, v in columns]
            columns += _columns(layer, rows_b, k, inputs.join_attributes, taken)
            geoms = np.concatenate([both, only_a[ia], only_b[jb]])
        if not inputs.gaps and len(geoms):
            holes = _gaps(geoms)
            geoms = np.concatenate([geoms, holes])
            columns = [(f, v + [-1 if f.name.startswith("FID_") else None] * len(holes)) for f, v in columns]
            ctx.message(f"Filled {len(holes)} gaps")
        ctx.message(f"{len(geoms)} union polygons")
        return UnionOutputs(out_feature_class=build(POLYGON, sr, geoms, columns))


def _pick(values: list[Any], rows: np.ndarray, fid: bool) -> list[Any]:
    blank = -1 if fid else None
    return [values[r] if r >= 0 else blank for r in rows.tolist()]


def _gaps(geoms: np.ndarray) -> np.ndarray:
    """Areas enclosed by the union that no input covers (the holes of the dissolved result)."""
    whole = shapely.union_all(geoms)
    holes = [shapely.Polygon(ring) for poly in shapely.get_parts(whole) for ring in poly.interiors]
    return np.asarray(holes, dtype=object)
