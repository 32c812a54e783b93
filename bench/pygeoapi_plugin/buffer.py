"""Buffer points with shapely 2, as a pygeoapi process (OGC API - Processes).

The same shapely call as gpserver's Buffer tool (``shapely.buffer(points, d, quad_segs=16)``), and
the same fast output path (numpy views of ``shapely.to_ragged_array`` serialised by orjson,
returned as bytes so pygeoapi passes them through without re-serialising). Input parsing is
pygeoapi's own (``json.loads`` of the request body).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import shapely
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError  # type: ignore[import-not-found]

QUAD_SEGS = 16

PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "buffer",
    "title": "Buffer",
    "description": "Buffer GeoJSON points by a planar distance (shapely 2).",
    "jobControlOptions": ["sync-execute"],
    "keywords": ["buffer"],
    "links": [],
    "inputs": {
        "features": {
            "title": "Features",
            "schema": {"type": "object", "contentMediaType": "application/geo+json"},
            "minOccurs": 1,
            "maxOccurs": 1,
        },
        "distance": {"title": "Distance", "schema": {"type": "number"}, "minOccurs": 1, "maxOccurs": 1},
    },
    "outputs": {
        "buffers": {"title": "Buffers", "schema": {"type": "object", "contentMediaType": "application/geo+json"}}
    },
    "example": {"inputs": {"features": {"type": "FeatureCollection", "features": []}, "distance": 10}},
}


def buffer_geojson(fc: dict[str, Any], distance: float) -> bytes:
    """GeoJSON points -> buffered GeoJSON polygons, vectorised."""
    feats = fc.get("features") or []
    coords = np.array([f["geometry"]["coordinates"] for f in feats], dtype=np.float64).reshape(-1, 2)
    polys = shapely.buffer(shapely.points(coords), distance, quad_segs=QUAD_SEGS)
    _, xy, offsets = shapely.to_ragged_array(polys)
    ring_bounds = np.asarray(offsets[0]).tolist()
    rings = [xy[a:b] for a, b in zip(ring_bounds[:-1], ring_bounds[1:], strict=True)]
    poly_bounds = np.asarray(offsets[1]).tolist()
    out = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": f.get("id"),
                "geometry": {"type": "Polygon", "coordinates": rings[a:b]},
                "properties": {"BUFF_DIST": distance},
            }
            for f, a, b in zip(feats, poly_bounds[:-1], poly_bounds[1:], strict=True)
        ],
    }
    return orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY)


class BufferProcessor(BaseProcessor):  # type: ignore[misc]
    """The process."""

    def __init__(self, processor_def: dict[str, Any]) -> None:
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, bytes]:
        """Buffer ``features`` by ``distance``."""
        try:
            fc, distance = data["features"], float(data["distance"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProcessorExecuteError(f"bad inputs: {exc}") from None
        return "application/geo+json", buffer_geojson(fc, distance)
