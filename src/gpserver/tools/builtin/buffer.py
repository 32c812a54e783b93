"""Buffer: polygons around features at a distance (ArcGIS Analysis toolbox).

Planar in projected references; geodesic (true distance on the ellipsoid) when the input is in a
geographic reference or ``method`` is GEODESIC, as ArcGIS Pro does. Geodesic buffers of points are
computed for all points at once with ``pyproj.Geod.fwd``; other geodesic buffers are made per
feature in an azimuthal equidistant projection centred on the feature.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pyproj
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.geometry import reproject
from gpserver.gp.srs import WGS84, SpatialReference
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import FieldName, LinearUnit
from gpserver.tools.common import OBJECTID, renumber, require_sr, sr_unit_meters

# Vertices per quarter circle; 16 gives 64-gon circles (area within 0.16 % of a true circle).
QUAD_SEGS = 16
GEODESIC_VERTICES = 4 * QUAD_SEGS
POLYGON = "esriGeometryPolygon"
BUFF_DIST = FieldDef("BUFF_DIST", "esriFieldTypeDouble", "BUFF_DIST")
ORIG_FID = FieldDef("ORIG_FID", "esriFieldTypeInteger", "ORIG_FID")


class BufferInputs(GPInputs):
    """Buffer inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[
        FeatureSet,
        Input(
            "Input Features",
            "The point, line or polygon features to buffer.",
            geometry=("esriGeometryPoint", "esriGeometryMultipoint", "esriGeometryPolyline", "esriGeometryPolygon"),
        ),
    ]
    buffer_distance_or_field: Annotated[
        LinearUnit | FieldName,
        Input(
            "Distance [value or field]",
            "A distance with units, or the name of a numeric field holding each feature's distance "
            "(in the units of the input's spatial reference; metres for geographic inputs).",
        ),
    ]
    line_side: Annotated[
        Literal["FULL", "LEFT", "RIGHT", "OUTSIDE_ONLY"], Input("Side Type", "Which side(s) of lines to buffer.")
    ] = "FULL"
    line_end_type: Annotated[Literal["ROUND", "FLAT"], Input("End Type", "Shape of line ends.")] = "ROUND"
    dissolve_option: Annotated[Literal["NONE", "ALL", "LIST"], Input("Dissolve Type", "Merge overlapping buffers.")] = (
        "NONE"
    )
    dissolve_field: Annotated[
        list[str] | None, Input("Dissolve Field(s)", "Fields whose equal values are dissolved together (LIST).")
    ] = None
    method: Annotated[
        Literal["PLANAR", "GEODESIC"], Input("Method", "PLANAR or GEODESIC; geographic inputs are always geodesic.")
    ] = "PLANAR"


