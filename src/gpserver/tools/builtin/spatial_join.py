"""SpatialJoin: join attributes from one feature set to another by location (ArcGIS Analysis toolbox).

Output fields follow ArcGIS: ``Join_Count``, ``TARGET_FID`` (and ``JOIN_FID`` one-to-many), the
target's fields, then the join features' fields (first match, as the default field map's "First"
merge rule; clashing names get ``_1``). Distances are planar in projected references and geodesic in
geographic ones or with ``*_GEODESIC`` options.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import shapely

from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.geometry import reproject
from gpserver.gp.srs import SpatialReference
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import LinearUnit
from gpserver.tools.common import (
    ALL_GEOMETRIES,
    build,
    data_fields,
    linear_meters,
    local_reference,
    oids,
    present,
    sr_unit_meters,
    unique_name,
)
from gpserver.tools.overlay import prepare
from gpserver.tools.relate import Relation, geodesic_distance, pairs

INTEGER = "esriFieldTypeInteger"
MatchOption = Relation | Literal["CLOSEST", "CLOSEST_GEODESIC"]


class SpatialJoinInputs(GPInputs):
    """SpatialJoin inputs (ArcGIS Pro names and order)."""

    target_features: Annotated[
        FeatureSet, Input("Target Features", "The features that receive attributes.", geometry=ALL_GEOMETRIES)
    ]
    join_features: Annotated[FeatureSet, Input("Join Features", "The features whose attributes are joined.")]
    join_operation: Annotated[
        Literal["JOIN_ONE_TO_ONE", "JOIN_ONE_TO_MANY"],
        Input("Join Operation", "ONE_TO_ONE: one row per target (first match); ONE_TO_MANY: one row per match."),
    ] = "JOIN_ONE_TO_ONE"
    join_type: Annotated[
        Literal["KEEP_ALL", "KEEP_COMMON"], Input("Keep All Target Features", "KEEP_COMMON drops unmatched targets.")
    ] = "KEEP_ALL"
    match_option: Annotated[MatchOption, Input("Match Option", "The spatial relationship that makes a match.")] = (
        "INTERSECT"
    )
    search_radius: Annotated[LinearUnit | None, Input("Search Radius", "For distance options and CLOSEST.")] = None
    distance_field_name: Annotated[
        str | None, Input("Distance Field Name", "A field for the distance to the match (CLOSEST options).")
    ] = None


class SpatialJoinOutputs(GPOutputs):
    """SpatialJoin outputs."""

    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class")]


class SpatialJoin(Tool[SpatialJoinInputs, SpatialJoinOutputs]):
    """Joins attributes from one feature set to another based on their spatial relationship."""

    name = "SpatialJoin"
    bounded = True
    category = "Analysis"
    order = ("target_features", "join_features", "out_feature_class", "join_operation", "join_type",
             "match_option", "search_radius", "distance_field_name")  # fmt: skip

    def run(self, inputs: SpatialJoinInputs, ctx: ToolContext) -> SpatialJoinOutputs:
        """Find matching pairs in one bulk query, then assemble rows."""
        target = prepare(inputs.target_features, None, ctx, "target_features")
        sr = target.spatial_reference
        assert sr is not None
        join = prepare(inputs.join_features, sr, ctx, "join_features")
        meters = linear_meters(inputs.search_radius, sr, "search_radius")
        option = inputs.match_option
        dist: np.ndarray | None = None
        if option.startswith("CLOSEST"):
            i, j, dist = _closest(target.geometries, join.geometries, sr, meters, option == "CLOSEST_GEODESIC")
        else:
            i, j = pairs(target.geometries, join.geometries, option, sr, meters)
        counts = np.bincount(i, minlength=len(target))
        if inputs.join_operation == "JOIN_ONE_TO_ONE":
            first = np.full(len(target), -1, dtype=np.intp)
            targets, at = np.unique(i, return_index=True)  # pairs are ordered by target: each one's first match
            first[targets] = j[at]
            rows, matches = np.arange(len(target)), first
            if dist is not None:
                best = np.full(len(target), np.nan)
                best[targets] = dist[at]
                dist = best
        else:
            unmatched = np.flatnonzero(counts == 0)
            rows = np.concatenate([i, unmatched])
            matches = np.concatenate([j, np.full(len(unmatched), -1, dtype=np.intp)])
            order = np.argsort(rows, kind="stable")
            rows, matches = rows[order], matches[order]
            if dist is not None:
                dist = np.concatenate([dist, np.full(len(unmatched), np.nan)])[order]
        if inputs.join_type == "KEEP_COMMON":
            keep = matches >= 0
            rows, matches = rows[keep], matches[keep]
            dist = dist[keep] if dist is not None else None
        columns = _columns(target, join, rows, matches, counts, inputs.join_operation == "JOIN_ONE_TO_MANY")
        if inputs.distance_field_name and dist is not None:
            name = unique_name(inputs.distance_field_name, {f.name for f, _ in columns})
            values = [None if np.isnan(d) else float(d) for d in dist.tolist()]
            columns.append((FieldDef(name, "esriFieldTypeDouble", name), values))
        ctx.message(f"{int((counts > 0).sum())} of {len(target)} target features have a match")
        out = build(target.geometry_type, sr, target.geometries[rows], columns)
        return SpatialJoinOutputs(out_feature_class=out)


def _columns(target: FeatureSet, join: FeatureSet, rows: np.ndarray, matches: np.ndarray, counts: np.ndarray,
             many: bool) -> list[tuple[FieldDef, list[Any]]]:  # fmt: skip
    t_ids, j_ids = oids(target), oids(join)
    r, m = rows.tolist(), matches.tolist()
    columns: list[tuple[FieldDef, list[Any]]] = [
        (FieldDef("Join_Count", INTEGER, "Join_Count"), [int(counts[x]) for x in r]),
        (FieldDef("TARGET_FID", INTEGER, "TARGET_FID"), [t_ids[x] for x in r]),
    ]
    if many:
        columns.append((FieldDef("JOIN_FID", INTEGER, "JOIN_FID"), [j_ids[x] if x >= 0 else -1 for x in m]))
    taken = {f.name for f, _ in columns}
    for f in data_fields(target):
        name = unique_name(f.name, taken)
        taken.add(name)
        columns.append((FieldDef(name, f.type, f.alias, f.length), [target.attributes[x].get(f.name) for x in r]))
    for f in data_fields(join):
        name = unique_name(f.name, taken)
        taken.add(name)
        values = [join.attributes[x].get(f.name) if x >= 0 else None for x in m]
        columns.append((FieldDef(name, f.type, name, f.length), values))
    return columns


def _closest(
    a: np.ndarray, b: np.ndarray, sr: SpatialReference, meters: float, geodesic: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each target's nearest join feature (within ``meters`` when positive) and the distance in metres."""
    ai, bi = present(a), present(b)
    if not len(ai) or not len(bi):
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, np.zeros(0)
    geodesic = geodesic or sr.is_geographic
    space = local_reference(np.concatenate([a[ai], b[bi]]), sr) if geodesic else sr
    la = reproject(a[ai], sr, space) if geodesic else a[ai]
    lb = reproject(b[bi], sr, space) if geodesic else b[bi]
    unit = 1.0 if geodesic else sr_unit_meters(sr)
    limit = meters / unit * (1.02 if geodesic else 1.0) if meters > 0 else None
    (i, j), d = shapely.STRtree(lb).query_nearest(la, max_distance=limit, return_distance=True, all_matches=False)
    d = geodesic_distance(la[i], lb[j], space) if geodesic else np.asarray(d) * unit
    keep = d <= meters if meters > 0 else np.ones(len(d), dtype=bool)
    order = np.argsort(i[keep], kind="stable")
    return ai[i[keep][order]], bi[j[keep][order]], d[keep][order]
