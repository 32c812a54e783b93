"""ExportFeatures: features to a file clients download (GeoJSON, GeoPackage, zipped Shapefile, CSV)."""

from __future__ import annotations

import re
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Annotated, Literal

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import DataFile

Format = Literal["GeoJSON", "GPKG", "Shapefile", "CSV"]
# format -> (file extension, GDAL driver)
FORMATS: dict[str, tuple[str, str]] = {
    "GeoJSON": ("geojson", "GeoJSON"),
    "GPKG": ("gpkg", "GPKG"),
    "Shapefile": ("zip", "ESRI Shapefile"),
    "CSV": ("csv", "CSV"),
}
BY_EXTENSION = {"geojson": "GeoJSON", "json": "GeoJSON", "gpkg": "GPKG", "zip": "Shapefile", "shp": "Shapefile"}
BY_EXTENSION["csv"] = "CSV"
_STEM = re.compile(r"[^A-Za-z0-9_-]+")


class ExportFeaturesInputs(GPInputs):
    """ExportFeatures inputs."""

    in_features: Annotated[FeatureSet, Input("Input Features", "The features (or records) to write.")]
    out_name: Annotated[
        str, Input("Output File Name", "File name; its extension picks the format when Format is not given.")
    ] = "export"
    format: Annotated[Format | None, Input("Format", "GeoJSON, GPKG (GeoPackage), Shapefile (zipped) or CSV.")] = None


class ExportFeaturesOutputs(GPOutputs):
    """ExportFeatures outputs."""

    out_file: Annotated[DataFile, Output("Output File", "The written file, to download by its URL.")]


class ExportFeatures(Tool[ExportFeaturesInputs, ExportFeaturesOutputs]):
    """Writes features to a GeoJSON, GeoPackage, zipped Shapefile or CSV file to download."""

    name = "ExportFeatures"
    category = "Conversion"

    def run(self, inputs: ExportFeaturesInputs, ctx: ToolContext) -> ExportFeaturesOutputs:
        """Pick the format, write with pyogrio, zip a Shapefile's parts."""
        stem, dot, ext = inputs.out_name.strip().rpartition(".")
        if not dot:
            stem, ext = ext, ""
        fmt = inputs.format or BY_EXTENSION.get(ext.lower(), "GeoJSON")
        stem = _STEM.sub("_", stem).strip("_-")[:100] or "export"
        extension, driver = FORMATS[fmt]
        path = ctx.new_output_path(f"{stem}.{extension}")
        ctx.message(f"Writing {len(inputs.in_features)} features as {fmt} to {path.name}")
        write(inputs.in_features, path, driver, layer=stem)
        return ExportFeaturesOutputs(out_file=DataFile(path=path, name=path.name))


def write(features: FeatureSet, path: Path, driver: str, *, layer: str) -> None:
    """Write a feature set with pyogrio (a Shapefile into a zip of its parts)."""
    import pyogrio

    frame = features.frame
    options: dict[str, str] = {}
    if driver == "CSV":
        options = {"GEOMETRY": "AS_WKT"} if features.geometry_type else {}
        if not features.geometry_type:
            frame = frame.drop(columns="geometry")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL notes (field names cut to 10 characters in a .dbf)
            if driver != "ESRI Shapefile":
                pyogrio.write_dataframe(frame, path, driver=driver, layer=layer, layer_options=options or None)
                return
            with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
                pyogrio.write_dataframe(frame, Path(tmp) / f"{layer}.shp", driver=driver, encoding="UTF-8")
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                    for part in sorted(Path(tmp).iterdir()):
                        zf.write(part, part.name)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:
        path.unlink(missing_ok=True)
        raise ToolExecutionError("The features cannot be written in this format.", details=[str(exc)[:300]]) from None
