"""Statistics fields shared by Dissolve and SummarizeWithin: ``"FIELD STAT"`` specs, pandas group-bys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.tools.expressions import field_kind

DOUBLE, INTEGER, STRING = "esriFieldTypeDouble", "esriFieldTypeInteger", "esriFieldTypeString"
STATISTICS = ("SUM", "MEAN", "MIN", "MAX", "RANGE", "STD", "COUNT", "FIRST", "LAST", "MEDIAN", "VARIANCE",
              "UNIQUE", "CONCATENATE")  # fmt: skip
_NUMERIC_ONLY = {"SUM", "MEAN", "RANGE", "STD", "MEDIAN", "VARIANCE"}


@dataclass(frozen=True, slots=True)
class Statistic:
    """One requested statistic: the source field, the statistic and the output field."""

    field: FieldDef
    stat: str
    out: FieldDef


def parse_statistics(specs: list[str], fs: FeatureSet, param: str, *, prefix_case: str = "upper") -> list[Statistic]:
    """``["POP SUM", "AREA MEAN"]`` (also ``POP:SUM``) -> statistics with ArcGIS output names (``SUM_POP``)."""
    out: list[Statistic] = []
    for spec in specs:
        parts = spec.replace(":", " ").split()
        if len(parts) != 2:
            raise ToolExecutionError(f"Invalid value for '{param}': '{spec}' is not 'FIELD STATISTIC'")
        name, stat = parts[0], parts[1].upper()
        if stat == "STDDEV":
            stat = "STD"
        field = fs.field(name)
        if field is None:
            raise ToolExecutionError(f"Invalid value for '{param}': field '{name}' does not exist")
        if stat not in STATISTICS:
            raise ToolExecutionError(
                f"Invalid value for '{param}': unknown statistic '{stat}'; use {', '.join(STATISTICS)}"
            )
        kind = field_kind(field.type)
        if stat in _NUMERIC_ONLY and kind != "number":
            raise ToolExecutionError(f"Invalid value for '{param}': {stat} needs a numeric field, {field.name} is not")
        label = stat if prefix_case == "upper" else stat.lower()
        out_name = f"{label}_{field.name}"
        if stat == "COUNT" or stat == "UNIQUE":
            out_type = INTEGER
        elif stat == "CONCATENATE":
            out_type = STRING
        elif stat in ("MIN", "MAX", "FIRST", "LAST"):
            out_type = field.type if field.type != "esriFieldTypeOID" else INTEGER
        else:
            out_type = DOUBLE
        out.append(Statistic(field, stat, FieldDef(out_name, out_type, out_name)))
    return out


def compute(stats: list[Statistic], fs: FeatureSet, rows: np.ndarray, groups: np.ndarray, n: int,
            weights: np.ndarray | None = None, separator: str = "") -> list[tuple[FieldDef, list[Any]]]:  # fmt: skip
    """Each statistic per group (``rows[k]`` of ``fs`` belongs to ``groups[k]``; ``n`` groups).

    With ``weights`` (the share of each row inside its group's polygon), SUM is proportional and MEAN
    is weighted, as SummarizeWithin does for lines and polygons.
    """
    columns: list[tuple[FieldDef, list[Any]]] = []
    for st in stats:
        raw = [fs.attributes[r].get(st.field.name) for r in rows.tolist()]
        values = pd.Series(raw, dtype=object)
        if field_kind(st.field.type) == "number":
            values = pd.to_numeric(values, errors="coerce")
        frame = pd.DataFrame({"g": groups, "v": values, "w": weights if weights is not None else 1.0})
        grouped = frame.groupby("g")["v"]
        if st.stat == "SUM":
            result = (frame["v"] * frame["w"]).groupby(frame["g"]).sum(min_count=1)
        elif st.stat == "MEAN" and weights is not None:
            ok = frame["v"].notna()
            num = (frame["v"] * frame["w"])[ok].groupby(frame["g"][ok]).sum()
            den = frame["w"][ok].groupby(frame["g"][ok]).sum()
            result = num / den.where(den > 0)
        elif st.stat == "RANGE":
            result = grouped.max() - grouped.min()
        elif st.stat == "CONCATENATE":
            result = grouped.agg(lambda s: separator.join(str(x) for x in s if x is not None and not pd.isna(x)))
        elif st.stat == "UNIQUE":
            result = grouped.nunique()
        elif st.stat in ("FIRST", "LAST"):
            result = grouped.first(skipna=False) if st.stat == "FIRST" else grouped.last(skipna=False)
        else:
            method = {"MEAN": "mean", "MIN": "min", "MAX": "max", "STD": "std", "COUNT": "count",
                      "MEDIAN": "median", "VARIANCE": "var"}[st.stat]  # fmt: skip
            result = grouped.agg(method) if st.stat not in ("STD", "VARIANCE") else grouped.agg(method, ddof=0)
        full = result.reindex(range(n))
        if st.stat in ("COUNT", "UNIQUE"):
            full = full.fillna(0)
        columns.append((st.out, [_plain(v) for v in full.tolist()]))
    return columns


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
