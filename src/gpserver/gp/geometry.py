"""Vectorised geometry helpers shared by the Esri JSON codec and tools: reprojection, Esri ring order."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from gpserver.gp.srs import SpatialReference, transformer


def reproject(geometries: np.ndarray, source: SpatialReference, target: SpatialReference) -> np.ndarray:
    """Geometries moved from ``source`` to ``target`` in one PROJ call per dimension (``None`` stays ``None``)."""
    geoms = np.asarray(geometries, dtype=object)
    if source.same_as(target) or geoms.size == 0:
        return geoms
    tr = transformer(source, target)

    def move(x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None) -> Any:
        if z is None:
            return tr.transform(x, y)
        return tr.transform(x, y, z)

    has_z = shapely.has_z(geoms)
    if not has_z.any():
        include_z: bool | None = False
    elif has_z[~shapely.is_missing(geoms)].all():
        include_z = True
    else:
        include_z = None  # mixed: shapely keeps each geometry's own dimension
    return np.asarray(shapely.transform(geoms, move, include_z=include_z, interleaved=False), dtype=object)


def orient_esri(geometries: np.ndarray) -> np.ndarray:
    """Polygons with exterior rings clockwise and holes counter-clockwise, as Esri JSON wants them."""
    geoms = np.asarray(geometries, dtype=object)
    if geoms.size == 0:
        return geoms
    return np.asarray(shapely.orient_polygons(geoms, exterior_cw=True), dtype=object)
