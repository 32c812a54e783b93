"""Built-in tools, one module each, named after the ArcGIS tool."""
