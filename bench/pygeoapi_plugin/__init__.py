"""A pygeoapi process plugin for the peer comparison (scenario 5); imported by pygeoapi, not gpserver."""
