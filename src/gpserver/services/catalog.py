"""The catalog: services by path, each with its tasks resolved to tool classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpserver.errors import ConfigurationError, UnknownFolderError, UnknownServiceError, UnknownTaskError
from gpserver.gp.tool import Tool
from gpserver.services.config import Loaded, ServiceConfig, load_services_file
from gpserver.tools.loader import load_toolboxes
from gpserver.tools.models import build_models, load_model_files
from gpserver.tools.registry import Registry, builtin_registry

AnyToolType = type[Tool[Any, Any]]


@dataclass(frozen=True)
class Service:
    """A published GP service.

    Attributes:
        config: its entry in the services file.
        tasks: task name -> tool class, in published order.
    """

    config: ServiceConfig
    tasks: dict[str, AnyToolType]

    @property
    def path(self) -> str:
        """``Folder/Name`` or ``Name``."""
        return f"{self.config.folder}/{self.config.name}" if self.config.folder else self.config.name

    @property
    def is_async(self) -> bool:
        """True for asynchronous (submitJob) services."""
        return self.config.execution == "async"

    def task(self, name: str) -> tuple[str, AnyToolType]:
        """A task by name (case-insensitive), or UnknownTaskError."""
        low = name.lower()
        for task_name, tool in self.tasks.items():
            if task_name.lower() == low:
                return task_name, tool
        raise UnknownTaskError("Invalid URL", details=[f"Task '{name}' does not exist in service '{self.path}'"])


@dataclass(frozen=True)
class Catalog:
    """Every service, by lower-cased path."""

    services: dict[str, Service] = field(default_factory=dict)

    @classmethod
    def build(cls, loaded: Loaded, registry: Registry) -> Catalog:
        """Resolve every task to a tool; an unknown tool or a duplicate fails start-up."""
        services: dict[str, Service] = {}
        for i, svc in enumerate(loaded.config.services):
            tasks: dict[str, AnyToolType] = {}
            for task in svc.tasks():
                try:
                    tool = registry[task.tool]
                except KeyError:
                    raise ConfigurationError(
                        f"{loaded.path}: services[{i}] ({svc.name}): unknown tool '{task.tool}'",
                        details=[f"known tools: {', '.join(sorted(registry))}"],
                    ) from None
                name = task.name or tool.name
                if name.lower() in (t.lower() for t in tasks):
                    raise ConfigurationError(f"{loaded.path}: services[{i}] ({svc.name}): two tasks named '{name}'")
                tasks[name] = tool
            service = Service(svc, tasks)
            if service.path.lower() in services:
                raise ConfigurationError(f"{loaded.path}: two services named '{service.path}'")
            services[service.path.lower()] = service
        return cls(services)

    def service(self, path: str) -> Service:
        """A service by ``[Folder/]Name`` (case-insensitive), or UnknownServiceError."""
        try:
            return self.services[path.strip("/").lower()]
        except KeyError:
            raise UnknownServiceError("Invalid URL", details=[f"Service '{path}' does not exist"]) from None

    def folders(self) -> list[str]:
        """Folder names, sorted."""
        return sorted({s.config.folder for s in self.services.values() if s.config.folder})

    def listing(self, folder: str | None) -> list[Service]:
        """Services directly in a folder (``None``: the root)."""
        if folder is not None and folder.lower() not in (f.lower() for f in self.folders()):
            raise UnknownFolderError("Invalid URL", details=[f"Folder '{folder}' does not exist"])
        low = folder.lower() if folder else None
        return [s for s in self.services.values() if (s.config.folder or "").lower() == (low or "")]


def load_catalog(services_file: Path | None) -> Catalog:
    """The services file resolved against the built-in tools, its ``toolboxes`` and its ``models``."""
    loaded = load_services_file(services_file)
    return Catalog.build(loaded, load_registry(loaded))


def load_registry(loaded: Loaded) -> Registry:
    """Built-in tools, then the toolboxes' tools, then the models (each may use what comes before)."""
    base = Path(loaded.path).parent if Path(loaded.path).is_file() else None
    registry = builtin_registry()
    try:
        registry = registry.with_tools(load_toolboxes(loaded.config.toolboxes, base, loaded.path))
    except ConfigurationError as exc:
        if exc.message.startswith("Two tools"):
            raise ConfigurationError(f"{loaded.path}: toolboxes: {exc.message}") from None
        raise
    models = load_model_files(loaded.config.models, base, loaded.path)
    try:
        return build_models(models, registry)
    except ConfigurationError as exc:
        if exc.message.startswith("Two tools"):
            raise ConfigurationError(f"{loaded.path}: models: {exc.message}") from None
        raise
