"""ImportFile: a GeoJSON, Esri JSON, GeoPackage, zipped Shapefile or CSV file to features."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

import numpy as np

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import OID, FeatureSet, FieldDef
from gpserver.gp.srs import SpatialReference
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import DataFile

FILE_TYPES = ("geojson", "json", "gpkg", "zip", "csv")
_GEOMETRY = {
    "Point": "esriGeometryPoint",
    "MultiPoint": "esriGeometryMultipoint",
    "LineString": "esriGeometryPolyline",
    "MultiLineString": "esriGeometryPolyline",
    "LinearRing": "esriGeometryPolyline",
    "Polygon": "esriGeometryPolygon",
    "MultiPolygon": "esriGeometryPolygon",
}
# Columns a CSV's geometry may be in (GDAL CSV open options).
_CSV_OPTIONS = {
    "X_POSSIBLE_NAMES": "x,lon,long,longitude,easting",
    "Y_POSSIBLE_NAMES": "y,lat,latitude,northing",
    "GEOM_POSSIBLE_NAMES": "wkt,geometry,the_geom,geom",
    "KEEP_GEOM_COLUMNS": "NO",
}
WGS84 = SpatialReference(wkid=4326, latest_wkid=4326)


class ImportFileInputs(GPInputs):
    """ImportFile inputs."""

    in_file: Annotated[
        DataFile,
        Input("Input File", "An uploaded item or a URL: GeoJSON, Esri JSON, GeoPackage, zipped Shapefile or CSV.",
              file_types=FILE_TYPES),
    ]  # fmt: skip
    layer: Annotated[str | None, Input("Layer", "Layer of a GeoPackage; default: the first.")] = None
    coordinate_system: Annotated[
        SpatialReference | None, Input("Coordinate System", "Of a file that names none (CSV); default WGS 1984.")
    ] = None


class ImportFileOutputs(GPOutputs):
    """ImportFile outputs."""

    out_features: Annotated[FeatureSet, Output("Output Features")]


class ImportFile(Tool[ImportFileInputs, ImportFileOutputs]):
    """Reads a GeoJSON, Esri JSON, GeoPackage, zipped Shapefile or CSV file into features."""

    name = "ImportFile"
    category = "Conversion"

    def run(self, inputs: ImportFileInputs, ctx: ToolContext) -> ImportFileOutputs:
        """Read with pyogrio; fields and geometry type follow the file."""
        import pyogrio

        path = inputs.in_file.local_path()
        ext = inputs.in_file.extension
        if ext not in FILE_TYPES:
            raise ToolExecutionError(
                f"Files of type '{ext}' cannot be imported.", details=[f"Use one of {FILE_TYPES}."]
            )
        options: dict[str, Any] = dict(_CSV_OPTIONS) if ext == "csv" else {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GDAL notes about the file are not the client's concern
                frame = pyogrio.read_dataframe(path, layer=inputs.layer or None, **options)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
            raise ToolExecutionError(
                f"'{inputs.in_file.name or path.name}' cannot be read as a {ext} file.", details=[str(exc)[:300]]
            ) from None
        ctx.message(f"Read {len(frame)} rows from {inputs.in_file.name or path.name}")
        sr = SpatialReference.from_crs(frame.crs) if frame.crs is not None else inputs.coordinate_system or WGS84
        return ImportFileOutputs(out_features=to_feature_set(frame, sr))


def to_feature_set(frame: Any, sr: SpatialReference) -> FeatureSet:
    """A feature set with a fresh OBJECTID and fields typed from the frame's columns."""
    import pandas as pd

    geoms = np.asarray(frame.geometry.values, dtype=object) if "geometry" in frame else None
    kinds = sorted({_GEOMETRY.get(g.geom_type, "") for g in geoms if g is not None}) if geoms is not None else []
    if "" in kinds or len(kinds) > 1:
        raise ToolExecutionError(
            "The file mixes geometry types.", details=[f"Found {kinds}; import one type at a time."]
        )
    columns = [c for c in frame.columns if c != "geometry" and str(c).lower() != "objectid"]
    fields = [FieldDef("OBJECTID", OID, "OBJECTID")]
    data: dict[str, Any] = {"OBJECTID": np.arange(1, len(frame) + 1)}
    for name in columns:
        series = frame[name]
        kind, values = _field_type(series)
        fields.append(FieldDef(str(name), kind, str(name)))
        data[str(name)] = values
    table = pd.DataFrame(data).astype(object)
    records = table.where(table.notna(), None).to_dict("records")
    return FeatureSet(
        geometry_type=kinds[0] if kinds else (None if geoms is None else "esriGeometryPoint"),
        spatial_reference=sr if geoms is not None else None,
        fields=fields,
        geometries=geoms if geoms is not None else np.full(len(frame), None, dtype=object),
        attributes=records,
    )


def _field_type(series: Any) -> tuple[str, Any]:
    """The Esri field type of a column and its values as the wire needs them."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "esriFieldTypeSmallInteger", series.astype("Int16")
    if pd.api.types.is_integer_dtype(dtype):
        small = dtype.itemsize <= 2
        fits = series.dropna().abs().max() < 2**31 if len(series.dropna()) else True
        kind = "esriFieldTypeSmallInteger" if small else "esriFieldTypeInteger" if fits else "esriFieldTypeBigInteger"
        return kind, series
    if pd.api.types.is_float_dtype(dtype):
        return ("esriFieldTypeSingle" if dtype.itemsize == 4 else "esriFieldTypeDouble"), series
    if pd.api.types.is_datetime64_any_dtype(dtype):
        utc = series.dt.tz_convert("UTC") if series.dt.tz is not None else series.dt.tz_localize("UTC")
        millis = (utc - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
        return "esriFieldTypeDate", millis.astype("Int64")
    return "esriFieldTypeString", series.map(lambda v: None if v is None or v != v else str(v))