class BufferOutputs(GPOutputs):
    """Buffer outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYGON, fields=(OBJECTID,))]


class Buffer(Tool[BufferInputs, BufferOutputs]):
    """Creates buffer polygons around input features to a specified distance."""

    name = "Buffer"
    bounded = True
    category = "Analysis"
    order = (
        "in_features",
        "out_feature_class",
        "buffer_distance_or_field",
        "line_side",
        "line_end_type",
        "dissolve_option",
        "dissolve_field",
        "method",
    )

    def run(self, inputs: BufferInputs, ctx: ToolContext) -> BufferOutputs:
        """Buffer every feature, then dissolve as asked."""
        fs = inputs.in_features
        sr = require_sr(fs, "in_features")
        geoms = fs.geometries
        ctx.message(f"Buffering {len(fs)} features")
        geodesic = sr.is_geographic or inputs.method == "GEODESIC"
        meters = _distances_m(fs, inputs.buffer_distance_or_field, sr)
        if geodesic:
            polys = _geodesic(geoms, meters, sr, inputs)
        else:
            polys = _planar(geoms, meters / sr_unit_meters(sr), inputs, fs.geometry_type)
        ctx.check_cancelled()
        ctx.progress(80, "Writing buffers")
        keep = np.flatnonzero(~(shapely.is_missing(polys) | shapely.is_empty(polys)))
        if len(keep) < len(fs):
            ctx.warning(f"{len(fs) - len(keep)} features had no geometry or an empty buffer and were skipped")
        polys = polys[keep]
        if inputs.dissolve_option == "NONE":
            fields, rows = renumber(
                fs,
                keep,
                extra={"BUFF_DIST": _reported_distance(meters[keep], inputs, sr), "ORIG_FID": _orig_fids(fs, keep)},
                extra_fields=[BUFF_DIST, ORIG_FID],
            )
            out = FeatureSet(POLYGON, sr, fields, polys, rows)
        else:
            out = _dissolve(fs, keep, polys, sr, inputs.dissolve_option, inputs.dissolve_field or [])
        return BufferOutputs(out_feature_class=out)


def _distances_m(fs: FeatureSet, dist: LinearUnit | FieldName, sr: SpatialReference) -> np.ndarray:
    """Per-feature distances in metres."""
    if isinstance(dist, FieldName):
        field = fs.field(dist)
        if field is None:
            raise ToolExecutionError(f"Field '{dist}' does not exist in in_features")
        try:
            values = np.asarray(fs.column(field.name), dtype=float)
        except (TypeError, ValueError):
            raise ToolExecutionError(f"Field '{dist}' is not numeric") from None
        factor = 1.0 if sr.is_geographic else sr_unit_meters(sr)
        return np.asarray(np.nan_to_num(values, nan=0.0) * factor, dtype=float)
    meters = dist.meters()
    if meters is None:
        if dist.units == "esriDecimalDegrees" and sr.is_geographic:
            # ArcGIS converts degrees at the equator for geographic inputs.
            meters = dist.distance * 111_319.49079327357
        elif dist.units == "esriUnknownUnits" and not sr.is_geographic:
            meters = dist.distance * sr_unit_meters(sr)
        else:
            raise ToolExecutionError(f"Cannot use the unit {dist.units} with this spatial reference")
    return np.full(len(fs), meters, dtype=float)


def _reported_distance(meters: np.ndarray, inputs: BufferInputs, sr: SpatialReference) -> np.ndarray:
    """BUFF_DIST in the distance's own units (ArcGIS writes the value as given)."""
    dist = inputs.buffer_distance_or_field
    if isinstance(dist, LinearUnit):
        return np.full(len(meters), dist.distance)
    return meters / (1.0 if sr.is_geographic else sr_unit_meters(sr))


def _orig_fids(fs: FeatureSet, keep: np.ndarray) -> list[object]:
    oid = fs.oid_field
    if oid is None:
        return list((keep + 1).tolist())
    return [fs.attributes[i].get(oid) for i in keep.tolist()]


def _shape_args(inputs: BufferInputs, geometry_type: str | None) -> dict[str, object]:
    lines = geometry_type == "esriGeometryPolyline"
    return {
        "quad_segs": QUAD_SEGS,
        "cap_style": "flat" if lines and inputs.line_end_type == "FLAT" else "round",
        "single_sided": lines and inputs.line_side in ("LEFT", "RIGHT"),
    }


def _planar(geoms: np.ndarray, dist: np.ndarray, inputs: BufferInputs, geometry_type: str | None) -> np.ndarray:
    """Planar buffers in the reference's own units, all features in one shapely call."""
    args = _shape_args(inputs, geometry_type)
    if geometry_type == "esriGeometryPolygon":
        broken = np.flatnonzero(~(shapely.is_valid(geoms) | shapely.is_missing(geoms)))
        if len(broken):  # repair invalid rings (self-intersections, bow ties) the way ArcGIS's buffer does
            geoms = geoms.copy()
            geoms[broken] = shapely.make_valid(geoms[broken])
    signed = -dist if args["single_sided"] and inputs.line_side == "RIGHT" else dist
    out = shapely.buffer(geoms, signed, **args)
    if inputs.line_side == "OUTSIDE_ONLY" and geometry_type == "esriGeometryPolygon":
        out = shapely.difference(out, geoms)
    return np.asarray(out, dtype=object)


