"""Value classes of GP data types that are not plain Python values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gpserver.errors import InvalidParameterError
from gpserver.gp.srs import SpatialReference
from gpserver.gp.units import AREAL_UNITS, LINEAR_UNITS


@dataclass(frozen=True, slots=True)
class LinearUnit:
    """A distance with its unit (GPLinearUnit)."""

    distance: float
    units: str = "esriMeters"

    def meters(self) -> float | None:
        """The distance in metres, or ``None`` for unknown units and decimal degrees."""
        factor = LINEAR_UNITS.get(self.units)
        return None if factor is None else self.distance * factor


@dataclass(frozen=True, slots=True)
class ArealUnit:
    """An area with its unit (GPArealUnit)."""

    area: float
    units: str = "esriSquareMeters"

    def square_meters(self) -> float | None:
        """The area in square metres, or ``None`` for unknown units."""
        factor = AREAL_UNITS.get(self.units)
        return None if factor is None else self.area * factor


class FieldName(str):
    """A field name given where a value could also be (Buffer's "distance or field")."""

    __slots__ = ()


class SQLExpression(str):
    """A SQL where clause (GPSQLExpression); tools validate it against their data."""

    __slots__ = ()


class HiddenString(str):
    """A string clients mask in their UIs (GPStringHidden); never echoed in job inputs."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class DataFile:
    """A file parameter (GPDataFile).

    Attributes:
        url: where the client said the file is (input) or where it can be downloaded (output).
        item_id: the upload it came from (``{"itemID": ...}``).
        path: the local file: set for inputs once the execution layer fetched or found it, and
            by tools for outputs (a file written into ``ToolContext.output_dir``).
        name: the original file name, when known (an upload's ``itemName``).
    """

    url: str | None = None
    item_id: str | None = None
    path: Path | None = None
    name: str | None = None

    def local_path(self) -> Path:
        """The local file, or a clear error when the input was never resolved."""
        if self.path is None:
            raise InvalidParameterError(
                "A file input was not resolved.", details=["Give the file by itemID or url to a GP service."]
            )
        return self.path

    @property
    def extension(self) -> str:
        """Lower-case extension without the dot, from the name, path or URL."""
        for text in (self.name, self.path.name if self.path else None, self.url):
            if text:
                tail = text.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
                if "." in tail:
                    return tail.rsplit(".", 1)[1].lower()
        return ""


@dataclass(frozen=True, slots=True)
class RasterData:
    """A raster parameter (GPRasterDataLayer / GPRasterData): a file with its format."""

    url: str | None = None
    item_id: str | None = None
    path: Path | None = None
    name: str | None = None
    format: str | None = None

    def local_path(self) -> Path:
        """The local file, or a clear error when the input was never resolved."""
        return DataFile(self.url, self.item_id, self.path, self.name).local_path()

    @property
    def extension(self) -> str:
        """Lower-case extension without the dot."""
        return DataFile(self.url, self.item_id, self.path, self.name).extension


@dataclass(frozen=True, slots=True)
class Extent:
    """A rectangle with its spatial reference (GPExtent / GPEnvelope)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    spatial_reference: SpatialReference | None = None
    zmin: float | None = None
    zmax: float | None = None
    mmin: float | None = None
    mmax: float | None = None
