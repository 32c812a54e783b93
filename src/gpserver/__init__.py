"""gpserver: an ArcGIS-compatible geoprocessing (GPServer) REST server."""

__version__ = "0.1.0"

#: The ArcGIS REST version this server answers as (``currentVersion``).
ARCGIS_VERSION = 11.3
