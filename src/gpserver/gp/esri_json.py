"""Esri JSON <-> shapely 2: the one place where geometries and feature sets cross the wire.

Everything here is vectorised: coordinates of all features are gathered into one numpy array with
C-level iteration (``itertools.chain``) and turned into geometries by one shapely call; encoding
slices numpy views out of :func:`shapely.to_ragged_array` (serialise the result with
``orjson.OPT_SERIALIZE_NUMPY``).

Choices:

* Envelopes decode to box polygons and the feature set reports ``esriGeometryPolygon``; a
  :class:`FeatureSet` whose ``geometry_type`` is ``esriGeometryEnvelope`` still encodes as envelopes.
* A polyline with one path decodes to a ``LineString``, with several to a ``MultiLineString``; a
  polygon whose rings hold one outer ring decodes to a ``Polygon``, else a ``MultiPolygon``; a
  multipoint is always a ``MultiPoint``. Empty forms decode to empty geometries; a missing,
  ``null`` or ``{}`` geometry decodes to ``None``.
* Polygon rings: clockwise rings are outer rings, counter-clockwise rings holes, each hole given to
  the smallest outer ring of its feature that covers it. A feature with a single ring, or whose
  rings are all counter-clockwise, keeps every ring as an outer ring; an unclosed ring is closed.
* shapely keeps no m: m values live in ``FeatureSet.m_values``, one float64 array per feature
  (one value per vertex, in :func:`shapely.get_coordinates` order, NaN where missing) or ``None``.
  ``[x, y, v]`` coordinates are read as ``[x, y, m]`` only when ``hasM`` is true and ``hasZ`` is not.
* A feature set's geometry type is its own ``geometryType``, else the shape of its first geometry,
  else the default's, else ``esriGeometryPoint``. Its spatial reference is its own, else the first
  geometry's, else the default's; a geometry carrying another reference is reprojected to it.
* Curves (``curvePaths``/``curveRings``) are read from their densified ``paths``/``rings`` copy only.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from itertools import chain, repeat
from typing import Any, ParamSpec, TypeVar

import numpy as np
import orjson
import shapely
from shapely import GeometryType
from shapely.geometry.base import BaseGeometry

from gpserver.errors import InvalidParameterError
from gpserver.gp.features import FIELD_TYPES, GEOMETRY_TYPES, OID, FeatureSet, FieldDef
from gpserver.gp.geometry import orient_esri, reproject
from gpserver.gp.srs import SpatialReference

_P = ParamSpec("_P")
_R = TypeVar("_R")

POINT, MULTIPOINT, POLYLINE, POLYGON, ENVELOPE = GEOMETRY_TYPES

_GEOMETRY_TYPES = {t.lower(): t for t in GEOMETRY_TYPES}
_FIELD_TYPES = {t.lower(): t for t in FIELD_TYPES} | {"esrifieldtypelong": "esriFieldTypeInteger"}
_PARTS_KEY = {MULTIPOINT: "points", POLYLINE: "paths", POLYGON: "rings"}
_SHAPE_KEYS = (("x", POINT), ("points", MULTIPOINT), ("paths", POLYLINE), ("rings", POLYGON), ("xmin", ENVELOPE))
_CURVE_KEYS = {POLYLINE: "curvePaths", POLYGON: "curveRings"}
_EMPTY = {
    POINT: shapely.Point(),
    MULTIPOINT: shapely.MultiPoint(),
    POLYLINE: shapely.LineString(),
    POLYGON: shapely.Polygon(),
    ENVELOPE: shapely.Polygon(),
}
_ALLOWED_TYPE_IDS = {
    POINT: (0,),
    MULTIPOINT: (0, 4),
    POLYLINE: (1, 5),
    POLYGON: (3, 6),
    ENVELOPE: (0, 1, 2, 3, 4, 5, 6, 7),
}
# The same as a lookup table indexed by shapely type id + 1 (missing is -1): cheaper than np.isin.
_ALLOWED_MASK = {gtype: np.isin(np.arange(-1, 8), ids) for gtype, ids in _ALLOWED_TYPE_IDS.items()}
# Below this many geometries, per-geometry coordinate reads beat shapely.to_ragged_array, whose
# fixed cost (~0.5 ms) dominated a 1-feature execute.
_SMALL = 8
_NUMBER = (int, float)


class _MalformedError(Exception):
    """A precise reason why a value is not valid Esri JSON (turned into InvalidParameterError)."""


class GCPaused:
    """Pauses the cyclic garbage collector while many objects are built: ``with gc_paused():`` or
    ``@gc_paused()``.

    Creating 100,000 geometries or dicts triggers collections that traverse every object of the
    parsed request (millions of containers, none of them cyclic garbage): pausing halves decoding.
    A plain class: a generator-based context manager cost more than encoding one small geometry.
    """

    __slots__ = ("_paused",)

    def __init__(self) -> None:
        self._paused = False

    def __enter__(self) -> None:
        self._paused = gc.isenabled()
        if self._paused:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._paused:
            gc.enable()

    def keep(self, limit: float) -> Callable[[], None]:
        """Let the pause outlast the ``with`` block: the returned function ends it (calling it again
        does nothing), and it ends by itself ``limit`` seconds from now if nobody did (a missed call
        cannot leave the collector off). For objects built in the block that are freed later, by
        the caller: resumed first, the collector would traverse every one of them once for nothing
        (the parsed request of a 100,000-point submit: 15-21 ms; 0.4-0.8 ms at 10,000 points).

        A pause that did not stop the collector (it was already stopped) keeps nothing."""
        if not self._paused:
            return _nothing
        self._paused = False  # the block's end leaves the collector paused
        lock = threading.Lock()
        ended: list[bool] = []

        def resume() -> None:
            with lock:
                if ended:
                    return
                ended.append(True)
            timer.cancel()
            gc.enable()

        timer = threading.Timer(limit, resume)
        timer.daemon = True
        timer.start()
        return resume

    def __call__(self, fn: Callable[_P, _R]) -> Callable[_P, _R]:
        """``fn`` with the collector paused while it runs."""

        @functools.wraps(fn)
        def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with GCPaused():  # a pause of its own per call: calls may nest or run in several threads
                return fn(*args, **kwargs)

        return paused


def _nothing() -> None:
    pass


def gc_paused() -> GCPaused:
    """A :class:`GCPaused`."""
    return GCPaused()


# Large JSON values parsed while a request keeps its garbage (``keeping``) are handed to it, to be
# freed once the answer is sent: deallocating a parsed 10,000-point feature set (~60,000 objects)
# was ~4 ms of a ~30 ms execute. Past KEEP_BYTES of JSON they are freed as soon as decoded, to bound
# memory (a 100,000-point feature set parses into ~64 MB of objects), unless the request keeps them
# all (``Keeping(garbage, everything=True)``: a submit, which builds nothing large after validating).
KEEP_BYTES = 4 * 1024 * 1024
_GARBAGE: ContextVar[tuple[list[Any], bool] | None] = ContextVar("gpserver_garbage", default=None)


class Keeping:
    """``with Keeping(garbage):`` JSON of at most KEEP_BYTES (any size with ``everything``) parsed
    by :func:`loads` meanwhile is appended to ``garbage`` (which the caller clears after answering)
    instead of being freed by its decoder."""

    __slots__ = ("_kept", "_token")

    def __init__(self, garbage: list[Any], *, everything: bool = False) -> None:
        self._kept = (garbage, everything)

    def __enter__(self) -> None:
        self._token = _GARBAGE.set(self._kept)

    def __exit__(self, *exc: object) -> None:
        _GARBAGE.reset(self._token)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """``orjson.loads`` with the cyclic GC paused: a large feature set parses several times faster."""
    with gc_paused():
        value = orjson.loads(data)
    kept = _GARBAGE.get()
    if kept is not None and (kept[1] or len(data) <= KEEP_BYTES):
        kept[0].append(value)
    return value


def _invalid(param: str, detail: str) -> InvalidParameterError:
    return InvalidParameterError(f"Invalid value for '{param}'", details=[detail])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------------------------------
# decoding


def decode_geometry(
    obj: Any, *, geometry_type: str | None = None, param: str = "geometry"
) -> tuple[BaseGeometry | None, SpatialReference | None]:
    """One Esri JSON geometry and its own spatial reference (``None`` when it carries none)."""
    if obj is None:
        return None, None
    if not isinstance(obj, dict):
        raise _invalid(param, f"a geometry must be a JSON object, got {_short(obj)}")
    gtype = _geometry_type(geometry_type, param) if geometry_type is not None else _shape_of(obj)
    if gtype is None:
        raise _invalid(param, "the geometry has none of 'x', 'points', 'paths', 'rings' or 'xmin'")
    sr = _decode_sr(obj.get("spatialReference"), param)
    geoms, _, _, _ = decode_geometries(
        [obj], geometry_type=gtype, param=param, has_z=obj.get("hasZ"), has_m=obj.get("hasM"), where=param
    )
    geom = geoms[0]
    return (_EMPTY[gtype] if geom is None else geom), sr


@gc_paused()
def decode_geometries(
    objs: Sequence[Any],
    *,
    geometry_type: str,
    param: str,
    has_z: bool | None = None,
    has_m: bool | None = None,
    where: str = "geometries[{}]",
) -> tuple[np.ndarray, bool, bool, list[Any] | None]:
    """Many Esri JSON geometries of one type: (object array, has z, has m, per-feature m or None).

    ``has_z``/``has_m`` are the feature set's flags (they decide whether ``[x, y, v]`` holds z or m;
    when both are ``None`` the first geometry's own ``hasZ``/``hasM`` are used). ``where`` formats an
    index into the place named in error details.
    """
    gtype = _geometry_type(geometry_type, param)
    n = len(objs)
    out = np.empty(n, dtype=object)
    valid = list(filter(None, objs))
    if not valid:
        return out, bool(has_z), bool(has_m), None
    index = None if len(valid) == n else np.flatnonzero(np.fromiter(map(bool, objs), dtype=bool, count=n))
    if has_z is None and has_m is None and isinstance(valid[0], dict):
        has_z, has_m = bool(valid[0].get("hasZ")), bool(valid[0].get("hasM"))
    m_third = bool(has_m) and not bool(has_z)

    def locate(i: int) -> str:
        return where.format(int(i if index is None else index[i]))

    try:
        if gtype == POINT:
            geoms, coords_z, m_col = _decode_points(valid, locate)
            m_counts = None
        elif gtype == ENVELOPE:
            geoms, coords_z, m_col, m_counts = _decode_envelopes(valid, locate), False, None, None
        else:
            geoms, coords_z, m_col, m_counts = _decode_parts(valid, gtype, m_third, locate)
    except _MalformedError as exc:
        raise _invalid(param, str(exc)) from None
    if index is None:
        out[:] = geoms
    else:
        out[index] = geoms
    m_values: list[Any] | None = None
    if m_col is not None:
        if m_counts is None:
            per_geom = list(m_col.reshape(-1, 1))
        else:
            bounds = np.concatenate(([0], np.cumsum(m_counts))).tolist()
            per_geom = [m_col[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        if index is None:
            m_values = per_geom
        else:
            m_values = [None] * n
            for i, m in zip(index.tolist(), per_geom, strict=True):
                m_values[i] = m
    return out, coords_z or bool(has_z), m_col is not None or bool(has_m), m_values


def _decode_points(valid: list[Any], locate: Callable[[int], str]) -> tuple[np.ndarray, bool, np.ndarray | None]:
    try:
        xs = _column([g["x"] for g in valid])
        ys = _column([g["y"] for g in valid])
        zs = ms = None
        if max(map(len, valid)) > 2:  # some geometry has more than x and y: look for z and m
            zl = [g.get("z") for g in valid]
            ml = [g.get("m") for g in valid]
            zs = None if zl.count(None) == len(zl) else _column(zl)
            ms = None if ml.count(None) == len(ml) else _column(ml)
    except (_SlowPathError, KeyError, TypeError, AttributeError, ValueError):
        xs, ys, zs, ms = _points_slow(valid, locate)
    geoms = shapely.points(xs, ys, zs) if zs is not None else shapely.points(np.column_stack((xs, ys)))
    empty = np.isnan(xs)
    if empty.any():
        geoms[empty] = _EMPTY[POINT]
    return geoms, zs is not None, (None if ms is None else np.ascontiguousarray(ms, dtype=np.float64))


class _SlowPathError(Exception):
    """The fast path met something unusual; the checked path decides what it is."""


def _column(values: list[Any]) -> np.ndarray:
    arr = np.array(values)
    if arr.dtype.kind in "fi" and arr.ndim == 1:
        return arr.astype(np.float64, copy=False)
    raise _SlowPathError


def _points_slow(
    valid: list[Any], locate: Callable[[int], str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    n = len(valid)
    xs, ys = np.empty(n), np.empty(n)
    zs, ms = np.full(n, np.nan), np.full(n, np.nan)
    any_z = any_m = False
    for i, g in enumerate(valid):
        if not isinstance(g, dict):
            raise _MalformedError(f"{locate(i)} must be a JSON object, got {_short(g)}")
        if "x" not in g:
            raise _MalformedError(f"{locate(i)} has no 'x' (expected an esriGeometryPoint)")
        x, y = g["x"], g.get("y")
        if x is None or x == "NaN":
            xs[i] = ys[i] = np.nan
            continue
        xs[i], ys[i] = _number(x, f"{locate(i)}.x"), _number(y, f"{locate(i)}.y")
        for key, col in (("z", zs), ("m", ms)):
            value = g.get(key)
            if value is None:
                continue
            col[i] = _number(value, f"{locate(i)}.{key}")
            if key == "z":
                any_z = True
            else:
                any_m = True
    return xs, ys, (zs if any_z else None), (ms if any_m else None)


def _decode_envelopes(valid: list[Any], locate: Callable[[int], str]) -> np.ndarray:
    n = len(valid)
    bounds = np.full((n, 4), np.nan)
    for i, g in enumerate(valid):  # envelopes come one at a time (extents), never by the 100,000
        if not isinstance(g, dict):
            raise _MalformedError(f"{locate(i)} must be a JSON object, got {_short(g)}")
        if "xmin" not in g:
            raise _MalformedError(f"{locate(i)} has no 'xmin' (expected an esriGeometryEnvelope)")
        if g["xmin"] is None or g["xmin"] == "NaN":
            continue
        for j, key in enumerate(("xmin", "ymin", "xmax", "ymax")):
            bounds[i, j] = _number(g.get(key), f"{locate(i)}.{key}")
    geoms = np.asarray(
        shapely.box(
            np.minimum(bounds[:, 0], bounds[:, 2]),
            np.minimum(bounds[:, 1], bounds[:, 3]),
            np.maximum(bounds[:, 0], bounds[:, 2]),
            np.maximum(bounds[:, 1], bounds[:, 3]),
            ccw=False,
        ),
        dtype=object,
    )
    empty = np.isnan(bounds[:, 0])
    if empty.any():
        geoms[empty] = _EMPTY[POLYGON]
    return geoms


def _decode_parts(
    valid: list[Any], gtype: str, m_third: bool, locate: Callable[[int], str]
) -> tuple[np.ndarray, bool, np.ndarray | None, np.ndarray]:
    """Multipoints, polylines and polygons: (geometries, has z, m column or None, vertices per geometry)."""
    key = _PARTS_KEY[gtype]
    try:
        per_geom = [g[key] for g in valid]
        if gtype == MULTIPOINT:
            parts_per_geom = np.fromiter(map(len, per_geom), dtype=np.int64, count=len(per_geom))
            coords_list = list(chain.from_iterable(per_geom))
            part_lens = np.ones(len(coords_list), dtype=np.int64)
        else:
            parts = list(chain.from_iterable(per_geom))
            parts_per_geom = np.fromiter(map(len, per_geom), dtype=np.int64, count=len(per_geom))
            part_lens = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
            coords_list = list(chain.from_iterable(parts))
        coords = _coords_fast(coords_list)
    except (_SlowPathError, KeyError, TypeError, AttributeError, ValueError):
        coords, parts_per_geom, part_lens = _parts_slow(valid, gtype, locate)

    width = coords.shape[1]
    has_z = width == 4 or (width == 3 and not m_third)
    m_index = 3 if width == 4 else (2 if width == 3 and m_third else None)

    if not len(coords) and not len(part_lens):  # only empty geometries (shapely cannot build these)
        empty = np.empty(len(valid), dtype=object)
        empty[:] = [_EMPTY[gtype]] * len(valid)
        return empty, has_z, None if m_index is None else np.zeros(0), np.zeros(len(valid), dtype=np.int64)
    if gtype == MULTIPOINT:
        geoms, coords = _assemble_multipoints(coords, parts_per_geom, has_z), coords
        counts = parts_per_geom
    elif gtype == POLYLINE:
        geoms = _assemble_polylines(coords, parts_per_geom, part_lens, has_z, locate)
        counts = _per_geom_sum(part_lens, parts_per_geom)
    else:
        geoms, coords, part_lens = _assemble_polygons(coords, parts_per_geom, part_lens, has_z, locate)
        counts = _per_geom_sum(part_lens, parts_per_geom)
    m_col = None if m_index is None else np.ascontiguousarray(coords[:, m_index])
    return geoms, has_z, m_col, counts


def _coords_fast(coords_list: list[Any]) -> np.ndarray:
    """``[[x, y], ...]`` as an (n, w) float64 array, or _SlowPathError for anything unusual."""
    if not coords_list:
        return np.empty((0, 2))
    width = len(coords_list[0])
    flat = list(chain.from_iterable(coords_list))
    if len(flat) != width * len(coords_list) or not 2 <= width <= 4:
        raise _SlowPathError
    arr = np.array(flat)
    if arr.dtype.kind not in "fi":
        raise _SlowPathError
    return arr.astype(np.float64, copy=False).reshape(-1, width)


def _parts_slow(
    valid: list[Any], gtype: str, locate: Callable[[int], str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checked path: names the first malformed value precisely, pads mixed widths with NaN."""
    key = _PARTS_KEY[gtype]
    rows: list[list[float]] = []
    parts_per_geom: list[int] = []
    part_lens: list[int] = []
    width = 2
    for i, g in enumerate(valid):
        place = locate(i)
        if not isinstance(g, dict):
            raise _MalformedError(f"{place} must be a JSON object, got {_short(g)}")
        parts = g.get(key)
        if parts is None:
            curve = _CURVE_KEYS.get(gtype)
            if curve and curve in g:
                raise _MalformedError(f"{place}: true curves ('{curve}') are not supported; send '{key}'")
            raise _MalformedError(f"{place} has no '{key}' (expected an {gtype})")
        if not isinstance(parts, list):
            raise _MalformedError(f"{place}.{key} must be an array, got {_short(parts)}")
        if gtype == MULTIPOINT:
            parts = [[p] for p in parts]
            parts_per_geom.append(len(parts))
        else:
            parts_per_geom.append(len(parts))
        for j, part in enumerate(parts):
            if not isinstance(part, list):
                raise _MalformedError(f"{place}.{key}[{j}] must be an array of coordinates, got {_short(part)}")
            part_lens.append(len(part))
            for k, c in enumerate(part):
                at = f"{place}.{key}[{j}]" if gtype == MULTIPOINT else f"{place}.{key}[{j}][{k}]"
                rows.append(_checked_coordinate(c, at))
                width = max(width, len(c))
    arr = np.full((len(rows), width), np.nan)
    for r, row in enumerate(rows):
        arr[r, : len(row)] = row
    return arr, np.asarray(parts_per_geom, dtype=np.int64), np.asarray(part_lens, dtype=np.int64)


