"""Alembic, driven from code: ``gpserver db upgrade``, the SQLite self-upgrade and test fixtures.

The scripts live in the top-level ``alembic/`` folder; wheels carry it as ``gpserver/_alembic``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import gpserver
from gpserver.errors import ConfigurationError

_UPGRADING = threading.Lock()  # the job store and the user store may both migrate SQLite on first use


def script_location() -> Path:
    """The Alembic scripts: inside the installed package first, then the source checkout."""
    package = Path(gpserver.__file__).parent
    for candidate in (package / "_alembic", package.parent.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise ConfigurationError("The Alembic migration scripts are missing from this installation.")


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest migration."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None``: empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    return current_revision(engine) == head_revision()


def ensure_schema(engine: Engine) -> None:
    """SQLite migrates itself; any other database must have been upgraded with ``gpserver db upgrade``."""
    if schema_is_current(engine):
        return
    if engine.dialect.name == "sqlite":
        with _UPGRADING:
            if not schema_is_current(engine):
                upgrade(engine.url.render_as_string(hide_password=False))
        return
    raise ConfigurationError(
        f"The database schema is not current (at {current_revision(engine) or 'nothing'}, "
        f"needs {head_revision()}): run 'gpserver db upgrade' first.",
    )
