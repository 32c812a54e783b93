"""A sample user toolbox: one tool declared with the same API as the built-ins.

Publish it by listing this file (or its module) under ``toolboxes:`` in a services file and naming
the tool in a service's ``tools:``. The bundled samples load it as ``gpserver.tools.sample_toolbox``;
``examples/toolbox/my_tools.py`` is the same file, used by the tutorial (docs/tutorial.md).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.geometry import reproject
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext

COUNT = FieldDef("PNT_COUNT", "esriFieldTypeInteger", "Point count")


class PointsInPolygonCountInputs(GPInputs):
    """The tool's inputs: one field per parameter, in order."""

    in_polygons: Annotated[
        FeatureSet, Input("Polygons", "The areas in which points are counted.", geometry=("esriGeometryPolygon",))
    ]
    in_points: Annotated[FeatureSet, Input("Points", "The points to count.", geometry=("esriGeometryPoint",))]
    min_count: Annotated[int, Input("Minimum Count", "Only polygons with at least this many points are kept.")] = 0


class PointsInPolygonCountOutputs(GPOutputs):
    """The tool's outputs."""

    out_polygons: Annotated[FeatureSet, Output("Counted Polygons", geometry="esriGeometryPolygon")]


class PointsInPolygonCount(Tool[PointsInPolygonCountInputs, PointsInPolygonCountOutputs]):
    """Counts the points inside each polygon and adds the count as PNT_COUNT."""

    name = "PointsInPolygonCount"
    category = "Sample Toolbox"

    def run(self, inputs: PointsInPolygonCountInputs, ctx: ToolContext) -> PointsInPolygonCountOutputs:
        """One bulk spatial-index query; no loop over features."""
        polygons, points = inputs.in_polygons, inputs.in_points
        if polygons.spatial_reference is None:
            raise ToolExecutionError("in_polygons has no spatial reference")
        geoms = points.geometries
        if points.spatial_reference is not None and not points.spatial_reference.same_as(polygons.spatial_reference):
            ctx.message("Projecting the points to the polygons' spatial reference")
            geoms = reproject(geoms, points.spatial_reference, polygons.spatial_reference)
        ctx.message(f"Counting {len(points)} points in {len(polygons)} polygons")
        tree = shapely.STRtree(geoms)
        poly_index, _ = tree.query(polygons.geometries, predicate="covers")
        counts = np.bincount(poly_index, minlength=len(polygons))
        ctx.progress(90, "Writing the counts")
        keep = np.flatnonzero(counts >= inputs.min_count)
        rows = [{**polygons.attributes[i], COUNT.name: int(counts[i])} for i in keep.tolist()]
        out = FeatureSet(
            "esriGeometryPolygon",
            polygons.spatial_reference,
            [*polygons.fields, COUNT],
            polygons.geometries[keep],
            rows,
        )
        return PointsInPolygonCountOutputs(out_polygons=out)


TOOLS = [PointsInPolygonCount]
