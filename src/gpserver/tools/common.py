"""Helpers shared by built-in tools: schemas, object ids, linear-unit conversion."""

from __future__ import annotations

from typing import Any

import numpy as np

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import OID, FeatureSet, FieldDef
from gpserver.gp.srs import SpatialReference

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
    extra: dict[str, list[Any] | np.ndarray] | None = None,
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
