"""Helpers shared by built-in tools: schemas, object ids, linear-unit conversion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyproj
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import OID, FeatureSet, FieldDef
from gpserver.gp.geometry import reproject
from gpserver.gp.srs import WGS84, SpatialReference, transformer
from gpserver.gp.values import LinearUnit

OBJECTID = FieldDef("OBJECTID", OID, "OBJECTID")


def require_sr(fs: FeatureSet, what: str) -> SpatialReference:
    """The feature set's spatial reference, or a tool error naming the parameter."""
    if fs.spatial_reference is None:
        raise ToolExecutionError(
            f"{what} has an unknown spatial reference",
            details=["Give a spatialReference on the feature set or on its geometries."],
        )
    return fs.spatial_reference


def sr_unit_meters(sr: SpatialReference) -> float:
    """Metres per unit of a projected reference's x axis."""
    axis = sr.crs.axis_info[0]
    return float(axis.unit_conversion_factor or 1.0)


def renumber(
    fs: FeatureSet,
    keep: np.ndarray | None = None,
    *,
    extra: Mapping[str, Sequence[Any] | np.ndarray] | None = None,
    extra_fields: list[FieldDef] = (),  # type: ignore[assignment]
) -> tuple[list[FieldDef], list[dict[str, Any]]]:
    """Fields and attribute rows of an output: a fresh OBJECTID, the input's non-OID fields,
    then ``extra`` columns; rows limited to the indices in ``keep``."""
    oid = fs.oid_field
    fields = [OBJECTID] + [f for f in fs.fields if f.name != oid and f.name != "OBJECTID"] + list(extra_fields)
    names = [f.name for f in fields[1:] if f not in extra_fields]
    index = range(len(fs)) if keep is None else keep.tolist()
    source = fs.attributes
    rows = [{"OBJECTID": k, **{n: source[i].get(n) for n in names}} for k, i in enumerate(index, start=1)]
    for name, values in (extra or {}).items():
        col = values.tolist() if isinstance(values, np.ndarray) else list(values)
        for row, v in zip(rows, col, strict=True):
            row[name] = v
    return fields, rows


# ---------------------------------------------------------------- shared by the analysis tools

POINT, MULTIPOINT, POLYLINE, POLYGON = (
    "esriGeometryPoint",
    "esriGeometryMultipoint",
    "esriGeometryPolyline",
    "esriGeometryPolygon",
)
DIMENSION = {POINT: 0, MULTIPOINT: 0, POLYLINE: 1, POLYGON: 2}
TYPE_OF_DIMENSION = {0: POINT, 1: POLYLINE, 2: POLYGON}
ALL_GEOMETRIES = (POINT, MULTIPOINT, POLYLINE, POLYGON)
ORIG_FID = FieldDef("ORIG_FID", "esriFieldTypeInteger", "ORIG_FID")


def dimension(fs: FeatureSet, what: str) -> int:
    """0, 1 or 2 for points, lines or polygons; a tool error for tables."""
    if fs.geometry_type not in DIMENSION:
        raise ToolExecutionError(f"{what} must hold points, lines or polygons, not {fs.geometry_type}")
    return DIMENSION[fs.geometry_type]


def repaired(fs: FeatureSet, ctx: Any, what: str) -> FeatureSet:
    """The features with invalid geometries made valid (``shapely.make_valid``), reported as a warning."""
    geoms = np.asarray(fs.geometries, dtype=object)
    if not len(geoms):
        return fs
    bad = np.flatnonzero(~(shapely.is_valid(geoms) | shapely.is_missing(geoms)))
    if not len(bad):
        return fs
    fixed = geoms.copy()
    fixed[bad] = shapely.make_valid(geoms[bad])
    dim = DIMENSION.get(fs.geometry_type or "", -1)
    if dim >= 0:
        fixed[bad] = keep_dimension(fixed[bad], dim)
    ctx.warning(f"{len(bad)} invalid geometries in {what} were repaired")
    return fs.with_geometries(fixed)


def aligned(fs: FeatureSet, sr: SpatialReference, ctx: Any, what: str) -> FeatureSet:
    """``fs`` projected to ``sr`` when it is in another reference (ArcGIS projects to the first input's)."""
    other = require_sr(fs, what)
    if other.same_as(sr):
        return fs
    ctx.message(f"Projecting {what} to the spatial reference of the first input")
    return fs.with_geometries(reproject(fs.geometries, other, sr), sr=sr)


def present(geoms: np.ndarray) -> np.ndarray:
    """Indices of geometries that exist and are not empty."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))


def keep_dimension(geoms: np.ndarray, dim: int) -> np.ndarray:
    """Each geometry reduced to its parts of dimension ``dim`` (``None`` when nothing is left)."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    idx = present(geoms)
    if not len(idx):
        return out
    sub = geoms[idx].copy()
    wrong = (shapely.get_type_id(sub) == 7) | (shapely.get_dimensions(sub) != dim)
    for k in np.flatnonzero(wrong).tolist():  # collections only; the common case stays vectorised
        parts = shapely.get_parts(sub[k])
        while len(parts) and (shapely.get_type_id(parts) == 7).any():
            parts = shapely.get_parts(parts)
        parts = parts[(shapely.get_dimensions(parts) == dim) & ~shapely.is_empty(parts)] if len(parts) else parts
        sub[k] = shapely.union_all(parts) if len(parts) else None
    out[idx] = sub
    gone = shapely.is_missing(out) | shapely.is_empty(out)
    out[gone] = None
    return out


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_1``, ``name_2``... when taken (case-insensitively), as ArcGIS renames fields."""
    low = {t.lower() for t in taken}
    if name.lower() not in low:
        return name
    k = 1
    while f"{name}_{k}".lower() in low:
        k += 1
    return f"{name}_{k}"


def oids(fs: FeatureSet) -> list[Any]:
    """Each feature's object id (1-based positions when the input has no OID field)."""
    oid = fs.oid_field
    if oid is None:
        return list(range(1, len(fs) + 1))
    return [a.get(oid) for a in fs.attributes]