def _geodesic(geoms: np.ndarray, meters: np.ndarray, sr: SpatialReference, inputs: BufferInputs) -> np.ndarray:
    """Geodesic buffers: computed in lon/lat on the reference's ellipsoid, returned in ``sr``."""
    geographic = sr if sr.is_geographic else SpatialReference.from_crs(sr.crs.geodetic_crs or WGS84.crs)
    lonlat = geoms if sr.is_geographic else reproject(geoms, sr, geographic)
    geod = pyproj.Geod(ellps="WGS84") if geographic.crs.ellipsoid is None else geographic.crs.get_geod()
    assert geod is not None
    types = shapely.get_type_id(lonlat)
    out = np.full(len(lonlat), None, dtype=object)
    points = np.flatnonzero((types == 0) & ~shapely.is_empty(lonlat))
    if len(points):
        out[points] = _geodesic_points(lonlat[points], meters[points], geod)
    others = np.flatnonzero((types > 0) & ~shapely.is_empty(lonlat))
    for i in others.tolist():  # lines, polygons, multipoints: one local projection per feature
        out[i] = _geodesic_one(lonlat[i], float(meters[i]), geographic, inputs)
    return out if sr.is_geographic else reproject(out, geographic, sr)


def _geodesic_points(points: np.ndarray, meters: np.ndarray, geod: pyproj.Geod) -> np.ndarray:
    """Geodesic circles around many points in one vectorised ``Geod.fwd`` call."""
    n, k = len(points), GEODESIC_VERTICES
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    azimuths = np.tile(np.linspace(0.0, -360.0, k, endpoint=False), n)  # clockwise rings
    lon2, lat2, _ = geod.fwd(np.repeat(lon, k), np.repeat(lat, k), azimuths, np.repeat(np.abs(meters), k))
    ring = np.stack([lon2, lat2], axis=1).reshape(n, k, 2)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    polys = shapely.polygons(ring)
    polys[meters <= 0] = None
    return np.asarray(polys, dtype=object)


def _geodesic_one(
    geom: shapely.Geometry, meters: float, geographic: SpatialReference, inputs: BufferInputs
) -> shapely.Geometry | None:
    centre = shapely.centroid(geom)
    local = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={shapely.get_y(centre)} +lon_0={shapely.get_x(centre)} +datum=WGS84 +units=m"
    )
    fwd = pyproj.Transformer.from_crs(geographic.crs, local, always_xy=True)
    back = pyproj.Transformer.from_crs(local, geographic.crs, always_xy=True)
    projected = shapely.transform(geom, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    geometry_type = {1: "esriGeometryPolyline", 5: "esriGeometryPolyline"}.get(
        int(shapely.get_type_id(geom)), "esriGeometryPolygon"
    )
    buffered = _planar(np.array([projected], dtype=object), np.array([meters]), inputs, geometry_type)[0]
    if buffered is None or shapely.is_empty(buffered):
        return None
    return shapely.transform(buffered, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))


def _dissolve(
    fs: FeatureSet,
    keep: np.ndarray,
    polys: np.ndarray,
    sr: SpatialReference,
    option: str,
    fields: list[str],
) -> FeatureSet:
    """Merge buffers: all into one (ALL) or by equal values of ``fields`` (LIST)."""
    if option == "ALL" or not fields:
        merged = shapely.union_all(polys) if len(polys) else None
        geoms = np.array([merged] if merged is not None and not shapely.is_empty(merged) else [], dtype=object)
        return FeatureSet(POLYGON, sr, [OBJECTID], geoms, [{"OBJECTID": i + 1} for i in range(len(geoms))])
    defs = []
    for name in fields:
        field = fs.field(name)
        if field is None:
            raise ToolExecutionError(f"Dissolve field '{name}' does not exist in in_features")
        defs.append(field)
    keys = [tuple(fs.attributes[i].get(f.name) for f in defs) for i in keep.tolist()]
    groups: dict[tuple[object, ...], list[int]] = {}
    for pos, key in enumerate(keys):
        groups.setdefault(key, []).append(pos)
    geoms = np.array([shapely.union_all(polys[idx]) for idx in groups.values()], dtype=object)
    rows = [{"OBJECTID": i + 1, **dict(zip([f.name for f in defs], key, strict=True))} for i, key in enumerate(groups)]
    return FeatureSet(POLYGON, sr, [OBJECTID, *defs], geoms, rows)
