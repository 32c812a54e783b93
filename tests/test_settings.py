"""Settings: flat GPSERVER_* names, URL handling, the generated secret key."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from gpserver.app import create_app
from gpserver.settings import ApiSettings, JobSettings, StorageSettings
from tests.conftest import make_settings


def test_flat_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GPSERVER_PORT", "9123")
    monkeypatch.setenv("GPSERVER_CONTEXT", "arcgis")
    monkeypatch.setenv("GPSERVER_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("GPSERVER_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("GPSERVER_DATA_DIR", str(tmp_path))
    api, jobs, storage = ApiSettings(), JobSettings(), StorageSettings()
    assert api.port == 9123 and api.prefix == "/arcgis"
    assert api.cors_origins == ["https://a.example", "https://b.example"]
    assert jobs.broker_url == "redis://127.0.0.1:6379/0"
    assert storage.data_dir == tmp_path


@pytest.mark.parametrize("bad", ["a/b", "/arcgis", "x y"])
def test_context_is_one_segment(bad: str) -> None:
    with pytest.raises(ValidationError):
        ApiSettings(context=bad)


def test_database_url_driver_and_default(tmp_path: Path) -> None:
    assert StorageSettings(database_url="postgresql://u@h/db").resolved_database_url() == "postgresql+psycopg://u@h/db"
    assert StorageSettings(data_dir=tmp_path).resolved_database_url() == f"sqlite:///{tmp_path}/gpserver.db"


def test_secret_key_generated_once(tmp_path: Path) -> None:
    first = StorageSettings(data_dir=tmp_path).resolved_secret_key()
    second = StorageSettings(data_dir=tmp_path).resolved_secret_key()
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    given = StorageSettings(data_dir=tmp_path, secret_key="given")  # noqa: S106
    assert given.resolved_secret_key() == "given"


def test_every_setting_is_documented_in_the_readme() -> None:
    from gpserver.settings import Settings

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for concern in Settings.model_fields.values():
        assert concern.annotation is not None
        for name in concern.annotation.model_fields:
            assert f"`GPSERVER_{name.upper()}`" in readme, name


@pytest.mark.parametrize("enabled", [False, True])
def test_fastapi_telemetry_follows_the_setting(tmp_path: Path, enabled: bool) -> None:
    """Off by default (FastAPI would look the OpenTelemetry providers up on every request)."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        pytest.skip("this FastAPI has no native telemetry")
    app = create_app(make_settings(tmp_path, telemetry=enabled))
    config = app._telemetry  # FastAPI keeps the argument here; no public accessor
    assert (config["tracing"], config["metrics"], config["logs"]) == (enabled, enabled, enabled)
