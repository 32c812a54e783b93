"""Intersect: the geometric intersection of several inputs (ArcGIS Analysis toolbox).

Planar, in the first input's spatial reference (others are projected to it). Each output feature
carries ``FID_Input<k>`` (the object id of the contributing feature of input ``k``) and, with
``join_attributes=ALL``, every input's fields (clashing names get ``_1``, ``_2``... as ArcGIS does).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.common import TYPE_OF_DIMENSION, build, data_fields, oids, unique_name
from gpserver.tools.overlay import intersect_pairs, lowest_dimension, prepare

Column = tuple[FieldDef, list[Any]]


class IntersectInputs(GPInputs):
    """Intersect inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[
        list[FeatureSet], Input("Input Features", "Two or more feature sets (points, lines or polygons).")
    ]
    join_attributes: Annotated[
        Literal["ALL", "NO_FID", "ONLY_FID"],
        Input("Attributes To Join", "ALL: FIDs and fields; NO_FID: fields only; ONLY_FID: FIDs only."),
    ] = "ALL"
    cluster_tolerance: Annotated[LinearUnit | None, Input("XY Tolerance", "Accepted for compatibility.")] = None
    output_type: Annotated[
        Literal["INPUT", "LINE", "POINT"],
        Input("Output Type", "INPUT: the lowest dimension of the inputs; LINE or POINT: lower-dimension overlaps."),
    ] = "INPUT"


class IntersectOutputs(GPOutputs):
    """Intersect outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class")]


class Intersect(Tool[IntersectInputs, IntersectOutputs]):
    """Computes the geometric intersection of the input features; overlapping parts are kept."""

    name = "Intersect"
    bounded = True
    category = "Analysis"
    order = ("in_features", "out_feature_class", "join_attributes", "cluster_tolerance", "output_type")

    def run(self, inputs: IntersectInputs, ctx: ToolContext) -> IntersectOutputs:
        """Intersect the first input with the second, the result with the third, and so on."""
        if len(inputs.in_features) < 2:
            raise ToolExecutionError("Intersect needs at least two inputs in in_features")
        first = prepare(inputs.in_features[0], None, ctx, "in_features[0]")
        sr = first.spatial_reference
        layers = [first] + [prepare(fs, sr, ctx, f"in_features[{k}]") for k, fs in enumerate(inputs.in_features[1:], 1)]
        low = lowest_dimension(layers, "in_features")
        final = {"INPUT": low, "LINE": min(low, 1), "POINT": 0}[inputs.output_type]
        geoms = layers[0].geometries
        columns = _columns(layers[0], np.arange(len(layers[0])), 1, inputs.join_attributes, set())
        for k, layer in enumerate(layers[1:], start=2):
            ctx.check_cancelled()
            ctx.progress(100 * (k - 1) / len(layers), f"Intersecting input {k}")
            dim = final if k == len(layers) else low
            geoms, i, j = intersect_pairs(geoms, layer.geometries, dim)
            taken = {f.name for f, _ in columns}
            columns = [(f, [v[x] for x in i.tolist()]) for f, v in columns]
            columns += _columns(layer, j, k, inputs.join_attributes, taken)
        ctx.message(f"{len(geoms)} intersecting features")
        return IntersectOutputs(out_feature_class=build(TYPE_OF_DIMENSION[final], sr, geoms, columns))


def _columns(fs: FeatureSet, index: np.ndarray, k: int, mode: str, taken: set[str]) -> list[Column]:
    """``FID_Input<k>`` and the input's fields for the features at ``index`` (-1: none, FID -1 and nulls)."""
    out: list[Column] = []
    idx = index.tolist()
    if mode != "NO_FID":
        ids = oids(fs)
        name = unique_name(f"FID_Input{k}", taken)
        taken.add(name)
        out.append((FieldDef(name, "esriFieldTypeInteger", name), [ids[x] if x >= 0 else -1 for x in idx]))
    if mode != "ONLY_FID":
        rows = fs.attributes
        for f in data_fields(fs):
            name = unique_name(f.name, taken)
            taken.add(name)
            field = FieldDef(name, f.type, f.alias if name == f.name else name, f.length)
            out.append((field, [rows[x].get(f.name) if x >= 0 else None for x in idx]))
    return out
