"""Built-in tools, the registry, models and user toolboxes."""
