"""Outbound network access (inputs given by URL)."""
