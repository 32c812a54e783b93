"""The services file (YAML): what is published, validated at start-up with file/line messages.

```yaml
services:
  - name: SampleSync            # letters, digits, _ and -
    folder: Samples             # optional, one level
    description: Buffers, projects and adds fields.
    execution: sync             # sync | async
    maximumRecords: 100000
    timeLimit: 600              # seconds a job may run (async)
    uploads: true               # optional: the service's ``uploads`` resource (capability "Uploads")
    secured: true               # optional: every resource needs a token (generateToken)
    roles: [publisher]          # optional, with secured: roles allowed (default: all); administrators always
    tools: [Buffer, Project, AddField]   # or {tool: Buffer, name: BufferPoints}
toolboxes: [my_package.tools, toolbox/my_tools.py]  # optional: modules or files whose ``TOOLS`` list adds tools
models: [...]                   # optional: tool chains published as tasks (see gpserver.tools.models)
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gpserver.errors import ConfigurationError
from gpserver.tools.models import ModelConfig

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\- ]*")


class TaskConfig(BaseModel):
    """A published task: a tool, optionally under another name."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    name: str | None = None


class ServiceConfig(BaseModel):
    """One GP service."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    folder: str | None = None
    description: str = ""
    execution: Literal["sync", "async"] = "sync"
    maximum_records: int = Field(default=1000, ge=1, alias="maximumRecords")
    time_limit: float | None = Field(default=None, gt=0, alias="timeLimit")
    uploads: bool = False
    secured: bool = False
    roles: list[Literal["viewer", "publisher", "administrator"]] | None = Field(default=None, min_length=1)
    tools: list[TaskConfig | str] = Field(min_length=1)

    @field_validator("name", "folder")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.fullmatch(value):
            raise ValueError(f"'{value}' may hold only letters, digits, '_', '-' and spaces")
        return value

    @model_validator(mode="after")
    def _roles_need_secured(self) -> ServiceConfig:
        if self.roles is not None and not self.secured:
            raise ValueError("'roles' applies to secured services: add 'secured: true'")
        return self

    def allowed_roles(self) -> tuple[str, ...]:
        """Roles that may use the service (administrators always may)."""
        return ("viewer", "publisher", "administrator") if self.roles is None else (*self.roles, "administrator")

    def tasks(self) -> list[TaskConfig]:
        """The tasks, short forms expanded."""
        return [TaskConfig(tool=t) if isinstance(t, str) else t for t in self.tools]


class ServicesFile(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    services: list[ServiceConfig] = Field(min_length=1)
    toolboxes: list[str] = Field(default_factory=list)
    models: list[ModelConfig | str] = Field(default_factory=list)


@dataclass(frozen=True)
class Loaded:
    """A parsed services file and where it came from."""

    path: str
    config: ServicesFile


def bundled_samples() -> str:
    """Text of the bundled sample services file."""
    return resources.files("gpserver.services").joinpath("samples.yaml").read_text(encoding="utf-8")


def load_services_file(path: Path | None) -> Loaded:
    """Read and validate a services file (``None``: the bundled samples)."""
    if path is None:
        return parse_services(bundled_samples(), "<bundled samples.yaml>")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the services file {path}: {exc.strerror}") from None
    return parse_services(text, str(path))


def parse_services(text: str, where: str) -> Loaded:
    """Validate services-file text; errors name the file, the line and the key."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    try:
        return Loaded(where, ServicesFile.model_validate(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p in ("TaskConfig", "ModelConfig", "str"))]
            key = ".".join(str(p) for p in loc) or "(top)"
            problems.append(f"{where}, line {_line(node, loc)}: {key}: {err['msg']}")
        raise ConfigurationError(problems[0], details=problems) from None


def _line(node: Any, loc: list[Any]) -> int:
    """The line of the deepest YAML node along ``loc`` (1-based)."""
    best = node
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
        if node is None:
            break
        best = node
    return int(best.start_mark.line + 1) if best is not None else 1
