"""User toolboxes: Python files or modules whose ``TOOLS`` list publishes more tools.

```yaml
toolboxes:
  - toolbox/my_tools.py        # a file, relative to the services file
  - my_company.gp_tools        # an importable module
```

A toolbox declares tools exactly as the built-ins do (``Tool[Inputs, Outputs]`` with ``Input`` /
``Output`` markers) and lists them in a module-level ``TOOLS = [...]``. Import errors, a missing
or malformed ``TOOLS`` and bad declarations fail start-up with a ConfigurationError naming the file.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from gpserver.errors import ConfigurationError
from gpserver.gp.tool import Tool

AnyToolType = type[Tool[Any, Any]]


def load_toolboxes(entries: list[str], base: Path | None, where: str) -> list[AnyToolType]:
    """Every tool of every toolbox, in order; ``base`` resolves relative file paths."""
    tools: list[AnyToolType] = []
    for entry in entries:
        module = _import(entry, base, where)
        tools.extend(_tools_of(module, entry, where))
    return tools


def _is_path(entry: str) -> bool:
    return entry.endswith(".py") or "/" in entry or "\\" in entry


def _import(entry: str, base: Path | None, where: str) -> ModuleType:
    label = f"{where}: toolbox '{entry}'"
    try:
        if not _is_path(entry):
            return importlib.import_module(entry)
        path = Path(entry)
        if not path.is_absolute():
            if base is None:
                raise ConfigurationError(f"{label}: a relative path needs a services file on disk")
            path = base / path
        if not path.is_file():
            raise ConfigurationError(f"{label}: file {path} does not exist")
        digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:10]
        name = f"gpserver_toolbox_{path.stem}_{digest}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigurationError(f"{label}: {path} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # pydantic resolves the toolbox's annotations through sys.modules
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module
    except ConfigurationError as exc:
        if exc.message.startswith(label):
            raise
        raise ConfigurationError(f"{label}: {exc.message}", details=exc.details) from None
    except Exception as exc:  # an import error, a syntax error, anything the module raises while loading
        raise ConfigurationError(f"{label} cannot be loaded: {type(exc).__name__}: {exc}") from None


def _tools_of(module: ModuleType, entry: str, where: str) -> list[AnyToolType]:
    label = f"{where}: toolbox '{entry}'"
    listed = getattr(module, "TOOLS", None)
    if not isinstance(listed, list | tuple):
        raise ConfigurationError(f"{label} has no TOOLS list", details=["Add TOOLS = [MyTool, ...] to the module."])
    out: list[AnyToolType] = []
    for item in listed:
        if not (isinstance(item, type) and issubclass(item, Tool)):
            raise ConfigurationError(f"{label}: TOOLS holds {item!r}, which is not a Tool subclass")
        if "name" not in item.__dict__ or not isinstance(item.__dict__["name"], str) or not item.name.strip():
            raise ConfigurationError(f"{label}: {item.__name__} needs a class attribute name = '...'")
        if "run" not in {k for cls in item.__mro__ if cls is not Tool for k in cls.__dict__}:
            raise ConfigurationError(f"{label}: {item.__name__} does not implement run()")
        out.append(item)
    return out
