"""MinimumBoundingGeometry: rectangles, hulls, circles or envelopes around features (ArcGIS Data Management).

Planar, in the input's coordinates (ArcGIS does the same, also for geographic data). ``MBG_*``
fields: width (shorter side), length (longer side), orientation of the long side (degrees clockwise
from north, 0-180), or the circle's diameter.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools.common import ALL_GEOMETRIES, ORIG_FID, POLYGON, build, oids, present, take
from gpserver.tools.overlay import grouped_union, prepare

DOUBLE = "esriFieldTypeDouble"


class MinimumBoundingGeometryInputs(GPInputs):
    """MinimumBoundingGeometry inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The features to enclose.", geometry=ALL_GEOMETRIES)]
    geometry_type: Annotated[
        Literal["RECTANGLE_BY_AREA", "RECTANGLE_BY_WIDTH", "CONVEX_HULL", "CIRCLE", "ENVELOPE"],
        Input("Geometry Type", "The shape of the bounding polygon."),
    ] = "RECTANGLE_BY_AREA"
    group_option: Annotated[
        Literal["NONE", "ALL", "LIST"], Input("Group Option", "One polygon per feature, for all, or per group.")
    ] = "NONE"
    group_field: Annotated[list[str] | None, Input("Group Field(s)", "Fields that define groups (LIST).")] = None
    mbg_fields_option: Annotated[
        bool, Input("Add geometry characteristics as attributes to output", "Adds MBG_* fields.")
    ] = False


class MinimumBoundingGeometryOutputs(GPOutputs):
    """MinimumBoundingGeometry outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYGON)]


class MinimumBoundingGeometry(Tool[MinimumBoundingGeometryInputs, MinimumBoundingGeometryOutputs]):
    """Creates polygons that represent a specified minimum bounding geometry of each feature or group."""

    name = "MinimumBoundingGeometry"
    bounded = True
    category = "Data Management"
    order = ("in_features", "out_feature_class", "geometry_type", "group_option", "group_field", "mbg_fields_option")

    def run(self, inputs: MinimumBoundingGeometryInputs, ctx: ToolContext) -> MinimumBoundingGeometryOutputs:
        """Group, then one vectorised shapely call for the chosen shape."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        rows = present(fs.geometries)
        columns: list[tuple[FieldDef, list[Any]]]
        if inputs.group_option == "NONE":
            geoms = fs.geometries[rows]
            ids = oids(fs)
            columns = [*take(fs, rows), (ORIG_FID, [ids[i] for i in rows.tolist()])]
        else:
            names = (inputs.group_field or []) if inputs.group_option == "LIST" else []
            keys = [fs.field(n) for n in names]
            if any(k is None for k in keys):
                raise ToolExecutionError("ERROR 000728: a group field does not exist", details=names)
            index: dict[tuple[Any, ...], int] = {}
            groups = np.fromiter(
                (index.setdefault(tuple(fs.attributes[r].get(k.name) for k in keys if k), len(index)) for r in rows),
                dtype=np.intp,
                count=len(rows),
            )
            geoms = grouped_union(fs.geometries[rows], groups, len(index))
            columns = [(k, [key[c] for key in index]) for c, k in enumerate(keys) if k is not None]
        shapes, extra = bounding(geoms, inputs.geometry_type)
        ok = present(shapes)
        ok = ok[shapely.get_dimensions(shapes[ok]) == 2]
        if len(ok) < len(shapes):
            ctx.warning(f"{len(shapes) - len(ok)} features or groups are degenerate (no area) and were skipped")
        if inputs.mbg_fields_option:
            columns += extra
        columns = [(f, [v[i] for i in ok.tolist()]) for f, v in columns]
        ctx.message(f"{len(ok)} bounding polygons ({inputs.geometry_type})")
        return MinimumBoundingGeometryOutputs(
            out_feature_class=build(POLYGON, fs.spatial_reference, shapes[ok], columns)
        )


