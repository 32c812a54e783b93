"""Spatial references: Esri JSON (``wkid``/``latestWkid``/``wkt``) <-> pyproj CRS."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyproj
from pyproj.exceptions import CRSError

from gpserver.errors import InvalidParameterError

# Esri's well-known ids that have a newer EPSG equivalent (``wkid`` -> ``latestWkid``).
_LATEST = {102100: 3857, 102113: 3785, 104199: 4326}


@dataclass(frozen=True, slots=True)
class SpatialReference:
    """A spatial reference as Esri JSON names it: a well-known id or a WKT string."""

    wkid: int | None = None
    latest_wkid: int | None = None
    wkt: str | None = None
    vcs_wkid: int | None = None

    @classmethod
    def from_json(cls, value: Any, *, param: str = "spatialReference") -> SpatialReference:
        """Decode ``102100``, ``"4326"``, ``{"wkid": ...}``, ``{"latestWkid": ...}`` or ``{"wkt": ...}``."""
        if isinstance(value, bool):
            raise _invalid(param, value)
        if isinstance(value, int):
            sr = cls(wkid=value, latest_wkid=_LATEST.get(value))
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return cls.from_json(int(value.strip()), param=param)
        elif isinstance(value, dict):
            wkid, latest = value.get("wkid"), value.get("latestWkid")
            wkt = value.get("wkt") or value.get("wkt2")
            vcs = value.get("vcsWkid") or value.get("latestVcsWkid")
            if isinstance(wkid, int) and not isinstance(wkid, bool):
                sr = cls(wkid=wkid, latest_wkid=latest if isinstance(latest, int) else _LATEST.get(wkid))
            elif isinstance(latest, int) and not isinstance(latest, bool):
                sr = cls(wkid=latest, latest_wkid=latest)
            elif isinstance(wkt, str) and wkt.strip():
                sr = cls(wkt=wkt)
            else:
                raise _invalid(param, value)
            if isinstance(vcs, int) and not isinstance(vcs, bool):
                sr = cls(sr.wkid, sr.latest_wkid, sr.wkt, vcs)
        else:
            raise _invalid(param, value)
        try:
            sr.crs  # noqa: B018 - validate now so a bad wkid is the client's error, not the tool's
        except CRSError:
            raise _invalid(param, value) from None
        return sr

    @classmethod
    def from_crs(cls, crs: pyproj.CRS) -> SpatialReference:
        """The Esri JSON form of a pyproj CRS: its EPSG/ESRI code when it has one, else WKT."""
        auth = crs.to_authority(min_confidence=90)
        if auth and auth[0] in ("EPSG", "ESRI") and auth[1].isdigit():
            code = int(auth[1])
            return cls(wkid=code, latest_wkid=_LATEST.get(code, code))
        return cls(wkt=crs.to_wkt(pyproj.enums.WktVersion.WKT1_ESRI))

    @property
    def crs(self) -> pyproj.CRS:
        """The pyproj CRS (cached per distinct reference)."""
        return _crs(self.wkid, self.latest_wkid, self.wkt)

    @property
    def is_geographic(self) -> bool:
        """True for a geographic (lon/lat) reference."""
        return bool(self.crs.is_geographic)

    def to_json(self) -> dict[str, Any]:
        """Esri JSON: ``{"wkid", "latestWkid"}`` or ``{"wkt"}``."""
        if self.wkid is not None:
            out: dict[str, Any] = {"wkid": self.wkid, "latestWkid": self.latest_wkid or self.wkid}
            if self.vcs_wkid is not None:
                out["vcsWkid"] = self.vcs_wkid
            return out
        return {"wkt": self.wkt}

    def same_as(self, other: SpatialReference | None) -> bool:
        """True when both name the same coordinate system."""
        if other is None:
            return False
        if self == other:
            return True
        if self.wkid is not None and other.wkid is not None:
            return (self.latest_wkid or self.wkid) == (other.latest_wkid or other.wkid)
        return bool(self.crs == other.crs)


def _invalid(param: str, value: object) -> InvalidParameterError:
    return InvalidParameterError(
        f"Invalid spatial reference for '{param}'",
        details=[f"'{str(value)[:200]}' is not a known wkid or a valid WKT"],
    )


@lru_cache(maxsize=256)
def _crs(wkid: int | None, latest: int | None, wkt: str | None) -> pyproj.CRS:
    if wkt is not None:
        return pyproj.CRS.from_user_input(wkt)
    errors: list[Exception] = []
    for code in dict.fromkeys(c for c in (latest, wkid) if c is not None):
        for authority in ("EPSG", "ESRI"):
            try:
                return pyproj.CRS.from_authority(authority, str(code))
            except CRSError as exc:
                errors.append(exc)
    raise CRSError(f"unknown wkid {wkid}")


@lru_cache(maxsize=256)
def transformer(source: SpatialReference, target: SpatialReference) -> pyproj.Transformer:
    """The best transformation PROJ knows between two references (always x/y order)."""
    return pyproj.Transformer.from_crs(source.crs, target.crs, always_xy=True)


WGS84 = SpatialReference(wkid=4326, latest_wkid=4326)