def _checked_coordinate(c: Any, at: str) -> list[float]:
    if not isinstance(c, list) or not 2 <= len(c) <= 4:
        raise _MalformedError(
            f"{at} must be a coordinate [x, y], [x, y, z], [x, y, m] or [x, y, z, m], got {_short(c)}"
        )
    row = []
    for axis, v in enumerate(c):
        if v is None and axis >= 2:
            row.append(np.nan)
        else:
            row.append(_number(v, f"{at}[{axis}]"))
    return row


def _number(value: Any, at: str) -> float:
    if isinstance(value, _NUMBER) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            pass
    raise _MalformedError(f"{at} must be a number, got {_short(value)}")


def _offsets(lens: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=out[1:])
    return out


def _per_geom_sum(part_values: np.ndarray, parts_per_geom: np.ndarray) -> np.ndarray:
    sums = np.zeros(len(parts_per_geom), dtype=np.int64)
    if len(part_values):
        owner = np.repeat(np.arange(len(parts_per_geom)), parts_per_geom)
        np.add.at(sums, owner, part_values)
    return sums


def _xy(coords: np.ndarray, has_z: bool) -> np.ndarray:
    return np.ascontiguousarray(coords[:, : 3 if has_z else 2])


def _assemble_multipoints(coords: np.ndarray, per_geom: np.ndarray, has_z: bool) -> np.ndarray:
    return np.asarray(shapely.from_ragged_array(GeometryType.MULTIPOINT, _xy(coords, has_z), (_offsets(per_geom),)))


