"""In-memory feature sets: what tools receive and return instead of Esri JSON.

A :class:`FeatureSet` holds a column of shapely 2 geometries (a numpy object array, ``None`` for a
feature without geometry), one attribute dict per feature and the schema (fields, geometry type,
spatial reference). Tools that prefer data frames use :attr:`FeatureSet.frame` and
:meth:`FeatureSet.from_frame`; simple tools work on the geometry array directly, which keeps
geopandas off their hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from gpserver.gp.srs import SpatialReference

if TYPE_CHECKING:
    import geopandas as gpd

GEOMETRY_TYPES = (
    "esriGeometryPoint",
    "esriGeometryMultipoint",
    "esriGeometryPolyline",
    "esriGeometryPolygon",
    "esriGeometryEnvelope",
)

FIELD_TYPES = (
    "esriFieldTypeSmallInteger",
    "esriFieldTypeInteger",
    "esriFieldTypeBigInteger",
    "esriFieldTypeSingle",
    "esriFieldTypeDouble",
    "esriFieldTypeString",
    "esriFieldTypeDate",
    "esriFieldTypeDateOnly",
    "esriFieldTypeTimeOnly",
    "esriFieldTypeTimestampOffset",
    "esriFieldTypeOID",
    "esriFieldTypeGeometry",
    "esriFieldTypeBlob",
    "esriFieldTypeRaster",
    "esriFieldTypeGUID",
    "esriFieldTypeGlobalID",
    "esriFieldTypeXML",
)

OID = "esriFieldTypeOID"


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One attribute field (Esri JSON field object)."""

    name: str
    type: str
    alias: str | None = None
    length: int | None = None
    nullable: bool | None = None
    editable: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """Esri JSON field object."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "alias": self.alias or self.name}
        if self.length is not None:
            out["length"] = self.length
        if self.nullable is not None:
            out["nullable"] = self.nullable
        if self.editable is not None:
            out["editable"] = self.editable
        return out


@dataclass(slots=True)
class FeatureSet:
    """Features with their schema.

    Attributes:
        geometry_type: an ``esriGeometry*`` name, or ``None`` for a table (GPRecordSet).
        spatial_reference: the reference of every geometry, or ``None`` when unknown.
        fields: attribute fields in order; the OID field, if any, is among them.
        geometries: object array of shapely geometries (``None`` entries allowed); for a table,
            an array of ``None``.
        attributes: one dict per feature, keyed by field name.
        has_z / has_m: whether coordinates carry z / m values.
    """

    geometry_type: str | None
    spatial_reference: SpatialReference | None
    fields: list[FieldDef] = field(default_factory=list)
    geometries: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    attributes: list[dict[str, Any]] = field(default_factory=list)
    has_z: bool = False
    has_m: bool = False
    #: m values per feature, parallel to ``geometries``, when ``has_m`` (shapely keeps no m).
    m_values: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.attributes)

    @property
    def oid_field(self) -> str | None:
        """Name of the ``esriFieldTypeOID`` field, if there is one."""
        return next((f.name for f in self.fields if f.type == OID), None)

    def field(self, name: str) -> FieldDef | None:
        """The field of that name, matched case-insensitively as ArcGIS does."""
        low = name.lower()
        return next((f for f in self.fields if f.name.lower() == low), None)

    def column(self, name: str) -> list[Any]:
        """All values of one attribute."""
        return [a.get(name) for a in self.attributes]

    def with_geometries(
        self, geometries: np.ndarray, *, geometry_type: str | None = None, sr: SpatialReference | None = None
    ) -> FeatureSet:
        """A copy with new geometries (same features and attributes)."""
        return replace(
            self,
            geometries=geometries,
            geometry_type=geometry_type or self.geometry_type,
            spatial_reference=sr or self.spatial_reference,
        )

    @classmethod
    def empty(
        cls,
        geometry_type: str | None,
        sr: SpatialReference | None = None,
        fields: Sequence[FieldDef] = (),
    ) -> FeatureSet:
        """An empty feature set with a schema (used for defaults)."""
        return cls(geometry_type=geometry_type, spatial_reference=sr, fields=list(fields))

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """A GeoDataFrame of the features (built on each call; tools keep it if they need it)."""
        import geopandas as gpd
        import pandas as pd

        columns = [f.name for f in self.fields if f.type != "esriFieldTypeGeometry"]
        data = pd.DataFrame.from_records(self.attributes, columns=columns) if self.attributes else None
        crs = self.spatial_reference.crs if self.spatial_reference else None
        return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(self.geometries, crs=crs), crs=crs)

    @classmethod
    def from_frame(
        cls,
        frame: gpd.GeoDataFrame,
        *,
        fields: Sequence[FieldDef],
        geometry_type: str | None,
        sr: SpatialReference | None = None,
    ) -> FeatureSet:
        """Features from a GeoDataFrame; ``fields`` names the columns kept, in order."""
        names = [f.name for f in fields]
        records = frame[names].astype(object).where(frame[names].notna(), None).to_dict("records")
        if sr is None and frame.crs is not None:
            sr = SpatialReference.from_crs(frame.crs)
        return cls(
            geometry_type=geometry_type,
            spatial_reference=sr,
            fields=list(fields),
            geometries=np.asarray(frame.geometry.values, dtype=object),
            attributes=records,
        )
