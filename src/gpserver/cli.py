"""The ``gpserver`` command line: serve, worker, db upgrade, run."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from gpserver.errors import ConfigurationError

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="An ArcGIS-compatible geoprocessing server.")
db_cli = typer.Typer(no_args_is_help=True, help="Database schema.")
cli.add_typer(db_cli, name="db")


def _fail(exc: ConfigurationError) -> None:
    typer.echo(f"gpserver: {exc.message}", err=True)
    for line in exc.details[1:]:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(2)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [env GPSERVER_HOST, default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env GPSERVER_PORT, default 8000]")] = None,
    workers: Annotated[int, typer.Option(help="API processes")] = 1,
) -> None:
    """Serve the REST API (the bundled samples unless GPSERVER_SERVICES_FILE is set)."""
    import uvicorn

    from gpserver.app import create_app
    from gpserver.settings import Settings

    if host:
        os.environ["GPSERVER_HOST"] = host
    if port:
        os.environ["GPSERVER_PORT"] = str(port)
    settings = Settings.from_env()
    try:
        create_app(settings)  # fail here, with a clear message, on a bad services file or schema
        _check_schema(settings)
    except ConfigurationError as exc:
        _fail(exc)
    typer.echo(f"gpserver: serving http://{settings.api.host}:{settings.api.port}{settings.api.prefix}/rest/services")
    uvicorn.run(
        "gpserver.app:app_from_env",
        factory=True,
        host=settings.api.host,
        port=settings.api.port,
        workers=workers,
        log_level="info",
    )


def _check_schema(settings: object) -> None:
    """SQLite upgrades itself; PostgreSQL must have been upgraded (``gpserver db upgrade``)."""
    from gpserver.db.migrate import ensure_schema
    from gpserver.db.session import make_engine
    from gpserver.settings import Settings

    assert isinstance(settings, Settings)
    engine = make_engine(settings.storage.resolved_database_url(), pool_size=1)
    try:
        ensure_schema(engine)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"Cannot reach the database: {str(exc).splitlines()[0][:200]}") from None
    finally:
        engine.dispose()


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Create or upgrade the database schema (GPSERVER_DATABASE_URL; default: the SQLite file)."""
    from gpserver.db.migrate import upgrade
    from gpserver.settings import Settings

    url = Settings.from_env().storage.resolved_database_url()
    upgrade(url, revision)
    typer.echo(f"gpserver: database at {revision}")


@cli.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Job processes [default: CPU count]")] = None,
    pool: Annotated[str, typer.Option(help="Celery pool; prefork lets a stuck job's process be killed")] = "prefork",
    loglevel: Annotated[str, typer.Option(help="Log level")] = "INFO",
) -> None:
    """Run a Celery worker for asynchronous jobs (needs GPSERVER_BROKER_URL)."""
    from gpserver.jobs.celery_app import create_celery, install_worker_monitor
    from gpserver.services.catalog import load_catalog
    from gpserver.settings import Settings

    settings = Settings.from_env()
    if not settings.jobs.broker_url:
        _fail(
            ConfigurationError("GPSERVER_BROKER_URL is not set: without a broker, jobs run in 'gpserver serve' itself.")
        )
    try:
        load_catalog(settings.storage.services_file)
        _check_schema(settings)
    except ConfigurationError as exc:
        _fail(exc)
    app = create_celery(settings)
    app.gpserver_deps.catalog  # noqa: B018 - load the tools once, before the pool forks
    install_worker_monitor(app, settings)
    argv = ["worker", f"--pool={pool}", f"--loglevel={loglevel}", "--without-gossip", "--without-mingle"]
    argv += ["-Q", "gpserver", "-n", f"gpserver-{os.getpid()}@%h"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv)


@cli.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    tool: Annotated[str, typer.Argument(help="Tool or model name")],
    services: Annotated[
        str | None, typer.Option("--services", help="Services file [env GPSERVER_SERVICES_FILE, default samples]")
    ] = None,
) -> None:
    """Run a tool or model locally: --param value pairs in the REST syntax; results JSON on stdout."""
    from pathlib import Path

    from gpserver.tools.runner import run_cli

    code = run_cli(tool, list(ctx.args), Path(services) if services else None, sys.stdout, sys.stderr)
    raise typer.Exit(code)


def main() -> None:
    """Entry point of the console script."""
    try:
        cli()
    except ConfigurationError as exc:  # pragma: no cover - commands catch their own
        typer.echo(f"gpserver: {exc.message}", err=True)
        sys.exit(2)
