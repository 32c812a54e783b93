"""Dissolve: merge features that share attribute values, with statistics (ArcGIS Data Management toolbox).

Planar union in the input's spatial reference. Statistics fields are named ``<STAT>_<field>``
(``SUM_POP``), as ArcGIS names them. Features without geometry are left out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools.common import ALL_GEOMETRIES, MULTIPOINT, POINT, build, dimension, present
from gpserver.tools.overlay import grouped_union, prepare
from gpserver.tools.stats import compute, parse_statistics


class DissolveInputs(GPInputs):
    """Dissolve inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The features to dissolve.", geometry=ALL_GEOMETRIES)]
    dissolve_field: Annotated[
        list[str] | None, Input("Dissolve Fields", "Features with equal values of these fields are merged.")
    ] = None
    statistics_field: Annotated[
        list[str] | None,
        Input(
            "Statistics Fields",
            "'FIELD STAT' entries; STAT is SUM, MEAN, MIN, MAX, RANGE, STD, COUNT, FIRST, "
            "LAST, MEDIAN, VARIANCE, UNIQUE or CONCATENATE.",
        ),  # fmt: skip
    ] = None
    multi_part: Annotated[
        Literal["MULTI_PART", "SINGLE_PART"], Input("Create multipart features", "SINGLE_PART splits the parts.")
    ] = "MULTI_PART"
    unsplit_lines: Annotated[
        Literal["DISSOLVE_LINES", "UNSPLIT_LINES"], Input("Unsplit lines", "Lines are merged where they meet.")
    ] = "DISSOLVE_LINES"
    concatenation_separator: Annotated[str | None, Input("Concatenation Separator", "For CONCATENATE.")] = None


class DissolveOutputs(GPOutputs):
    """Dissolve outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class")]


class Dissolve(Tool[DissolveInputs, DissolveOutputs]):
    """Aggregates features based on specified attributes, computing statistics of the merged features."""

    name = "Dissolve"
    bounded = True
    category = "Data Management"
    order = ("in_features", "out_feature_class", "dissolve_field", "statistics_field", "multi_part",
             "unsplit_lines", "concatenation_separator")  # fmt: skip

    def run(self, inputs: DissolveInputs, ctx: ToolContext) -> DissolveOutputs:
        """Group, union each group's geometries, compute the statistics."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        dim = dimension(fs, "in_features")
        keys = []
        for name in inputs.dissolve_field or []:
            field = fs.field(name)
            if field is None:
                raise ToolExecutionError(f"ERROR 000728: Field {name} does not exist within table")
            keys.append(field)
        stats = parse_statistics(inputs.statistics_field or [], fs, "statistics_field")
        rows = present(fs.geometries)
        if len(rows) < len(fs):
            ctx.warning(f"{len(fs) - len(rows)} features without geometry were left out")
        index: dict[tuple[Any, ...], int] = {}
        attrs = fs.attributes
        tuples = (tuple(attrs[r].get(f.name) for f in keys) for r in rows.tolist())
        groups = np.fromiter((index.setdefault(t, len(index)) for t in tuples), dtype=np.intp, count=len(rows))
        labels, n = list(index), len(index)
        geoms = grouped_union(fs.geometries[rows], groups, n)
        if dim == 1:
            geoms = np.asarray(shapely.line_merge(geoms), dtype=object)
        columns: list[tuple[FieldDef, list[Any]]] = [
            (FieldDef(f.name, f.type, f.alias, f.length), [lab[k] for lab in labels]) for k, f in enumerate(keys)
        ]
        columns += compute(stats, fs, rows, groups, n, separator=inputs.concatenation_separator or "")
        gtype = fs.geometry_type
        if inputs.multi_part == "SINGLE_PART":
            parts, owner = shapely.get_parts(geoms, return_index=True)
            geoms = np.asarray(parts, dtype=object)
            columns = [(f, [v[o] for o in owner.tolist()]) for f, v in columns]
            gtype = POINT if dim == 0 else gtype
        elif dim == 0:
            gtype = MULTIPOINT
        ctx.message(f"Dissolved {len(rows)} features into {len(geoms)}")
        return DissolveOutputs(out_feature_class=build(gtype, fs.spatial_reference, geoms, columns))
