"""Spatial relationships shared by SelectLayerByLocation and SpatialJoin: bulk STRtree queries.

Relationship names and meanings follow ArcGIS ("Select By Location graphically"):
https://pro.arcgis.com/en/pro-app/latest/tool-reference/data-management/select-by-location-graphical-examples.htm
Distances are planar in projected references. In geographic references, and for the ``*_GEODESIC``
options, candidates come from a local azimuthal equidistant projection centred on the data and
each candidate pair's distance is then measured on the ellipsoid between its nearest points.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import shapely

from gpserver.gp.geometry import reproject
from gpserver.gp.srs import SpatialReference
from gpserver.tools.common import geodesic_inverse, local_reference, present, sr_unit_meters

Relation = Literal[
    "INTERSECT",
    "WITHIN_A_DISTANCE",
    "WITHIN_A_DISTANCE_GEODESIC",
    "CONTAINS",
    "COMPLETELY_CONTAINS",
    "CONTAINS_CLEMENTINI",
    "WITHIN",
    "COMPLETELY_WITHIN",
    "WITHIN_CLEMENTINI",
    "ARE_IDENTICAL_TO",
    "BOUNDARY_TOUCHES",
    "SHARE_A_LINE_SEGMENT_WITH",
    "HAVE_THEIR_CENTER_IN",
]

# relation -> (STRtree predicate, whether the tree holds the *input* features instead of the others)
_PREDICATES: dict[str, tuple[str, bool]] = {
    "INTERSECT": ("intersects", False),
    "CONTAINS": ("covers", False),
    "COMPLETELY_CONTAINS": ("contains_properly", False),
    "CONTAINS_CLEMENTINI": ("contains", False),
    "WITHIN": ("covered_by", False),
    "COMPLETELY_WITHIN": ("contains_properly", True),
    "WITHIN_CLEMENTINI": ("within", False),
    "BOUNDARY_TOUCHES": ("intersects", False),
    "ARE_IDENTICAL_TO": ("intersects", False),
    "SHARE_A_LINE_SEGMENT_WITH": ("intersects", False),
}


def pairs(
    inputs: np.ndarray,
    others: np.ndarray,
    relation: str,
    sr: SpatialReference,
    distance_m: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` where ``inputs[i]`` has ``relation`` to ``others[j]`` (both arrays in ``sr``)."""
    a_ok, b_ok = present(inputs), present(others)
    if not len(a_ok) or not len(b_ok):
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    a, b = inputs[a_ok], others[b_ok]
    geodesic = relation.endswith("_GEODESIC") or sr.is_geographic
    if relation.startswith("WITHIN_A_DISTANCE") or (relation == "INTERSECT" and distance_m > 0):
        i, j = within_distance(a, b, sr, distance_m, geodesic=geodesic)
    elif relation == "HAVE_THEIR_CENTER_IN":
        i, j = shapely.STRtree(b).query(centers(a), predicate="intersects")
    else:
        predicate, reverse = _PREDICATES[relation]
        if reverse:
            j, i = shapely.STRtree(a).query(b, predicate=predicate)
        else:
            i, j = shapely.STRtree(b).query(a, predicate=predicate)
        if relation == "ARE_IDENTICAL_TO":
            keep = shapely.equals(a[i], b[j])
            i, j = i[keep], j[keep]
        elif relation == "BOUNDARY_TOUCHES":
            keep = shapely.intersects(_outline(a[i]), _outline(b[j]))
            i, j = i[keep], j[keep]
        elif relation == "SHARE_A_LINE_SEGMENT_WITH":
            shared = shapely.intersection(_outline(a[i]), _outline(b[j]))
            keep = shapely.length(shared) > 0
            i, j = i[keep], j[keep]
    order = np.lexsort((j, i))
    return a_ok[i[order]], b_ok[j[order]]


def _outline(geoms: np.ndarray) -> np.ndarray:
    """Polygons' boundaries; lines and points as they are."""
    dims = shapely.get_dimensions(geoms)
    return np.where(dims == 2, shapely.boundary(geoms), geoms)


def centers(geoms: np.ndarray) -> np.ndarray:
    """ArcGIS "center": the midpoint of lines, the centroid of other shapes."""
    out = shapely.centroid(geoms)
    lines = shapely.get_dimensions(geoms) == 1
    if lines.any():
        out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    return np.asarray(out, dtype=object)


def within_distance(
    a: np.ndarray, b: np.ndarray, sr: SpatialReference, meters: float, *, geodesic: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs closer than ``meters`` (planar in ``sr``'s units, or geodesic)."""
    if not geodesic:
        i, j = shapely.STRtree(b).query(a, predicate="dwithin", distance=meters / sr_unit_meters(sr))
        return np.asarray(i), np.asarray(j)
    local = local_reference(np.concatenate([a, b]), sr)
    la, lb = reproject(a, sr, local), reproject(b, sr, local)
    i, j = shapely.STRtree(lb).query(la, predicate="dwithin", distance=meters * 1.02 + 1.0)
    if not len(i):
        return np.asarray(i), np.asarray(j)
    dist = geodesic_distance(la[i], lb[j], local)
    keep = dist <= meters
    return np.asarray(i[keep]), np.asarray(j[keep])


def geodesic_distance(a: np.ndarray, b: np.ndarray, sr: SpatialReference) -> np.ndarray:
    """Ellipsoidal distance (m) between the nearest points of each pair (0 where they intersect)."""
    lines = shapely.shortest_line(a, b)
    start, end = shapely.get_point(lines, 0), shapely.get_point(lines, 1)
    _, dist = geodesic_inverse(shapely.get_x(start), shapely.get_y(start), shapely.get_x(end), shapely.get_y(end), sr)
    dist[shapely.intersects(a, b)] = 0.0
    return dist
