"""Alembic environment: the URL comes from the caller (``gpserver db upgrade``) or from Settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from gpserver.db import models  # noqa: F401 - registers the tables
from gpserver.db.base import Base
from gpserver.db.session import make_engine

config = context.config
if config.config_file_name is not None and config.get_main_option("sqlalchemy.url") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from gpserver.settings import StorageSettings

    return StorageSettings().resolved_database_url()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