def _assemble_polylines(
    coords: np.ndarray, per_geom: np.ndarray, path_lens: np.ndarray, has_z: bool, locate: Callable[[int], str]
) -> np.ndarray:
    short = np.flatnonzero(path_lens < 2)
    if len(short):
        geom, part = _owner(short[0], per_geom)
        raise _MalformedError(f"{locate(geom)}.paths[{part}] has {path_lens[short[0]]} point(s); a path needs 2")
    lines = np.asarray(shapely.from_ragged_array(GeometryType.LINESTRING, _xy(coords, has_z), (_offsets(path_lens),)))
    return _group_parts(lines, per_geom, POLYLINE)


def _group_parts(parts: np.ndarray, per_geom: np.ndarray, gtype: str) -> np.ndarray:
    """One geometry per feature from its parts: the part itself, a multi-geometry, or empty."""
    n = len(per_geom)
    out = np.empty(n, dtype=object)
    first = _offsets(per_geom)[:-1]
    single = per_geom == 1
    out[single] = parts[first[single]]
    out[per_geom == 0] = _EMPTY[gtype]
    multi = np.flatnonzero(per_geom > 1)
    if len(multi):
        owner = np.repeat(np.arange(n), per_geom)
        take = np.isin(owner, multi)
        compact = np.searchsorted(multi, owner[take])
        build = shapely.multilinestrings if gtype == POLYLINE else shapely.multipolygons
        out[multi] = build(parts[take], indices=compact)
    return out


