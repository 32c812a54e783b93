"""The FeatureServer-like test server, shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.net.featureserver import FeatureServer


@pytest.fixture(scope="session")
def featureserver() -> Iterator[FeatureServer]:
    """A live local server (127.0.0.1, a free port)."""
    server = FeatureServer()
    yield server
    server.stop()
