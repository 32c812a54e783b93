"""Users, passwords and tokens (ArcGIS token-based security)."""