def _owner(part: int, per_geom: np.ndarray) -> tuple[int, int]:
    offsets = _offsets(per_geom)
    geom = int(np.searchsorted(offsets, part, side="right") - 1)
    return geom, int(part - offsets[geom])


def _assemble_polygons(
    coords: np.ndarray, per_geom: np.ndarray, ring_lens: np.ndarray, has_z: bool, locate: Callable[[int], str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polygons from rings (closing open rings, giving holes to outer rings); returns the coords used."""
    short = np.flatnonzero(ring_lens < 3)
    if len(short):
        geom, part = _owner(short[0], per_geom)
        raise _MalformedError(f"{locate(geom)}.rings[{part}] has {ring_lens[short[0]]} point(s); a ring needs 3")
    starts = _offsets(ring_lens)[:-1]
    ends = starts + ring_lens - 1
    first_xy, last_xy = coords[starts, :2], coords[ends, :2]
    open_rings = np.flatnonzero(np.any(first_xy != last_xy, axis=1))
    if len(open_rings):
        coords = np.insert(coords, ends[open_rings] + 1, coords[starts[open_rings]], axis=0)
        ring_lens = ring_lens.copy()
        ring_lens[open_rings] += 1
        starts = _offsets(ring_lens)[:-1]
    degenerate = np.flatnonzero(ring_lens < 4)
    if len(degenerate):
        geom, part = _owner(degenerate[0], per_geom)
        raise _MalformedError(f"{locate(geom)}.rings[{part}] has fewer than 3 distinct points")

    n_rings = len(ring_lens)
    ring_geom = np.repeat(np.arange(len(per_geom)), per_geom)
    parent = np.arange(n_rings)  # the outer ring each ring belongs to (outer rings: themselves)
    is_hole = np.zeros(n_rings, dtype=bool)
    multi_ring = per_geom[ring_geom] > 1
    if multi_ring.any():
        _assign_holes(coords, starts, ring_lens, ring_geom, multi_ring, per_geom, parent, is_hole)
    order = np.lexsort((is_hole, parent))
    if not np.array_equal(order, np.arange(n_rings)):
        new_lens = ring_lens[order]
        new_starts = _offsets(new_lens)[:-1]
        gather = np.repeat(starts[order] - new_starts, new_lens) + np.arange(int(new_lens.sum()))
        coords, ring_lens, parent, is_hole = coords[gather], new_lens, parent[order], is_hole[order]
        ring_geom = ring_geom[order]
    outer = ~is_hole
    rings_per_part = np.diff(np.concatenate((np.flatnonzero(outer), [n_rings])))
    parts_per_geom = np.bincount(ring_geom[outer], minlength=len(per_geom))
    parts = np.asarray(
        shapely.from_ragged_array(
            GeometryType.POLYGON, _xy(coords, has_z), (_offsets(ring_lens), _offsets(rings_per_part))
        )
    )
    return _group_parts(parts, parts_per_geom, POLYGON), coords, ring_lens


def _assign_holes(
    coords: np.ndarray,
    starts: np.ndarray,
    ring_lens: np.ndarray,
    ring_geom: np.ndarray,
    multi_ring: np.ndarray,
    per_geom: np.ndarray,
    parent: np.ndarray,
    is_hole: np.ndarray,
) -> None:
    """Marks counter-clockwise rings as holes of the smallest clockwise ring that covers them."""
    rings = np.flatnonzero(multi_ring)
    area = _signed_areas(coords, starts[rings], ring_lens[rings])
    ccw = area > 0
    outer_count = np.bincount(ring_geom[rings][~ccw], minlength=len(per_geom))
    # features whose rings are all counter-clockwise keep them all as outer rings
    hole_rings = rings[ccw & (outer_count[ring_geom[rings]] > 0)]
    if not len(hole_rings):
        return
    outer_rings = rings[~ccw]
    hole_geom = ring_geom[hole_rings]
    one_outer = outer_count[hole_geom] == 1
    if one_outer.any():
        # the only outer ring of the feature: no geometry test needed
        first_outer = np.full(len(per_geom), -1)
        first_outer[ring_geom[outer_rings][::-1]] = outer_rings[::-1]
        simple = hole_rings[one_outer]
        parent[simple] = first_outer[ring_geom[simple]]
        is_hole[simple] = True
    hard = hole_rings[~one_outer]
    if not len(hard):
        return
    candidates = outer_rings[outer_count[ring_geom[outer_rings]] > 1]
    involved = np.concatenate((hard, candidates))
    polys = _ring_polygons(coords, starts[involved], ring_lens[involved])
    hole_polys, outer_polys = polys[: len(hard)], polys[len(hard) :]
    outer_area = -_signed_areas(coords, starts[candidates], ring_lens[candidates])
    tree = shapely.STRtree(outer_polys)
    for predicate in ("covered_by", "intersects"):
        todo = np.flatnonzero(~is_hole[hard])
        if not len(todo):
            break
        try:
            h, o = tree.query(hole_polys[todo], predicate=predicate)
        except shapely.errors.GEOSException:  # invalid rings: leave them as outer rings
            continue
        same = ring_geom[hard[todo[h]]] == ring_geom[candidates[o]]
        h, o = todo[h[same]], o[same]
        if not len(h):
            continue
        best = np.lexsort((outer_area[o], h))  # per hole, the smallest covering outer ring first
        h, o = h[best], o[best]
        keep = np.concatenate(([True], h[1:] != h[:-1]))
        parent[hard[h[keep]]] = candidates[o[keep]]
        is_hole[hard[h[keep]]] = True


def _signed_areas(coords: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Shoelace areas of closed rings (positive = counter-clockwise), relative to each ring's start."""
    idx = np.repeat(starts, lens) + (np.arange(int(lens.sum())) - np.repeat(_offsets(lens)[:-1], lens))
    origin = np.repeat(coords[starts, :2], lens, axis=0)
    xy = coords[idx, :2] - origin
    x, y = xy[:, 0], xy[:, 1]
    cross = np.zeros(len(x))
    cross[:-1] = x[:-1] * y[1:] - x[1:] * y[:-1]
    cross[_offsets(lens)[1:] - 1] = 0.0  # the step from a ring's last vertex to the next ring
    return np.add.reduceat(cross, _offsets(lens)[:-1]) / 2.0 if len(lens) else np.zeros(0)


def _ring_polygons(coords: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    idx = np.repeat(starts, lens) + (np.arange(int(lens.sum())) - np.repeat(_offsets(lens)[:-1], lens))
    xy = np.ascontiguousarray(coords[idx, :2])
    return np.asarray(shapely.from_ragged_array(GeometryType.POLYGON, xy, (_offsets(lens), np.arange(len(lens) + 1))))


@gc_paused()
def decode_feature_set(
    obj: Any, *, param: str, default: FeatureSet | None = None, require_geometry: bool = True
) -> FeatureSet:
    """A feature set (or, with ``require_geometry=False``, a record set) from parsed Esri JSON."""
    if not isinstance(obj, dict):
        raise _invalid(param, f"a feature set must be a JSON object, got {_short(obj)}")
    layer_def: dict[str, Any] = {}
    if "layers" in obj and "features" not in obj:
        layers = obj["layers"]
        if not isinstance(layers, list) or len(layers) != 1:
            raise _invalid(param, "a feature collection must hold exactly one layer")
        obj = layers[0]
        if not isinstance(obj, dict):
            raise _invalid(param, "layers[0] must be a JSON object")
    if "featureSet" in obj and "features" not in obj:
        layer_def = obj.get("layerDefinition") or {}
        obj = obj["featureSet"]
        if not isinstance(obj, dict) or not isinstance(layer_def, dict):
            raise _invalid(param, "'featureSet' and 'layerDefinition' must be JSON objects")
    if "features" not in obj and ("url" in obj or "itemID" in obj):
        raise _invalid(param, "a layer URL or item must be resolved before it is decoded")

    def pick(key: str, layer_key: str | None = None) -> Any:
        value = obj.get(key)
        return layer_def.get(layer_key or key) if value is None else value

    features = obj.get("features", [])
    if not isinstance(features, list):
        raise _invalid(param, f"'features' must be an array, got {_short(features)}")
    try:  # dict.get mapped over the features: a third faster than a comprehension calling f.get
        attributes: list[Any] = list(map(dict.get, features, repeat("attributes")))
        raw_geoms = list(map(dict.get, features, repeat("geometry"))) if require_geometry else []
    except TypeError:
        bad = next(i for i, f in enumerate(features) if not isinstance(f, dict))
        raise _invalid(param, f"features[{bad}] must be a JSON object, got {_short(features[bad])}") from None
    if not all(attributes):  # absent, null or empty: each such feature gets a dict of its own
        attributes = [a or {} for a in attributes]
    if attributes and set(map(type, attributes)) != {dict}:
        bad = next(i for i, a in enumerate(attributes) if not isinstance(a, dict))
        raise _invalid(param, f"features[{bad}].attributes must be a JSON object") from None

    fields = _decode_fields(pick("fields"), param)
    if fields is None:
        fields = list(default.fields) if default is not None and default.fields else _guess_fields(attributes)
    oid_name = pick("objectIdFieldName", "objectIdField")
    if isinstance(oid_name, str) and not any(f.type == OID for f in fields):
        fields = [
            FieldDef(f.name, OID, f.alias, f.length, f.nullable, f.editable) if f.name == oid_name else f
            for f in fields
        ]

    if not require_geometry:
        return FeatureSet(
            geometry_type=None,
            spatial_reference=None,
            fields=fields,
            geometries=np.full(len(features), None, dtype=object),
            attributes=attributes,
        )

    first = next((g for g in raw_geoms if g), None)
    raw_type = pick("geometryType")
    if raw_type is not None:
        gtype = _geometry_type(raw_type, param)
    else:
        shape = _shape_of(first) if isinstance(first, dict) else None
        gtype = shape or (default.geometry_type if default is not None and default.geometry_type else POINT)
    flag_z, flag_m = pick("hasZ"), pick("hasM")
    geoms, has_z, has_m, m_values = decode_geometries(
        raw_geoms,
        geometry_type=gtype,
        param=param,
        has_z=None if flag_z is None and flag_m is None else bool(flag_z),
        has_m=None if flag_z is None and flag_m is None else bool(flag_m),
        where="features[{}].geometry",
    )
    raw_sr = pick("spatialReference")
    if raw_sr is None:
        extent = layer_def.get("extent")
        raw_sr = extent.get("spatialReference") if isinstance(extent, dict) else None
    sr = _decode_sr(raw_sr, param)
    if first is not None:
        geoms, geom_sr = _honour_geometry_srs(geoms, raw_geoms, sr, param)
        sr = sr or geom_sr
    if sr is None and default is not None:
        sr = default.spatial_reference
    return FeatureSet(
        geometry_type=POLYGON if gtype == ENVELOPE else gtype,
        spatial_reference=sr,
        fields=fields,
        geometries=geoms,
        attributes=attributes,
        has_z=has_z,
        has_m=has_m,
        m_values=m_values,
    )


def _honour_geometry_srs(
    geoms: np.ndarray, raw_geoms: list[Any], sr: SpatialReference | None, param: str
) -> tuple[np.ndarray, SpatialReference | None]:
    """Reprojects geometries that carry their own spatial reference to the set's (or the first one's)."""
    valid = list(filter(None, raw_geoms))
    if max(map(len, valid)) <= (2 if "x" in valid[0] else 1):  # only coordinates: no geometry has an SR
        return geoms, sr
    raw_srs = [g.get("spatialReference") for g in valid]
    if raw_srs.count(None) == len(raw_srs):
        return geoms, sr
    with_sr = [i for i, g in enumerate(raw_geoms) if g and g.get("spatialReference") is not None]
    first_raw = raw_geoms[with_sr[0]]["spatialReference"]
    if sr is None:
        sr = _decode_sr(first_raw, param)
    differing = [i for i in with_sr if raw_geoms[i]["spatialReference"] != first_raw]
    groups: dict[bytes, list[int]] = {}
    if sr is not None and not sr.same_as(_decode_sr(first_raw, param)):
        differing = with_sr
    for i in differing:
        groups.setdefault(orjson.dumps(raw_geoms[i]["spatialReference"], option=orjson.OPT_SORT_KEYS), []).append(i)
    if groups and sr is not None:
        geoms = geoms.copy()
        for members in groups.values():
            own = _decode_sr(raw_geoms[members[0]]["spatialReference"], param)
            if own is not None and not own.same_as(sr):
                geoms[members] = reproject(geoms[members], own, sr)
    return geoms, sr


def _decode_sr(value: Any, param: str) -> SpatialReference | None:
    if value is None or value == {}:
        return None
    try:
        return SpatialReference.from_json(value, param=param)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"Invalid value for '{param}'", details=exc.details) from None


def _geometry_type(value: Any, param: str) -> str:
    gtype = _GEOMETRY_TYPES.get(value.lower()) if isinstance(value, str) else None
    if gtype is None:
        raise _invalid(param, f"unknown geometryType {_short(value)}; expected one of {', '.join(GEOMETRY_TYPES)}")
    return gtype


def _shape_of(geometry: dict[str, Any]) -> str | None:
    return next((gtype for key, gtype in _SHAPE_KEYS if key in geometry), None)


def _decode_fields(value: Any, param: str) -> list[FieldDef] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _invalid(param, f"'fields' must be an array, got {_short(value)}")
    fields = []
    for i, f in enumerate(value):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
            raise _invalid(param, f"fields[{i}] must be an object with a 'name'")
        ftype = _FIELD_TYPES.get(f["type"].lower()) if isinstance(f.get("type"), str) else None
        if ftype is None:
            raise _invalid(param, f"fields[{i}] ('{f['name']}') has an unknown type {_short(f.get('type'))}")
        alias, length = f.get("alias"), f.get("length")
        nullable, editable = f.get("nullable"), f.get("editable")
        fields.append(
            FieldDef(
                name=f["name"],
                type=ftype,
                alias=alias if isinstance(alias, str) else None,
                length=length if isinstance(length, int) and not isinstance(length, bool) else None,
                nullable=nullable if isinstance(nullable, bool) else None,
                editable=editable if isinstance(editable, bool) else None,
            )
        )
    return fields


def _guess_fields(attributes: list[dict[str, Any]]) -> list[FieldDef]:
    """Fields for attributes that came without a schema: one per key, typed from its values."""
    names = list(dict.fromkeys(chain.from_iterable(attributes)))
    fields = []
    for name in names:
        kinds = {type(a.get(name)) for a in attributes} - {type(None)}
        if name.lower() == "objectid" and kinds <= {int}:
            ftype = OID
        elif kinds and kinds <= {bool}:
            ftype = "esriFieldTypeSmallInteger"
        elif kinds and kinds <= {int, bool}:
            values = [a.get(name) for a in attributes]
            small = all(v is None or -(2**31) <= v < 2**31 for v in values)
            ftype = "esriFieldTypeInteger" if small else "esriFieldTypeBigInteger"
        elif kinds and kinds <= {int, float, bool}:
            ftype = "esriFieldTypeDouble"
        else:
            ftype = "esriFieldTypeString"
        fields.append(FieldDef(name=name, type=ftype, alias=name))
    return fields


# --------------------------------------------------------------------------------------------------
# encoding


def encode_geometry(
    geom: BaseGeometry | None, *, geometry_type: str, has_z: bool = False, has_m: bool = False
) -> dict[str, Any] | None:
    """One geometry as Esri JSON (no spatialReference; ``hasZ``/``hasM`` flags when set)."""
    if geom is None:
        return None
    out = encode_geometries(np.array([geom], dtype=object), geometry_type=geometry_type, has_z=has_z, has_m=has_m)[0]
    if out is not None and _geometry_type(geometry_type, "geometryType") not in (POINT, ENVELOPE):
        if has_z:
            out["hasZ"] = True
        if has_m:
            out["hasM"] = True
    return out


@gc_paused()
def encode_geometries(
    geoms: np.ndarray,
    *,
    geometry_type: str,
    has_z: bool = False,
    has_m: bool = False,
    m_values: list[Any] | None = None,
) -> list[dict[str, Any] | None]:
    """Esri JSON for many geometries (``None`` stays ``None``); coordinate arrays are numpy views."""
    gtype = _geometry_type(geometry_type, "geometryType")
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    present = ~shapely.is_missing(geoms)
    all_present = bool(present.all())
    sub = geoms if all_present else geoms[present]
    sub = _coerce(sub, gtype)
    if gtype == POLYGON and len(sub):
        sub = orient_esri(sub)
    m_col = _m_column(sub, gtype, m_values, present, all_present) if has_m else None
    if not len(sub):
        encoded: list[dict[str, Any] | None] = []
    elif gtype == POINT:
        encoded = _encode_points(sub, has_z, m_col)
    elif gtype == ENVELOPE:
        encoded = _encode_envelopes(sub)
    elif len(sub) <= _SMALL and m_col is None:
        encoded = [_encode_small(g, gtype, has_z) for g in sub]
    else:
        encoded = _encode_parts(sub, gtype, has_z, m_col)
    if all_present:
        return encoded
    out: list[dict[str, Any] | None] = [None] * n
    for i, value in zip(np.flatnonzero(present).tolist(), encoded, strict=True):
        out[i] = value
    return out


def _coerce(geoms: np.ndarray, gtype: str) -> np.ndarray:
    """Geometries of the kinds ``gtype`` can hold (tools may return collections or lower dimensions)."""
    type_ids = shapely.get_type_id(geoms)
    wrong = ~_ALLOWED_MASK[gtype][type_ids + 1]
    if not wrong.any():
        return geoms
    geoms = geoms.copy()
    for i in np.flatnonzero(wrong).tolist():
        geoms[i] = _coerce_one(geoms[i], gtype)
    return geoms


def _coerce_one(geom: BaseGeometry, gtype: str) -> BaseGeometry:
    if gtype == POINT:
        return _EMPTY[POINT] if geom.is_empty else shapely.point_on_surface(geom)
    if gtype == MULTIPOINT:
        return shapely.multipoints(shapely.get_coordinates(geom, include_z=bool(shapely.has_z(geom))))
    flat = _flat_parts(geom)
    if gtype == POLYLINE:
        lines = [
            shapely.LineString(p.coords) if p.geom_type == "LinearRing" else p
            for p in flat
            if p.geom_type in ("LineString", "LinearRing")
        ]
        lines += [ring for p in flat if p.geom_type == "Polygon" for ring in _rings_as_lines(p)]
        return _EMPTY[POLYLINE] if not lines else lines[0] if len(lines) == 1 else shapely.MultiLineString(lines)
    polys = [p for p in flat if p.geom_type == "Polygon"]
    return _EMPTY[POLYGON] if not polys else polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _flat_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    parts = list(shapely.get_parts(geom))
    if any(p.geom_type.startswith("Multi") or p.geom_type == "GeometryCollection" for p in parts):
        return [q for p in parts for q in _flat_parts(p)]
    return parts


def _rings_as_lines(poly: BaseGeometry) -> list[BaseGeometry]:
    return [shapely.LineString(r.coords) for r in shapely.get_rings(poly)]


def _m_column(
    sub: np.ndarray, gtype: str, m_values: list[Any] | None, present: np.ndarray, all_present: bool
) -> np.ndarray:
    """One m per vertex of ``sub`` in coordinate order; NaN where the m values no longer fit."""
    counts = np.ones(len(sub), dtype=np.int64) if gtype == POINT else shapely.get_num_coordinates(sub)
    if gtype == ENVELOPE or m_values is None:
        return np.full(int(counts.sum()), np.nan)
    ms = m_values if all_present else [m_values[i] for i in np.flatnonzero(present).tolist()]
    pieces = []
    for m, count in zip(ms, counts.tolist(), strict=True):
        arr = np.asarray(m if m is not None else (), dtype=np.float64).reshape(-1)
        pieces.append(arr if len(arr) == count else np.full(count, np.nan))
    return np.concatenate(pieces) if pieces else np.zeros(0)


def _encode_points(sub: np.ndarray, has_z: bool, m_col: np.ndarray | None) -> list[dict[str, Any] | None]:
    _, coords, _ = shapely.to_ragged_array(sub, include_z=has_z)
    xs, ys = coords[:, 0].tolist(), coords[:, 1].tolist()
    if not has_z and m_col is None:
        return [{"x": x, "y": y} for x, y in zip(xs, ys, strict=True)]
    zs = coords[:, 2].tolist() if has_z else None
    ms = m_col.tolist() if m_col is not None else None
    out: list[dict[str, Any] | None] = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        point: dict[str, Any] = {"x": x, "y": y}
        if zs is not None:
            point["z"] = zs[i]
        if ms is not None:
            point["m"] = ms[i]
        out.append(point)
    return out


def _encode_envelopes(sub: np.ndarray) -> list[dict[str, Any] | None]:
    bounds = shapely.bounds(sub).tolist()
    return [{"xmin": b[0], "ymin": b[1], "xmax": b[2], "ymax": b[3]} for b in bounds]


def _encode_small(geom: BaseGeometry, gtype: str, has_z: bool) -> dict[str, Any]:
    """One multipoint, polyline or polygon read part by part (few geometries: no ragged array)."""
    key = _PARTS_KEY[gtype]
    if shapely.is_empty(geom):
        return {key: []}
    if gtype == MULTIPOINT:
        return {key: shapely.get_coordinates(geom, include_z=has_z)}
    if gtype == POLYGON and geom.geom_type == "Polygon" and not shapely.get_num_interior_rings(geom):
        return {key: [shapely.get_coordinates(geom, include_z=has_z)]}  # the one ring, read at once
    parts = shapely.get_parts(geom)
    if gtype == POLYLINE:
        return {key: [shapely.get_coordinates(p, include_z=has_z) for p in parts]}
    rings = [r for p in parts for r in shapely.get_rings(p)]
    return {key: [shapely.get_coordinates(r, include_z=has_z) for r in rings]}


def _encode_parts(sub: np.ndarray, gtype: str, has_z: bool, m_col: np.ndarray | None) -> list[dict[str, Any] | None]:
    rtype, coords, offsets = shapely.to_ragged_array(sub, include_z=has_z)
    coords = np.asarray(coords, dtype=np.float64)
    if m_col is not None:
        if rtype == GeometryType.POINT:  # empty points hold a NaN row in the ragged array
            full = np.full(len(sub), np.nan)
            full[~shapely.is_empty(sub)] = m_col
            m_col = full
        coords = np.column_stack((coords, m_col))
    coords = np.ascontiguousarray(coords)
    key = _PARTS_KEY[gtype]
    if rtype == GeometryType.POINT:  # a multipoint set holding only points: one row per point
        empty = shapely.is_empty(sub).tolist()
        return [{key: coords[i : i if e else i + 1]} for i, e in enumerate(empty)]
    if rtype == GeometryType.LINESTRING:  # a polyline set holding only single paths
        bounds = np.asarray(offsets[0]).tolist()
        return [{key: [coords[a:b]] if b > a else []} for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    if rtype == GeometryType.MULTIPOINT:
        bounds_list = np.asarray(offsets[0]).tolist()
        return [{key: coords[a:b]} for a, b in zip(bounds_list[:-1], bounds_list[1:], strict=True)]
    part_bounds = np.asarray(offsets[0]).tolist()
    parts = [coords[a:b] for a, b in zip(part_bounds[:-1], part_bounds[1:], strict=True)]
    geom_offsets = np.asarray(offsets[-1])
    if rtype == GeometryType.MULTIPOLYGON:  # polygon -> ring offsets first
        geom_offsets = np.asarray(offsets[1])[geom_offsets]
    geom_bounds = geom_offsets.tolist()
    return [{key: parts[a:b]} for a, b in zip(geom_bounds[:-1], geom_bounds[1:], strict=True)]


@gc_paused()
def encode_feature_set(
    fs: FeatureSet,
    *,
    out_sr: SpatialReference | None = None,
    return_z: bool = False,
    return_m: bool = False,
    max_records: int | None = None,
    feature_collection: bool = False,
) -> dict[str, Any]:
    """The GP output value of a feature set (or record set), optionally as a feature collection."""
    gtype = fs.geometry_type
    sr = fs.spatial_reference
    with_z, with_m = return_z and fs.has_z, return_m and fs.has_m
    exceeded = max_records is not None and len(fs) > max_records
    out: dict[str, Any] = {"displayFieldName": ""}
    if gtype is not None:
        out["geometryType"] = gtype
        if out_sr is not None and sr is not None and not sr.same_as(out_sr):
            geoms = reproject(fs.geometries, sr, out_sr)
            sr = out_sr
        else:
            geoms = fs.geometries
            sr = sr or out_sr
        if sr is not None:
            out["spatialReference"] = sr.to_json()
        if with_z:
            out["hasZ"] = True
        if with_m:
            out["hasM"] = True
    fields = [f.to_json() for f in fs.fields]
    out["fields"] = fields
    if exceeded:
        features: list[dict[str, Any]] = []
    elif gtype is None:
        features = [{"attributes": a} for a in fs.attributes]
    else:
        encoded = encode_geometries(geoms, geometry_type=gtype, has_z=with_z, has_m=with_m, m_values=fs.m_values)
        features = [
            {"attributes": a, "geometry": g} if g is not None else {"attributes": a}
            for a, g in zip(fs.attributes, encoded, strict=True)
        ]
    out["features"] = features
    out["exceededTransferLimit"] = exceeded
    if not feature_collection:
        return out
    layer: dict[str, Any] = {"name": "", "type": "Feature Layer" if gtype else "Table"}
    if gtype is not None:
        layer["geometryType"] = gtype
    layer["objectIdField"] = fs.oid_field or ""
    layer["fields"] = fields
    if gtype is not None:
        layer["drawingInfo"] = {"renderer": simple_renderer(gtype)}
    layer["templates"] = []
    return {"layerDefinition": layer, "featureSet": out}


def simple_renderer(geometry_type: str) -> dict[str, Any]:
    """A simple renderer (one symbol) fitting the geometry type."""
    line = {"type": "esriSLS", "style": "esriSLSSolid", "color": [0, 112, 255, 255], "width": 1.5}
    if geometry_type in (POINT, MULTIPOINT):
        symbol: dict[str, Any] = {
            "type": "esriSMS",
            "style": "esriSMSCircle",
            "color": [0, 112, 255, 255],
            "size": 6,
            "angle": 0,
            "xoffset": 0,
            "yoffset": 0,
            "outline": {"type": "esriSLS", "style": "esriSLSSolid", "color": [255, 255, 255, 255], "width": 0.75},
        }
    elif geometry_type == POLYLINE:
        symbol = line
    else:
        symbol = {"type": "esriSFS", "style": "esriSFSSolid", "color": [0, 112, 255, 64], "outline": line}
    return {"type": "simple", "symbol": symbol, "label": "", "description": ""}
