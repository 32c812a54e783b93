"""SummarizeWithin: count and summarise the features inside each polygon (ArcGIS Analysis toolbox).

Points are counted where a polygon covers them. Lines and polygons are cut at the polygon
boundaries; the length/area of the inside parts is geodesic for geographic references and planar
otherwise, and SUM / MEAN statistics of lines and polygons are weighted by the share inside, as
ArcGIS does. Output fields: ``Point_Count`` / ``Line_Count`` / ``Polygon_Count``,
``sum_Length_<UNIT>`` / ``sum_Area_<UNIT>``, and ``<stat>_<field>`` (``sum_POP``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools.common import ALL_GEOMETRIES, POLYGON, build, dimension, keep_dimension, measure, present, take
from gpserver.tools.overlay import overlay_pairs, prepare
from gpserver.tools.stats import compute, parse_statistics

LENGTHS = {"METERS": 1.0, "KILOMETERS": 1000.0, "FEET": 0.3048, "YARDS": 0.9144, "MILES": 1609.344}
AREAS = {"SQUAREMETERS": 1.0, "SQUAREKILOMETERS": 1e6, "HECTARES": 1e4, "ACRES": 4046.8564224,
         "SQUAREFEET": 0.3048**2, "SQUAREYARDS": 0.9144**2, "SQUAREMILES": 1609.344**2}  # fmt: skip
ShapeUnit = Literal["METERS", "KILOMETERS", "FEET", "YARDS", "MILES", "SQUAREMETERS", "SQUAREKILOMETERS", "HECTARES",
                    "ACRES", "SQUAREFEET", "SQUAREYARDS", "SQUAREMILES"]  # fmt: skip


class SummarizeWithinInputs(GPInputs):
    """SummarizeWithin inputs (ArcGIS Pro names and order)."""

    in_polygons: Annotated[FeatureSet, Input("Input Polygons", "The areas to summarise in.", geometry=(POLYGON,))]
    in_sum_features: Annotated[
        FeatureSet, Input("Input Summary Features", "Points, lines or polygons to summarise.", geometry=ALL_GEOMETRIES)
    ]
    keep_all_polygons: Annotated[
        bool, Input("Keep all input polygons", "false: only polygons that contain summary features.")
    ] = True
    sum_fields: Annotated[
        list[str] | None, Input("Summary Fields", "'FIELD STAT' entries; STAT is SUM, MEAN, MIN, MAX or STD.")
    ] = None
    sum_shape: Annotated[bool, Input("Add shape summary attributes", "Add counts and the length/area inside.")] = True
    shape_unit: Annotated[
        ShapeUnit | None, Input("Shape Unit", "Unit of the length or area (default KILOMETERS / SQUAREKILOMETERS).")
    ] = None


class SummarizeWithinOutputs(GPOutputs):
    """SummarizeWithin outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYGON)]


class SummarizeWithin(Tool[SummarizeWithinInputs, SummarizeWithinOutputs]):
    """Overlays polygons with other features and summarises the features within each polygon."""

    name = "SummarizeWithin"
    bounded = True
    category = "Analysis"
    order = ("in_polygons", "in_sum_features", "out_feature_class", "keep_all_polygons", "sum_fields", "sum_shape",
             "shape_unit")  # fmt: skip

    def run(self, inputs: SummarizeWithinInputs, ctx: ToolContext) -> SummarizeWithinOutputs:
        """One bulk overlay of all polygon/feature pairs, then grouped sums."""
        polys = prepare(inputs.in_polygons, None, ctx, "in_polygons")
        sr = polys.spatial_reference
        assert sr is not None
        feats = prepare(inputs.in_sum_features, sr, ctx, "in_sum_features")
        dim = dimension(feats, "in_sum_features")
        if dimension(polys, "in_polygons") != 2:
            raise ToolExecutionError("in_polygons must hold polygons")
        stats = parse_statistics(inputs.sum_fields or [], feats, "sum_fields", prefix_case="lower")
        n = len(polys)
        i, j = overlay_pairs(polys.geometries, feats.geometries)
        weights: np.ndarray | None = None
        inside = np.zeros(len(i))
        if dim > 0 and len(i):
            pieces = keep_dimension(shapely.intersection(polys.geometries[i], feats.geometries[j]), dim)
            what = "length" if dim == 1 else "area"
            inside = measure(pieces, sr, what)
            whole = measure(feats.geometries[j], sr, what)
            real = inside > 0
            i, j, inside, whole = i[real], j[real], inside[real], whole[real]
            weights = np.divide(inside, whole, out=np.ones_like(inside), where=whole > 0)
        counts = np.bincount(i, minlength=n)
        columns: list[tuple[FieldDef, list[Any]]] = take(polys, np.arange(n))
        if inputs.sum_shape:
            label = ("Point", "Line", "Polygon")[dim]
            columns.append((FieldDef(f"{label}_Count", "esriFieldTypeInteger", f"{label}_Count"), counts.tolist()))
            if dim > 0:
                unit = inputs.shape_unit or ("KILOMETERS" if dim == 1 else "SQUAREKILOMETERS")
                table = LENGTHS if dim == 1 else AREAS
                if unit not in table:
                    raise ToolExecutionError(f"shape_unit {unit} does not fit {'lines' if dim == 1 else 'polygons'}")
                name = f"sum_{'Length' if dim == 1 else 'Area'}_{unit}"
                totals = np.bincount(i, weights=inside, minlength=n) / table[unit]
                columns.append((FieldDef(name, "esriFieldTypeDouble", name), totals.tolist()))
        columns += compute(stats, feats, j, i, n, weights=weights)
        keep = np.arange(n) if inputs.keep_all_polygons else np.flatnonzero(counts > 0)
        keep = keep[np.isin(keep, present(polys.geometries))] if not inputs.keep_all_polygons else keep
        columns = [(f, [v[k] for k in keep.tolist()]) for f, v in columns]
        ctx.message(f"Summarised {len(feats)} features in {n} polygons")
        return SummarizeWithinOutputs(out_feature_class=build(POLYGON, sr, polys.geometries[keep], columns))
