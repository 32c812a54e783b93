"""Value classes of GP data types that are not plain Python values."""

from __future__ import annotations

from dataclasses import dataclass

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
