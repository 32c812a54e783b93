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


def main() -> None:
    """Entry point of the console script."""
    try:
        cli()
    except ConfigurationError as exc:  # pragma: no cover - commands catch their own
        typer.echo(f"gpserver: {exc.message}", err=True)
        sys.exit(2)
