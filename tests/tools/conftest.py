"""One app per test module: tool tests only execute, so they can share it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gpserver.app import create_app
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app with the bundled samples, shared by a module's tests."""
    with TestClient(create_app(make_settings(tmp_path_factory.mktemp("tools"))), raise_server_exceptions=False) as c:
        yield c
