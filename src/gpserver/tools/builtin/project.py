"""Project: features from one coordinate system to another (ArcGIS Data Management toolbox).

The datum transformation is PROJ's best available one for the pair (``pyproj.Transformer`` picks
by accuracy and area of use); a ``transform_method`` name is reported but does not override it.
"""

from __future__ import annotations

from typing import Annotated

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet
from gpserver.gp.geometry import reproject
from gpserver.gp.srs import SpatialReference, transformer
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext


class ProjectInputs(GPInputs):
    """Project inputs (ArcGIS Pro names and order)."""

    in_dataset: Annotated[
        FeatureSet,
        Input(
            "Input Dataset or Feature Class",
            "The features to project.",
            geometry=("esriGeometryPoint", "esriGeometryMultipoint", "esriGeometryPolyline", "esriGeometryPolygon"),
        ),
    ]
    out_coor_system: Annotated[
        SpatialReference, Input("Output Coordinate System", 'A wkid (e.g. 3857) or {"wkt": ...}.')
    ]
    transform_method: Annotated[
        str | None,
        Input("Geographic Transformation", "Name of a datum transformation; PROJ chooses the best one available."),
    ] = None
    in_coor_system: Annotated[
        SpatialReference | None,
        Input("Input Coordinate System", "The input's coordinate system when the features do not carry one."),
    ] = None


class ProjectOutputs(GPOutputs):
    """Project outputs."""

    out_dataset: Annotated[FeatureSet, Output("Output Dataset or Feature Class")]


class Project(Tool[ProjectInputs, ProjectOutputs]):
    """Projects spatial data from one coordinate system to another."""

    name = "Project"
    bounded = True
    category = "Data Management"
    order = ("in_dataset", "out_dataset", "out_coor_system", "transform_method", "in_coor_system")

    def run(self, inputs: ProjectInputs, ctx: ToolContext) -> ProjectOutputs:
        """Transform every geometry in one vectorised call."""
        fs = inputs.in_dataset
        source = fs.spatial_reference or inputs.in_coor_system
        if source is None:
            raise ToolExecutionError(
                "The input has an unknown coordinate system", details=["Set in_coor_system or a spatialReference."]
            )
        target = inputs.out_coor_system
        chosen = transformer(source, target)
        ctx.message(f"Projecting {len(fs)} features to {target.crs.name}")
        ctx.message(f"Transformation: {chosen.description or chosen.name}")
        if inputs.transform_method:
            ctx.message(f"Requested transformation '{inputs.transform_method}'; PROJ chose the one above.")
        geoms = fs.geometries if source.same_as(target) else reproject(fs.geometries, source, target)
        return ProjectOutputs(out_dataset=fs.with_geometries(geoms, sr=target))
