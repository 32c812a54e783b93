"""The ``gpserver`` command line: serve, worker, db upgrade, run, user."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated, Any

import typer

from gpserver.errors import ConfigurationError

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="An ArcGIS-compatible geoprocessing server.")
db_cli = typer.Typer(no_args_is_help=True, help="Database schema.")
cli.add_typer(db_cli, name="db")
user_cli = typer.Typer(no_args_is_help=True, help="Users who may sign in (generateToken) and their roles.")
cli.add_typer(user_cli, name="user")


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
    log_level: Annotated[str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug")] = "info",
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
    # The server's own loggers log at the same level as uvicorn's (tokens redacted: gpserver.auth.redact).
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(
        "gpserver.app:app_from_env",
        factory=True,
        host=settings.api.host,
        port=settings.api.port,
        workers=workers,
        log_level=log_level.lower(),
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
    argv += ["-Q", settings.jobs.job_queue, "-n", f"gpserver-{os.getpid()}@%h"]
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


def _users() -> Any:
    """The user store of the configured database (SQLite migrates itself; PostgreSQL must be current)."""
    from gpserver.auth.service import Authenticator
    from gpserver.settings import Settings

    try:
        return Authenticator(Settings.from_env()).users
    except ConfigurationError as exc:
        _fail(exc)


def _password(password: str | None, stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if password is not None:
        return password
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user_cli.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (case-sensitive)")],
    role: Annotated[str, typer.Option(help="viewer, publisher or administrator")] = "viewer",
    password: Annotated[str | None, typer.Option(help="Password (prefer --password-stdin or the prompt)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Add a user (the password is asked for unless given)."""
    users = _users()
    try:
        users.add(name, _password(password, password_stdin), role)
    except ConfigurationError as exc:
        _fail(exc)
    typer.echo(f"gpserver: user '{name}' added ({role})")


@user_cli.command("passwd")
def user_passwd(
    name: Annotated[str, typer.Argument(help="User name")],
    password: Annotated[str | None, typer.Option(help="New password (prefer --password-stdin or the prompt)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Set a user's password."""
    _user_change(name, "password changed", lambda users: users.set_password(name, _password(password, password_stdin)))


@user_cli.command("role")
def user_role(
    name: Annotated[str, typer.Argument(help="User name")],
    role: Annotated[str, typer.Argument(help="viewer, publisher or administrator")],
) -> None:
    """Change a user's role."""
    _user_change(name, f"role is now {role}", lambda users: users.set_role(name, role))


@user_cli.command("revoke")
def user_revoke(name: Annotated[str, typer.Argument(help="User name")]) -> None:
    """Revoke every token issued to the user so far."""
    _user_change(name, "tokens revoked", lambda users: users.revoke_tokens(name))


@user_cli.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="User name")]) -> None:
    """Disable a user: no sign-in, every token refused."""
    _user_change(name, "disabled", lambda users: users.set_disabled(name, True))


@user_cli.command("enable")
def user_enable(name: Annotated[str, typer.Argument(help="User name")]) -> None:
    """Enable a disabled user again."""
    _user_change(name, "enabled", lambda users: users.set_disabled(name, False))


def _user_change(name: str, done: str, change: Any) -> None:
    users = _users()
    try:
        found = change(users)
    except ConfigurationError as exc:
        _fail(exc)
    if not found:
        _fail(ConfigurationError(f"No user named '{name}'."))
    typer.echo(f"gpserver: user '{name}': {done}")


@user_cli.command("list")
def user_list() -> None:
    """List users and roles."""
    for user in _users().list():
        state = "\tdisabled" if user.disabled else ""
        typer.echo(f"{user.username}\t{user.role}{state}")


def main() -> None:
    """Entry point of the console script."""
    try:
        cli()
    except ConfigurationError as exc:  # pragma: no cover - commands catch their own
        typer.echo(f"gpserver: {exc.message}", err=True)
        sys.exit(2)
