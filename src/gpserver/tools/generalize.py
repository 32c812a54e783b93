"""Helpers of the simplify and smooth tools: work in metres, then return to the input's reference.

Projected inputs are processed in their own coordinates (tolerances converted to their units);
geographic inputs in an azimuthal equidistant projection centred on the data, so tolerances are
true metres near the data, then projected back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

from gpserver.gp.geometry import reproject
from gpserver.gp.srs import SpatialReference
from gpserver.tools.common import local_reference, sr_unit_meters


def in_metres(geoms: np.ndarray, sr: SpatialReference, fn: Callable[[np.ndarray, float], np.ndarray]) -> np.ndarray:
    """Apply ``fn(geometries, metres_per_unit)`` in a metre-based space; return the result in ``sr``."""
    if not sr.is_geographic:
        return fn(geoms, sr_unit_meters(sr))
    local = local_reference(geoms, sr)
    return reproject(fn(reproject(geoms, sr, local), 1.0), local, sr)


def paek(coords: np.ndarray, tolerance: float, closed: bool, fixed_ends: bool = True) -> np.ndarray:
    """PAEK-style smoothing: each vertex of the densified line becomes a Gaussian-weighted mean of
    the vertices within half the tolerance along the line (endpoints of open lines stay fixed)."""
    if len(coords) < 3 or tolerance <= 0:
        return coords
    step = np.hypot(*np.diff(coords, axis=0).T)
    spacing = max(float(np.median(step[step > 0])) if (step > 0).any() else 1.0, 1e-12)
    half = max(1, int(round(tolerance / 2 / spacing)))
    half = min(half, len(coords) - 1)
    offsets = np.arange(-half, half + 1)
    weights = np.exp(-0.5 * (offsets / max(half / 2, 1e-9)) ** 2)
    weights /= weights.sum()
    if closed:
        ring = coords[:-1]
        padded = np.concatenate([ring[-half:], ring, ring[:half]])
        out = np.stack([np.convolve(padded[:, k], weights, mode="valid") for k in range(2)], axis=1)
        return np.concatenate([out, out[:1]])
    padded = np.concatenate([np.repeat(coords[:1], half, axis=0), coords, np.repeat(coords[-1:], half, axis=0)])
    out = np.stack([np.convolve(padded[:, k], weights, mode="valid") for k in range(2)], axis=1)
    if fixed_ends:
        out[0], out[-1] = coords[0], coords[-1]
    return out


def smooth_geometry(geom: shapely.Geometry, tolerance: float, fixed_ends: bool) -> shapely.Geometry:
    """One line or polygon smoothed part by part (densified to a tenth of the tolerance first)."""
    dense = shapely.segmentize(geom, max(tolerance / 10, 1e-9))
    kind = shapely.get_type_id(dense)
    if kind in (1, 5):
        lines = [
            shapely.LineString(paek(shapely.get_coordinates(p), tolerance, False, fixed_ends))
            for p in shapely.get_parts(dense)
        ]
        return lines[0] if kind == 1 else shapely.MultiLineString(lines)
    polys = []
    for part in shapely.get_parts(dense):
        rings = [paek(shapely.get_coordinates(r), tolerance, True) for r in shapely.get_rings(part)]
        polys.append(shapely.Polygon(rings[0], rings[1:]))
    made = shapely.make_valid(shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0])
    return made