def data_fields(fs: FeatureSet) -> list[FieldDef]:
    """The attribute fields other than the object id and geometry."""
    oid = fs.oid_field
    return [f for f in fs.fields if f.name != oid and f.name != "OBJECTID" and f.type != "esriFieldTypeGeometry"]


def build(
    geometry_type: str | None,
    sr: SpatialReference | None,
    geoms: np.ndarray | list[Any],
    columns: Sequence[tuple[FieldDef, Sequence[Any] | np.ndarray]],
) -> FeatureSet:
    """An output feature set: a fresh OBJECTID, then ``columns`` in order."""
    n = len(geoms)
    fields = [OBJECTID] + [f for f, _ in columns]
    cols = [(f.name, v.tolist() if isinstance(v, np.ndarray) else list(v)) for f, v in columns]
    rows = [{"OBJECTID": i + 1} for i in range(n)]
    for name, values in cols:
        for row, value in zip(rows, values, strict=True):
            row[name] = value
    return FeatureSet(geometry_type, sr, fields, np.asarray(geoms, dtype=object).reshape(n), rows)


def take(fs: FeatureSet, index: np.ndarray, fields: list[FieldDef] | None = None) -> list[tuple[FieldDef, list[Any]]]:
    """Columns of ``fields`` (default: the data fields) for the features at ``index``."""
    picked = data_fields(fs) if fields is None else fields
    idx = np.asarray(index, dtype=np.intp).tolist()
    return [(f, [fs.attributes[i].get(f.name) for i in idx]) for f in picked]


def geodesic_measure(geoms: np.ndarray, sr: SpatialReference, what: str) -> np.ndarray:
    """Geodesic area (m²) or length (m) of each geometry (``what``: ``area`` | ``length``) on the SR's ellipsoid."""
    geod = _geod(sr)
    geographic = _geographic(sr)
    lonlat = geoms if sr.is_geographic else reproject(geoms, sr, geographic)
    out = np.zeros(len(geoms))
    for i, g in enumerate(lonlat.tolist()):  # pyproj has no array form for whole geometries
        if g is None or g.is_empty:
            continue
        area, length = geod.geometry_area_perimeter(g) if what == "area" else (0.0, geod.geometry_length(g))
        out[i] = abs(area) if what == "area" else length
    return out


def planar_measure(geoms: np.ndarray, sr: SpatialReference, what: str) -> np.ndarray:
    """Planar area (m²) or length (m) in a projected reference."""
    factor = sr_unit_meters(sr)
    geoms = np.asarray(geoms, dtype=object)
    if what == "area":
        areas: np.ndarray = np.nan_to_num(np.asarray(shapely.area(geoms), dtype=float)) * factor**2
        return areas
    lengths: np.ndarray = np.nan_to_num(np.asarray(shapely.length(geoms), dtype=float)) * factor
    return lengths


def measure(geoms: np.ndarray, sr: SpatialReference, what: str) -> np.ndarray:
    """Geodesic for geographic references, planar otherwise (the ArcGIS default for shape measures)."""
    if sr.is_geographic:
        return geodesic_measure(geoms, sr, what)
    return planar_measure(geoms, sr, what)


def _geographic(sr: SpatialReference) -> SpatialReference:
    return sr if sr.is_geographic else SpatialReference.from_crs(sr.crs.geodetic_crs or WGS84.crs)


def _geod(sr: SpatialReference) -> pyproj.Geod:
    geod = sr.crs.get_geod()
    return geod if geod is not None else pyproj.Geod(ellps="WGS84")


def local_reference(geoms: np.ndarray, sr: SpatialReference, proj: str = "aeqd") -> SpatialReference:
    """A metre-based projection centred on the data (``aeqd`` distances, ``laea`` areas)."""
    geographic = _geographic(sr)
    lonlat = geoms if sr.is_geographic else reproject(geoms, sr, geographic)
    exists = present(lonlat)
    if len(exists):
        xmin, ymin, xmax, ymax = shapely.total_bounds(lonlat[exists])
        lon, lat = (xmin + xmax) / 2, (ymin + ymax) / 2
    else:
        lon = lat = 0.0
    crs = pyproj.CRS.from_proj4(f"+proj={proj} +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs")
    return SpatialReference(wkt=crs.to_wkt())


def geodesic_inverse(
    x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray, sr: SpatialReference
) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic azimuth (degrees from north) and distance (m) between point pairs given in ``sr``."""
    geographic = _geographic(sr)
    if not sr.is_geographic:
        tr = transformer(sr, geographic)
        x1, y1 = tr.transform(x1, y1)
        x2, y2 = tr.transform(x2, y2)
    az, _, dist = _geod(sr).inv(x1, y1, x2, y2)
    return np.asarray(az, dtype=float), np.asarray(dist, dtype=float)


def linear_meters(value: LinearUnit | None, sr: SpatialReference, what: str) -> float:
    """A linear unit in metres; unknown units are the reference's own units (degrees at the equator)."""
    if value is None:
        return 0.0
    meters = value.meters()
    if meters is not None:
        return meters
    if value.units == "esriDecimalDegrees" or sr.is_geographic:
        return value.distance * 111_319.49079327357
    if value.units == "esriUnknownUnits":
        return value.distance * sr_unit_meters(sr)
    raise ToolExecutionError(f"Cannot use the unit {value.units} for {what}")
