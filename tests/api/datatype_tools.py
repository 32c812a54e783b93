"""A toolbox for data-type tests: Echo takes one input of every GP data type and returns each one."""

from __future__ import annotations

import shutil
from datetime import datetime
from typing import Annotated, Literal, NamedTuple

from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.srs import SpatialReference
from gpserver.gp.tool import GPInputs, GPOutputs, Input, Output, Tool, ToolContext
from gpserver.gp.values import ArealUnit, DataFile, Extent, HiddenString, LinearUnit, RasterData, SQLExpression


class Row(NamedTuple):
    """A value table row."""

    id: int
    label: str = ""
    kind: Literal["A", "B"] = "A"
    dist: LinearUnit | None = None


class EchoInputs(GPInputs):
    """One input per data type."""

    s: Annotated[str | None, Input("String")] = None
    choice: Annotated[Literal["NONE", "ALL"], Input("Choice")] = "NONE"
    long: Annotated[int | None, Input("Long", range=(0, 100))] = None
    double: Annotated[float | None, Input("Double", range=(-1.5, 1.5))] = None
    flag: Annotated[bool, Input("Flag")] = False
    date: Annotated[datetime | None, Input("Date")] = None
    linear: Annotated[LinearUnit | None, Input("Linear")] = None
    areal: Annotated[ArealUnit | None, Input("Areal")] = None
    features: Annotated[FeatureSet | None, Input("Features", geometry=("esriGeometryPoint",))] = None
    records: Annotated[FeatureSet | None, Input("Records", data_type="GPRecordSet")] = None
    file: Annotated[DataFile | None, Input("File", file_types=("csv", "txt"))] = None
    raster: Annotated[RasterData | None, Input("Raster", data_type="GPRasterData")] = None
    strings: Annotated[list[str] | None, Input("Strings")] = None
    choices: Annotated[list[Literal["a", "b", "c"]] | None, Input("Choices")] = None
    distances: Annotated[list[LinearUnit] | None, Input("Distances")] = None
    table: Annotated[list[Row] | None, Input("Table")] = None
    composite: Annotated[LinearUnit | str | None, Input("Composite")] = None
    field: Annotated[FieldDef | None, Input("Field", field_types=("esriFieldTypeInteger", "esriFieldTypeDouble"))] = (
        None
    )
    sql: Annotated[SQLExpression | None, Input("SQL")] = None
    sr: Annotated[SpatialReference | None, Input("Spatial Reference")] = None
    extent: Annotated[Extent | None, Input("Extent", data_type="GPEnvelope")] = None
    hidden: Annotated[HiddenString | None, Input("Hidden")] = None


class EchoOutputs(GPOutputs):
    """One output per input, plus a derived count."""

    out_s: Annotated[str | None, Output("String")] = None
    out_choice: Annotated[str | None, Output("Choice")] = None
    out_long: Annotated[int | None, Output("Long")] = None
    out_double: Annotated[float | None, Output("Double")] = None
    out_flag: Annotated[bool | None, Output("Flag")] = None
    out_date: Annotated[datetime | None, Output("Date")] = None
    out_linear: Annotated[LinearUnit | None, Output("Linear")] = None
    out_areal: Annotated[ArealUnit | None, Output("Areal")] = None
    out_features: Annotated[FeatureSet | None, Output("Features", geometry="esriGeometryPoint")] = None
    out_records: Annotated[FeatureSet | None, Output("Records", data_type="GPRecordSet")] = None
    out_file: Annotated[DataFile | None, Output("File")] = None
    out_raster: Annotated[RasterData | None, Output("Raster", data_type="GPRasterData")] = None
    out_strings: Annotated[list[str] | None, Output("Strings")] = None
    out_choices: Annotated[list[str] | None, Output("Choices")] = None
    out_distances: Annotated[list[LinearUnit] | None, Output("Distances")] = None
    out_table: Annotated[list[Row] | None, Output("Table")] = None
    out_composite: Annotated[LinearUnit | str | None, Output("Composite")] = None
    out_field: Annotated[FieldDef | None, Output("Field")] = None
    out_sql: Annotated[SQLExpression | None, Output("SQL")] = None
    out_sr: Annotated[SpatialReference | None, Output("Spatial Reference")] = None
    out_extent: Annotated[Extent | None, Output("Extent", data_type="GPEnvelope")] = None
    out_hidden: Annotated[HiddenString | None, Output("Hidden")] = None
    out_count: Annotated[int, Output("Inputs given", derived=True)] = 0


class Echo(Tool[EchoInputs, EchoOutputs]):
    """Returns every input as the output of the same type (files are copied to the output directory)."""

    name = "Echo"

    def run(self, inputs: EchoInputs, ctx: ToolContext) -> EchoOutputs:
        """Copy each input; count those given."""
        values = {f"out_{k}": v for k, v in inputs if v is not None}
        if inputs.file is not None:
            copy = ctx.new_output_path(inputs.file.local_path().name)
            shutil.copyfile(inputs.file.local_path(), copy)
            values["out_file"] = DataFile(path=copy)
        if inputs.raster is not None:
            copy = ctx.new_output_path(inputs.raster.local_path().name)
            shutil.copyfile(inputs.raster.local_path(), copy)
            values["out_raster"] = RasterData(path=copy, format=inputs.raster.format)
        return EchoOutputs(**values, out_count=len(values))


TOOLS = [Echo]
