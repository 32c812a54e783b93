"""GenerateTessellation: a grid of squares, hexagons, triangles or diamonds (ArcGIS Data Management).

Cells of the given area cover the extent. In a projected reference the grid is planar in its units.
For a geographic reference the grid is built in a Lambert azimuthal equal-area projection centred
on the extent, so every cell has the requested area on the ground, then projected to the reference.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
import shapely

from gpserver.errors import LimitExceededError, ToolExecutionError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.geometry import reproject
from gpserver.gp.srs import SpatialReference
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.types import json_or_literal
from gpserver.gp.values import ArealUnit
from gpserver.tools.common import POLYGON, build, local_reference, sr_unit_meters

MAX_CELLS = 250_000
GRID_ID = FieldDef("GRID_ID", "esriFieldTypeString", "GRID_ID", 12)


class GenerateTessellationInputs(GPInputs):
    """GenerateTessellation inputs (ArcGIS Pro names and order)."""

    Extent: Annotated[
        str,
        Input("Extent", '"xmin ymin xmax ymax" in the Spatial_Reference, or an Esri JSON envelope {"xmin": ...}.'),
    ]
    Shape_Type: Annotated[
        Literal["SQUARE", "HEXAGON", "TRANSVERSE_HEXAGON", "TRIANGLE", "DIAMOND"],
        Input("Shape Type", "HEXAGON has flat tops; TRANSVERSE_HEXAGON pointed tops."),
    ] = "HEXAGON"
    Size: Annotated[ArealUnit, Input("Size", "The area of each cell.")] = ArealUnit(1.0, "esriSquareKilometers")
    Spatial_Reference: Annotated[
        SpatialReference | None, Input("Spatial Reference", "Of the extent and the output (else the envelope's own).")
    ] = None


class GenerateTessellationOutputs(GPOutputs):
    """GenerateTessellation outputs."""

    Output_Feature_Class: Annotated[FeatureSet, Output("Output Feature Class", geometry=POLYGON)]


class GenerateTessellation(Tool[GenerateTessellationInputs, GenerateTessellationOutputs]):
    """Generates a tessellated grid of regular polygon features covering an extent."""

    name = "GenerateTessellation"
    category = "Data Management"
    order = ("Output_Feature_Class", "Extent", "Shape_Type", "Size", "Spatial_Reference")

    def run(self, inputs: GenerateTessellationInputs, ctx: ToolContext) -> GenerateTessellationOutputs:
        """Build cell centres with numpy, all cells with one ``shapely.polygons`` call."""
        box, sr = _extent(inputs.Extent, inputs.Spatial_Reference)
        area = inputs.Size.square_meters()
        if area is None or area <= 0:
            raise ToolExecutionError("Size must be a positive area with known units")
        if sr.is_geographic:
            work = local_reference(np.array([box], dtype=object), sr, "laea")
            region = reproject(np.array([shapely.segmentize(box, (box.bounds[2] - box.bounds[0]) / 64 or 1)],
                                        dtype=object), sr, work)[0]  # fmt: skip
            unit = 1.0
        else:
            work, region, unit = sr, box, sr_unit_meters(sr)
        cells, ids = tessellate(region, area / unit**2, inputs.Shape_Type)
        if sr.is_geographic:
            cells = reproject(cells, work, sr)
        ctx.message(f"Generated {len(cells)} {inputs.Shape_Type.lower()} cells")
        return GenerateTessellationOutputs(Output_Feature_Class=build(POLYGON, sr, cells, [(GRID_ID, ids)]))


def _extent(raw: str, sr: SpatialReference | None) -> tuple[shapely.Polygon, SpatialReference]:
    value = json_or_literal(raw)
    try:
        if isinstance(value, dict):
            xmin, ymin, xmax, ymax = (float(value[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
            if sr is None and value.get("spatialReference") is not None:
                sr = SpatialReference.from_json(value["spatialReference"], param="Extent")
        else:
            xmin, ymin, xmax, ymax = (float(v) for v in str(value).replace(",", " ").split()[:4])
    except (KeyError, ValueError, TypeError):
        raise ToolExecutionError("Invalid value for 'Extent'", details=['expected "xmin ymin xmax ymax"']) from None
    if not (math.isfinite(xmin + ymin + xmax + ymax) and xmax > xmin and ymax > ymin):
        raise ToolExecutionError("Invalid value for 'Extent'", details=["xmax must exceed xmin and ymax ymin"])
    if sr is None:
        raise ToolExecutionError("GenerateTessellation needs a Spatial_Reference (or one on the Extent)")
    return shapely.box(xmin, ymin, xmax, ymax), sr


def tessellate(region: shapely.Geometry, area: float, shape: str) -> tuple[np.ndarray, list[str]]:
    """Cells of ``area`` (in squared units of the region's space) that intersect ``region``, and their ids."""
    xmin, ymin, xmax, ymax = region.bounds
    if (xmax - xmin) * (ymax - ymin) / area > MAX_CELLS:
        raise LimitExceededError(f"The tessellation would have more than {MAX_CELLS} cells; use a larger Size")
    if shape == "SQUARE":
        side = math.sqrt(area)
        ring = np.array([[0, 0], [0, 1], [1, 1], [1, 0]]) * side - side / 2
        dx, dy, shift_col, shift_row = side, side, 0.0, 0.0
    elif shape in ("HEXAGON", "TRANSVERSE_HEXAGON"):
        r = math.sqrt(2 * area / (3 * math.sqrt(3)))
        angles = np.radians(np.arange(0, 360, 60) + (0 if shape == "HEXAGON" else 30))[::-1]
        ring = np.stack([r * np.cos(angles), r * np.sin(angles)], axis=1)
        if shape == "HEXAGON":
            dx, dy, shift_col, shift_row = 1.5 * r, math.sqrt(3) * r, math.sqrt(3) * r / 2, 0.0
        else:
            dx, dy, shift_col, shift_row = math.sqrt(3) * r, 1.5 * r, 0.0, math.sqrt(3) * r / 2
    elif shape == "DIAMOND":
        d = math.sqrt(2 * area)
        ring = np.array([[0, d / 2], [d / 2, 0], [0, -d / 2], [-d / 2, 0]])
        dx, dy, shift_col, shift_row = d / 2, d, d / 2, 0.0
    else:
        return _triangles(region, area)
    cols = int(math.ceil((xmax - xmin) / dx)) + 2
    rows = int(math.ceil((ymax - ymin) / dy)) + 2
    grid = np.meshgrid(np.arange(-1, cols), np.arange(-1, rows))  # from -1: offset rows/columns reach the edge
    c, rr = grid[0].ravel(), grid[1].ravel()
    cx = xmin + c * dx + (rr % 2) * shift_row
    cy = ymin + rr * dy + (c % 2) * shift_col
    return _finish(region, ring, cx, cy, c, rr)


def _triangles(region: shapely.Geometry, area: float) -> tuple[np.ndarray, list[str]]:
    a = math.sqrt(4 * area / math.sqrt(3))
    h = a * math.sqrt(3) / 2
    xmin, ymin, xmax, ymax = region.bounds
    cols = int(math.ceil((xmax - xmin) / (a / 2))) + 2
    rows = int(math.ceil((ymax - ymin) / h)) + 1
    grid = np.meshgrid(np.arange(cols), np.arange(rows))
    c, rr = grid[0].ravel(), grid[1].ravel()
    up = (c + rr) % 2 == 0
    x0, y0 = xmin + c * a / 2, ymin + rr * h
    tri_up = np.stack([[-a / 2, 0], [0, h], [a / 2, 0]])
    tri_down = np.stack([[-a / 2, h], [a / 2, h], [0, 0]])
    rings = np.where(up[:, None, None], tri_up[None], tri_down[None]) + np.stack([x0, y0], axis=1)[:, None, :]
    closed = np.concatenate([rings, rings[:, :1]], axis=1)
    cells = np.asarray(shapely.polygons(closed), dtype=object)
    hit = shapely.intersects(cells, region) & (shapely.area(shapely.intersection(cells, region)) > 0)
    return cells[hit], _ids(c[hit], rr[hit])


def _finish(
    region: shapely.Geometry, ring: np.ndarray, cx: np.ndarray, cy: np.ndarray, c: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    rings = ring[None, :, :] + np.stack([cx, cy], axis=1)[:, None, :]
    closed = np.concatenate([rings, rings[:, :1]], axis=1)
    cells = np.asarray(shapely.polygons(closed), dtype=object)
    shapely.prepare(region)
    hit = shapely.intersects(region, cells) & ~shapely.touches(region, cells)
    return cells[hit], _ids(c[hit], r[hit])


def _ids(cols: np.ndarray, rows: np.ndarray) -> list[str]:
    """Spreadsheet-style ids: column letters, a dash, the row number (``A-1``, ``AB-12``)."""

    def letters(k: int) -> str:
        out = ""
        k += 1
        while k:
            k, rem = divmod(k - 1, 26)
            out = chr(65 + rem) + out
        return out

    if not len(cols):
        return []
    c0, r0 = int(cols.min()), int(rows.min())
    return [f"{letters(int(c) - c0)}-{int(r) - r0 + 1}" for c, r in zip(cols.tolist(), rows.tolist(), strict=True)]
