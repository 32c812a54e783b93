"""Overlay steps shared by Clip, Erase, Intersect and Union: bulk STRtree queries, then array operations.

All overlays are planar in the first input's spatial reference (as ArcGIS's are); other inputs are
projected to it first, and invalid polygons are repaired with ``shapely.make_valid``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet
from gpserver.gp.srs import SpatialReference
from gpserver.tools.common import aligned, dimension, keep_dimension, present, repaired, require_sr


def prepare(fs: FeatureSet, sr: SpatialReference | None, ctx: Any, what: str) -> FeatureSet:
    """An input projected to ``sr`` (when given) with invalid geometries repaired."""
    require_sr(fs, what)
    if sr is not None:
        fs = aligned(fs, sr, ctx, what)
    return repaired(fs, ctx, what)


def snap_tolerance(value: Any, sr: SpatialReference) -> float:
    """A cluster tolerance in the reference's units (``None``: exact)."""
    if value is None:
        return 0.0
    from gpserver.tools.common import linear_meters, sr_unit_meters

    meters = linear_meters(value, sr, "cluster_tolerance")
    return meters / 111_319.49079327357 if sr.is_geographic else meters / sr_unit_meters(sr)


def overlay_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of intersecting geometries, ordered by ``a`` then ``b``."""
    ai, bi = present(a), present(b)
    if not len(ai) or not len(bi):
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    i, j = shapely.STRtree(b[bi]).query(a[ai], predicate="intersects")
    order = np.lexsort((j, i))
    return ai[i[order]], bi[j[order]]


def grouped_union(geoms: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """The union of ``geoms`` per group id (``0..n-1``; groups without members are ``None``)."""
    out = np.full(n, None, dtype=object)
    if not len(groups):
        return out
    order = np.argsort(groups, kind="stable")
    keys, starts = np.unique(groups[order], return_index=True)
    for key, chunk in zip(keys.tolist(), np.split(geoms[order], starts[1:]), strict=True):
        out[key] = chunk[0] if len(chunk) == 1 else shapely.union_all(chunk)
    return out


def erase(a: np.ndarray, b: np.ndarray, dim: int) -> np.ndarray:
    """Each geometry of ``a`` minus every geometry of ``b`` it overlaps (``None`` when nothing is left)."""
    i, j = overlay_pairs(a, b)
    cover = grouped_union(b[j], i, len(a))
    out = a.copy()
    hit = np.flatnonzero(~shapely.is_missing(cover))
    if len(hit):
        out[hit] = shapely.difference(a[hit], cover[hit])
    return keep_dimension(out, dim)


def intersect_pairs(a: np.ndarray, b: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces ``a[i] ∩ b[j]`` of dimension ``dim`` for every overlapping pair, and the pair indices."""
    i, j = overlay_pairs(a, b)
    pieces = keep_dimension(shapely.intersection(a[i], b[j]) if len(i) else np.zeros(0, dtype=object), dim)
    keep = present(pieces)
    return pieces[keep], i[keep], j[keep]


def lowest_dimension(inputs: list[FeatureSet], what: str) -> int:
    """The lowest dimension among the inputs (ArcGIS's default output type of Intersect)."""
    if not inputs:
        raise ToolExecutionError(f"{what} needs at least one feature set")
    return min(dimension(fs, what) for fs in inputs)
