"""PointsToLine: lines from ordered points (ArcGIS Data Management toolbox).

Points are grouped by ``Line_Field`` and ordered by ``Sort_Field`` (else by object id); all lines
are built in one ``shapely.linestrings`` call. Planar: vertices are joined in the input's reference.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import shapely

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.tools.common import POINT, POLYLINE, build, oids, present, require_sr


class PointsToLineInputs(GPInputs):
    """PointsToLine inputs (ArcGIS Pro names and order)."""

    Input_Features: Annotated[FeatureSet, Input("Input Features", "The points to connect.", geometry=(POINT,))]
    Line_Field: Annotated[str | None, Input("Line Field", "Each value of this field makes one line.")] = None
    Sort_Field: Annotated[str | None, Input("Sort Field", "Points are connected in ascending order of this field.")] = (
        None
    )
    Close_Line: Annotated[bool, Input("Close Line", "Join each line's last point back to its first.")] = False
    Line_Construction_Method: Annotated[
        Literal["CONTINUOUS", "TWO_POINT"], Input("Line Construction Method", "One line, or one per point pair.")
    ] = "CONTINUOUS"


class PointsToLineOutputs(GPOutputs):
    """PointsToLine outputs."""

    Output_Feature_Class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYLINE)]


class PointsToLine(Tool[PointsToLineInputs, PointsToLineOutputs]):
    """Creates line features from points."""

    name = "PointsToLine"
    bounded = True
    category = "Data Management"
    order = ("Input_Features", "Output_Feature_Class", "Line_Field", "Sort_Field", "Close_Line",
             "Line_Construction_Method")  # fmt: skip

    def run(self, inputs: PointsToLineInputs, ctx: ToolContext) -> PointsToLineOutputs:
        """Sort by (line, order), then build every line from one coordinate array."""
        fs = inputs.Input_Features
        sr = require_sr(fs, "Input_Features")
        keep = present(fs.geometries)
        if len(keep) < len(fs):
            ctx.warning(f"{len(fs) - len(keep)} points without geometry were skipped")
        line_field = _field(fs, inputs.Line_Field, "Line_Field")
        sort_field = _field(fs, inputs.Sort_Field, "Sort_Field")
        rows = keep.tolist()
        line_values = [fs.attributes[r].get(line_field.name) for r in rows] if line_field else [None] * len(rows)
        codes, labels = pd.factorize(pd.Series(line_values, dtype=object), use_na_sentinel=False)
        ids = oids(fs)
        order_key = [fs.attributes[r].get(sort_field.name) for r in rows] if sort_field else [ids[r] for r in rows]
        sort_values = pd.Series(order_key, dtype=object)
        rank = pd.Series(sort_values).rank(method="first", na_option="bottom").to_numpy() if len(rows) else np.zeros(0)
        order = np.lexsort((rank, codes))
        xy = shapely.get_coordinates(fs.geometries[keep][order])
        groups = np.asarray(codes)[order]
        lines, owners = _assemble(xy, groups, inputs.Close_Line, inputs.Line_Construction_Method == "TWO_POINT")
        if len(set(owners.tolist())) < len(labels):
            ctx.warning("Lines with fewer than two points were skipped")
        columns: list[tuple[FieldDef, list[Any]]] = []
        if line_field is not None:
            columns.append((line_field, [None if pd.isna(labels[o]) else labels[o] for o in owners.tolist()]))
        ctx.message(f"Created {len(lines)} lines from {len(rows)} points")
        return PointsToLineOutputs(Output_Feature_Class=build(POLYLINE, sr, lines, columns))


def _field(fs: FeatureSet, name: str | None, param: str) -> FieldDef | None:
    if not name:
        return None
    field = fs.field(name)
    if field is None:
        raise ToolExecutionError(f"ERROR 000728: Field {name} does not exist within table ({param})")
    return field


def _assemble(xy: np.ndarray, groups: np.ndarray, close: bool, two_point: bool) -> tuple[np.ndarray, np.ndarray]:
    """Lines from sorted coordinates: one per group (or one per consecutive pair), and each line's group."""
    if not len(xy):
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.intp)
    keys, starts, counts = np.unique(groups, return_index=True, return_counts=True)
    if two_point:
        same = groups[1:] == groups[:-1]
        pair = np.flatnonzero(same)
        segs = np.stack([xy[pair], xy[pair + 1]], axis=1)
        return np.asarray(shapely.linestrings(segs), dtype=object), groups[pair]
    ok = counts >= 2
    keys, starts, counts = keys[ok], starts[ok], counts[ok]
    parts = [np.arange(s, s + c) for s, c in zip(starts, counts, strict=True)]
    coords = xy[np.concatenate(parts).astype(np.intp) if parts else np.zeros(0, dtype=np.intp)]
    index = np.repeat(np.arange(len(keys)), counts)
    if close:
        coords = np.concatenate([coords, xy[starts]])
        index = np.concatenate([index, np.arange(len(keys))])
        order = np.argsort(index, kind="stable")
        coords, index = coords[order], index[order]
    lines = shapely.linestrings(coords, indices=index) if len(keys) else np.zeros(0, dtype=object)
    return np.asarray(lines, dtype=object), keys