def bounding(geoms: np.ndarray, kind: str) -> tuple[np.ndarray, list[tuple[FieldDef, list[Any]]]]:
    """The bounding shapes and their MBG_* columns."""
    if not len(geoms):
        return geoms, []
    if kind == "CIRCLE":
        radius = np.asarray(shapely.minimum_bounding_radius(geoms), dtype=float)
        centres = shapely.centroid(shapely.minimum_bounding_circle(geoms))
        # a 256-gon whose edges lie outside the true circle, so the polygon covers the features
        circles = np.asarray(shapely.buffer(centres, radius / np.cos(np.pi / 256), quad_segs=64), dtype=object)
        return circles, [(FieldDef("MBG_Diameter", DOUBLE, "MBG_Diameter"), (2 * radius).tolist())]
    if kind == "ENVELOPE":
        shapes = np.asarray(shapely.envelope(geoms), dtype=object)
    elif kind == "CONVEX_HULL":
        shapes = np.asarray(shapely.convex_hull(geoms), dtype=object)
    elif kind == "RECTANGLE_BY_AREA":
        shapes = np.asarray(shapely.oriented_envelope(geoms), dtype=object)
    else:
        shapes = np.asarray([_min_width_rectangle(g) for g in shapely.convex_hull(geoms)], dtype=object)
    if kind == "CONVEX_HULL":
        dims = [_hull_dimensions(g) for g in shapes]
    else:
        dims = [_rectangle_dimensions(g) for g in shapes]
    names = ("MBG_Width", "MBG_Length", "MBG_Orientation")
    return shapes, [(FieldDef(n, DOUBLE, n), [d[k] for d in dims]) for k, n in enumerate(names)]


def _bearing(dx: float, dy: float) -> float:
    return float(np.degrees(np.arctan2(dx, dy)) % 180.0)


def _rectangle_dimensions(rect: Any) -> tuple[float | None, float | None, float | None]:
    if rect is None or shapely.get_dimensions(rect) != 2:
        return None, None, None
    xy = shapely.get_coordinates(rect)[:4]
    e1, e2 = xy[1] - xy[0], xy[2] - xy[1]
    l1, l2 = float(np.hypot(*e1)), float(np.hypot(*e2))
    long_edge = e1 if l1 >= l2 else e2
    return min(l1, l2), max(l1, l2), _bearing(float(long_edge[0]), float(long_edge[1]))


def _hull_dimensions(hull: Any) -> tuple[float | None, float | None, float | None]:
    """Width: the narrowest strip holding the hull; length and orientation: its longest vertex pair."""
    if hull is None or shapely.get_dimensions(hull) != 2:
        return None, None, None
    xy = shapely.get_coordinates(hull)[:-1]
    best, pair = -1.0, (0, 0)
    for start in range(0, len(xy), 512):  # chunks keep memory flat for hulls with many vertices
        diff = xy[start : start + 512, None, :] - xy[None, :, :]
        dist = np.hypot(diff[..., 0], diff[..., 1])
        a, b = np.unravel_index(int(np.argmax(dist)), dist.shape)
        if dist[a, b] > best:
            best, pair = float(dist[a, b]), (start + int(a), int(b))
    width, _ = _narrowest(xy)
    d = xy[pair[1]] - xy[pair[0]]
    return width, best, _bearing(float(d[0]), float(d[1]))


def _narrowest(xy: np.ndarray) -> tuple[float, np.ndarray]:
    """The minimum width over the hull's edge directions, and that edge's unit vector."""
    edges = np.roll(xy, -1, axis=0) - xy
    unit = edges / np.maximum(np.hypot(edges[:, 0], edges[:, 1]), 1e-300)[:, None]
    normals = np.stack([-unit[:, 1], unit[:, 0]], axis=1)
    spans = xy @ normals.T
    widths = spans.max(axis=0) - spans.min(axis=0)
    k = int(np.argmin(widths))
    return float(widths[k]), unit[k]


def _min_width_rectangle(hull: Any) -> Any:
    """The bounding rectangle aligned with the hull edge that gives the smallest width (rotating calipers)."""
    if hull is None or shapely.get_dimensions(hull) != 2:
        return None
    xy = shapely.get_coordinates(hull)[:-1]
    _, u = _narrowest(xy)
    n = np.array([-u[1], u[0]])
    s, t = xy @ u, xy @ n
    corners = [(s.min(), t.min()), (s.max(), t.min()), (s.max(), t.max()), (s.min(), t.max())]
    return shapely.Polygon([tuple(a * u + b * n) for a, b in corners])
