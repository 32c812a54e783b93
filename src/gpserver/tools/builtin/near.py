"""Near: distance to, and id of, the nearest feature (ArcGIS Analysis toolbox).

``PLANAR`` in a projected reference: distances in its units, ``NEAR_ANGLE`` counter-clockwise from
east. ``GEODESIC``, and any geographic input: the nearest feature is found in a local equidistant
projection centred on the data and the distance between the nearest points is measured on the
ellipsoid in metres; ``NEAR_ANGLE`` is then the azimuth (0 north, 90 east, -90 west), as in ArcGIS.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.geometry import reproject
from gpserver.gp.srs import SpatialReference
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.common import (
    ALL_GEOMETRIES,
    aligned,
    geodesic_inverse,
    linear_meters,
    local_reference,
    oids,
    present,
    renumber,
    sr_unit_meters,
)
from gpserver.tools.overlay import prepare

DOUBLE, INTEGER = "esriFieldTypeDouble", "esriFieldTypeInteger"


class NearInputs(GPInputs):
    """Near inputs (ArcGIS Pro names and order)."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The features that get NEAR_* fields.",
                                             geometry=ALL_GEOMETRIES)]  # fmt: skip
    near_features: Annotated[list[FeatureSet], Input("Near Features", "One or more feature sets to search.")]
    search_radius: Annotated[
        LinearUnit | None, Input("Search Radius", "Only features within this distance are considered.")
    ] = None
    location: Annotated[bool, Input("Location", "Add NEAR_X and NEAR_Y: the nearest point on the near feature.")] = (
        False
    )
    angle: Annotated[bool, Input("Angle", "Add NEAR_ANGLE.")] = False
    method: Annotated[
        Literal["PLANAR", "GEODESIC"], Input("Method", "PLANAR or GEODESIC; geographic inputs are always geodesic.")
    ] = "PLANAR"


class NearOutputs(GPOutputs):
    """Near outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Updated Input Features", derived=True)]


class Near(Tool[NearInputs, NearOutputs]):
    """Calculates the distance and other proximity information to the nearest feature."""

    name = "Near"
    bounded = True
    category = "Analysis"

    def run(self, inputs: NearInputs, ctx: ToolContext) -> NearOutputs:
        """Nearest neighbours of all input features in one STRtree query per near feature set."""
        fs = prepare(inputs.in_features, None, ctx, "in_features")
        sr = fs.spatial_reference
        assert sr is not None
        if not inputs.near_features:
            raise ToolExecutionError("Near needs at least one feature set in near_features")
        geodesic = inputs.method == "GEODESIC" or sr.is_geographic
        radius = linear_meters(inputs.search_radius, sr, "search_radius") if inputs.search_radius else None
        n = len(fs)
        best = np.full(n, np.inf)
        fid, fc = np.full(n, -1, dtype=np.int64), np.full(n, -1)
        nx, ny, ang = np.full(n, -1.0), np.full(n, -1.0), np.zeros(n)
        for k, near in enumerate(inputs.near_features):
            other = aligned(near, sr, ctx, f"near_features[{k}]")
            i, j, d, x, y, a = nearest(fs.geometries, other.geometries, sr, geodesic, radius)
            better = d < best[i]
            i, j = i[better], j[better]
            ids = np.asarray(oids(other), dtype=np.int64)
            best[i], fid[i], fc[i] = d[better], ids[j], k
            nx[i], ny[i], ang[i] = x[better], y[better], a[better]
        found = np.isfinite(best)
        dist = np.where(found, best, -1.0)
        ctx.message(f"{int(found.sum())} of {n} features have a near feature" + (" (geodesic)" if geodesic else ""))
        extra: dict[str, list[Any]] = {"NEAR_FID": fid.tolist(), "NEAR_DIST": dist.tolist()}
        fields = [FieldDef("NEAR_FID", INTEGER, "NEAR_FID"), FieldDef("NEAR_DIST", DOUBLE, "NEAR_DIST")]
        if inputs.location:
            extra |= {"NEAR_X": nx.tolist(), "NEAR_Y": ny.tolist()}
            fields += [FieldDef("NEAR_X", DOUBLE, "NEAR_X"), FieldDef("NEAR_Y", DOUBLE, "NEAR_Y")]
        if inputs.angle:
            extra["NEAR_ANGLE"] = ang.tolist()
            fields.append(FieldDef("NEAR_ANGLE", DOUBLE, "NEAR_ANGLE"))
        if len(inputs.near_features) > 1:
            extra["NEAR_FC"] = [f"near_features[{c}]" if c >= 0 else "" for c in fc.tolist()]
            fields.append(FieldDef("NEAR_FC", "esriFieldTypeString", "NEAR_FC", 255))
        out_fields, rows = renumber(fs, None, extra=extra, extra_fields=fields)
        out = FeatureSet(fs.geometry_type, sr, out_fields, fs.geometries, rows, fs.has_z, fs.has_m, fs.m_values)
        return NearOutputs(out_feature_class=out)


def nearest(
    a: np.ndarray, b: np.ndarray, sr: SpatialReference, geodesic: bool, radius_m: float | None
) -> tuple[np.ndarray, ...]:
    """For each geometry of ``a``: index in ``b``, distance, nearest point x/y (in ``sr``) and angle."""
    ai, bi = present(a), present(b)
    if not len(ai) or not len(bi):
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, *(np.zeros(0) for _ in range(4))
    space = local_reference(np.concatenate([a[ai], b[bi]]), sr) if geodesic else sr
    la = reproject(a[ai], sr, space) if geodesic else a[ai]
    lb = reproject(b[bi], sr, space) if geodesic else b[bi]
    unit = 1.0 if geodesic else sr_unit_meters(sr)
    limit = None if radius_m is None else radius_m / unit * (1.02 if geodesic else 1.0)
    (i, j), d = shapely.STRtree(lb).query_nearest(la, max_distance=limit, return_distance=True, all_matches=False)
    lines = shapely.shortest_line(la[i], lb[j])
    if geodesic:
        lines = reproject(lines, space, sr)
    start, end = shapely.get_point(lines, 0), shapely.get_point(lines, 1)
    x1, y1, x2, y2 = shapely.get_x(start), shapely.get_y(start), shapely.get_x(end), shapely.get_y(end)
    if geodesic:
        az, dist = geodesic_inverse(x1, y1, x2, y2, sr)
        angle = np.where(dist > 0, az, 0.0)
    else:
        dist = np.asarray(d, dtype=float)
        angle = np.where(dist > 0, np.degrees(np.arctan2(y2 - y1, x2 - x1)), 0.0)
    keep = (
        dist <= radius_m / (1.0 if geodesic else sr_unit_meters(sr)) if radius_m is not None else np.ones(len(i), bool)
    )
    return ai[i[keep]], bi[j[keep]], dist[keep], x2[keep], y2[keep], angle[keep]
