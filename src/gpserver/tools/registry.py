"""The tool registry: name -> tool class. Immutable; a second tool of the same name is an error."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from gpserver.errors import ConfigurationError
from gpserver.gp.tool import Tool

AnyToolType = type[Tool[Any, Any]]


class Registry(Mapping[str, AnyToolType]):
    """Tools by name (matched case-insensitively on lookup)."""

    def __init__(self, tools: Iterable[AnyToolType] = ()) -> None:
        self._tools: dict[str, AnyToolType] = {}
        for tool in tools:
            key = tool.name.lower()
            if key in self._tools:
                raise ConfigurationError(f"Two tools are named '{tool.name}'")
            self._tools[key] = tool

    def __getitem__(self, name: str) -> AnyToolType:
        return self._tools[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return (t.name for t in self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def with_tools(self, tools: Iterable[AnyToolType]) -> Registry:
        """A new registry with more tools (the built-ins stay untouched)."""
        return Registry([*self._tools.values(), *tools])


def builtin_registry() -> Registry:
    """The built-in tools."""
    from gpserver.tools.builtin.add_field import AddField
    from gpserver.tools.builtin.buffer import Buffer
    from gpserver.tools.builtin.project import Project

    return Registry([Buffer, Project, AddField])
