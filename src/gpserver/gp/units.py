"""Linear and areal units: Esri names, string forms and conversion factors."""

from __future__ import annotations

# Metres per unit. ArcGIS names both a plain and an "Int" (international) spelling of the
# imperial units; both are the international definitions here (documented in the README).
LINEAR_UNITS: dict[str, float | None] = {
    "esriUnknownUnits": None,
    "esriInches": 0.0254,
    "esriPoints": 0.0254 / 72,
    "esriFeet": 0.3048,
    "esriYards": 0.9144,
    "esriMiles": 1609.344,
    "esriNauticalMiles": 1852.0,
    "esriMillimeters": 0.001,
    "esriCentimeters": 0.01,
    "esriMeters": 1.0,
    "esriKilometers": 1000.0,
    "esriDecimalDegrees": None,
    "esriDecimeters": 0.1,
    "esriIntInches": 0.0254,
    "esriIntFeet": 0.3048,
    "esriIntYards": 0.9144,
    "esriIntMiles": 1609.344,
    "esriIntNauticalMiles": 1852.0,
}

# Square metres per unit.
AREAL_UNITS: dict[str, float | None] = {
    "esriUnknownAreaUnits": None,
    "esriSquareInches": 0.0254**2,
    "esriSquareFeet": 0.3048**2,
    "esriSquareYards": 0.9144**2,
    "esriAcres": 4046.8564224,
    "esriSquareMiles": 1609.344**2,
    "esriSquareMillimeters": 1e-6,
    "esriSquareCentimeters": 1e-4,
    "esriSquareDecimeters": 1e-2,
    "esriSquareMeters": 1.0,
    "esriAres": 100.0,
    "esriHectares": 10_000.0,
    "esriSquareKilometers": 1e6,
    "esriSquareInchesUS": (1200 / 3937 / 12) ** 2,
    "esriSquareFeetUS": (1200 / 3937) ** 2,
    "esriSquareYardsUS": (3600 / 3937) ** 2,
    "esriAcresUS": 4046.872609874252,
    "esriSquareMilesUS": (6336000 / 3937) ** 2,
}


def _lookup(table: dict[str, float | None], extra: dict[str, str]) -> dict[str, str]:
    out = {name.lower(): name for name in table}
    out.update({name.lower()[4:]: name for name in table})  # "meters" -> esriMeters
    out.update({k.lower(): v for k, v in extra.items()})
    return out


_LINEAR_NAMES = _lookup(
    LINEAR_UNITS,
    {
        "Unknown": "esriUnknownUnits",
        "Meter": "esriMeters",
        "Kilometer": "esriKilometers",
        "Foot": "esriFeet",
        "FeetInt": "esriIntFeet",
        "Mile": "esriMiles",
        "MilesInt": "esriIntMiles",
        "Yard": "esriYards",
        "Inch": "esriInches",
        "NauticalMile": "esriNauticalMiles",
        "Centimeter": "esriCentimeters",
        "Millimeter": "esriMillimeters",
        "Decimeter": "esriDecimeters",
        "Point": "esriPoints",
        "DecimalDegree": "esriDecimalDegrees",
        "Degrees": "esriDecimalDegrees",
    },
)

_AREAL_NAMES = _lookup(
    AREAL_UNITS,
    {
        "Unknown": "esriUnknownAreaUnits",
        "SquareInch": "esriSquareInches",
        "SquareFoot": "esriSquareFeet",
        "SquareYard": "esriSquareYards",
        "Acre": "esriAcres",
        "SquareMile": "esriSquareMiles",
        "SquareMillimeter": "esriSquareMillimeters",
        "SquareCentimeter": "esriSquareCentimeters",
        "SquareDecimeter": "esriSquareDecimeters",
        "SquareMeter": "esriSquareMeters",
        "Are": "esriAres",
        "Hectare": "esriHectares",
        "SquareKilometer": "esriSquareKilometers",
        "SquareInchUS": "esriSquareInchesUS",
        "SquareFootUS": "esriSquareFeetUS",
        "SquareYardUS": "esriSquareYardsUS",
        "AcreUS": "esriAcresUS",
        "SquareMileUS": "esriSquareMilesUS",
    },
)


def linear_unit_name(name: str) -> str | None:
    """Canonical ``esri*`` linear unit for a name in any case or short form, or ``None``."""
    return _LINEAR_NAMES.get(name.strip().lower())


def areal_unit_name(name: str) -> str | None:
    """Canonical ``esri*`` areal unit for a name in any case or short form, or ``None``."""
    return _AREAL_NAMES.get(name.strip().lower())
