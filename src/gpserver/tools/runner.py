"""``gpserver run <Tool> --param value ...``: run a tool or model locally, as ``execute`` would.

Values use the REST API's syntax (JSON or literals; ``@file.json`` reads a file). Messages and
progress go to stderr as they happen, the results array to stdout as JSON.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

import orjson

from gpserver.errors import ConfigurationError, GPServerError, InvalidParameterError
from gpserver.gp.execution import invoke, read_environment
from gpserver.gp.tool import ToolContext


class ConsoleContext(ToolContext):
    """A tool context that prints messages and progress to a stream as they come."""

    def __init__(self, stream: TextIO, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream = stream

    def message(self, text: str) -> None:
        """Print and keep an informative message."""
        super().message(text)
        print(text, file=self.stream, flush=True)  # noqa: T201 - this is the console

    def warning(self, text: str) -> None:
        """Print and keep a warning."""
        super().warning(text)
        print(f"WARNING: {text}", file=self.stream, flush=True)  # noqa: T201

    def error(self, text: str) -> None:
        """Print and keep an error message."""
        super().error(text)
        print(f"ERROR: {text}", file=self.stream, flush=True)  # noqa: T201

    def progress(self, percent: float | None = None, message: str = "") -> None:
        """Print a progress line."""
        super().progress(percent, message)
        shown = "" if percent is None else f"{max(0, min(100, round(percent))):3d}% "
        print(f"[progress] {shown}{message}".rstrip(), file=self.stream, flush=True)  # noqa: T201


def parse_args(args: list[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs; ``@path`` values are read from files."""
    params: dict[str, str] = {}
    k = 0
    while k < len(args):
        arg = args[k]
        if not arg.startswith("--") or len(arg) < 3:
            raise InvalidParameterError(f"Unexpected argument '{arg}'", details=["Use --name value pairs."])
        name, eq, val = arg[2:].partition("=")
        if not eq:
            if k + 1 >= len(args):
                raise InvalidParameterError(f"Missing a value for --{name}")
            val = args[k + 1]
            k += 1
        k += 1
        if val.startswith("@"):
            val = Path(val[1:]).read_text(encoding="utf-8")
        params[name] = val
    return params


def run_cli(tool_name: str, args: list[str], services: Path | None, out: TextIO, err: TextIO) -> int:
    """Run one tool; return the process exit code (0 success, 1 tool/parameter error, 2 configuration)."""
    from gpserver.services.catalog import load_registry
    from gpserver.services.config import load_services_file

    path = services or (
        Path(os.environ["GPSERVER_SERVICES_FILE"]) if os.environ.get("GPSERVER_SERVICES_FILE") else None
    )
    try:
        registry = load_registry(load_services_file(path))
        try:
            tool = registry[tool_name]
        except KeyError:
            raise ConfigurationError(
                f"Unknown tool '{tool_name}'", details=[f"known tools: {', '.join(sorted(registry))}"]
            ) from None
    except ConfigurationError as exc:
        print(f"gpserver: {exc.message}", file=err)  # noqa: T201
        for line in exc.details:
            print(f"  {line}", file=err)  # noqa: T201
        return 2
    ctx = ConsoleContext(err)
    try:
        params = parse_args(args)
        env, opts = read_environment(params)
        ctx.env = env
        results = invoke(tool, params, ctx, opts)
    except (GPServerError, OSError) as exc:
        message = exc.message if isinstance(exc, GPServerError) else str(exc)
        details = exc.details if isinstance(exc, GPServerError) else []
        body = {"error": {"message": message, "details": details}}
        print(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode(), file=err)  # noqa: T201
        return 1
    out.write(
        orjson.dumps({"results": results}, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode() + "\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m gpserver.tools.runner Tool --param value``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: gpserver run <Tool> [--services FILE] --param value ...", file=sys.stderr)  # noqa: T201
        return 2
    return run_cli(args[0], args[1:], None, sys.stdout, sys.stderr)
