"""Declaring a tool: typed inputs and outputs, once, from which everything else is derived.

```python
class BufferInputs(GPInputs):
    in_features: Annotated[FeatureSet, Input("Input Features")]
    dissolve_option: Annotated[Literal["NONE", "ALL"], Input("Dissolve Type")] = "NONE"

class BufferOutputs(GPOutputs):
    out_feature_class: Annotated[FeatureSet, Output("Output Feature Class", geometry="esriGeometryPolygon")]

class Buffer(Tool[BufferInputs, BufferOutputs]):
    \"\"\"Creates buffer polygons around input features.\"\"\"
    name = "Buffer"
    def run(self, inputs: BufferInputs, ctx: ToolContext) -> BufferOutputs: ...
```

The task JSON (``describe``), request decoding and validation (``execution``), the command line
and the docs all read :func:`parameters` of a tool class.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from gpserver.errors import ConfigurationError, JobCancelledError, JobTimedOutError
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.srs import SpatialReference
from gpserver.gp.types import GPType, gp_type_for, literal_choices

MessageType = Literal["esriJobMessageTypeInformative", "esriJobMessageTypeWarning", "esriJobMessageTypeError"]


@dataclass(frozen=True, slots=True)
class Input:
    """Marks an input parameter.

    Attributes:
        display_name: the label clients show.
        description: help text.
        category: parameter group.
        data_type: force a GP data type name where the annotation is ambiguous (``GPRecordSet``).
        geometry: allowed geometry types of a feature-set input (a ``featureClass`` filter).
        range: ``(minimum, maximum)`` of a numeric input (a ``range`` filter).
        fields: the schema of a feature-set input's default value.
        sr: the spatial reference of a feature-set input's default value.
        file_types: allowed extensions (no dot) of a GPDataFile input (a ``file`` filter).
        field_types: allowed ``esriFieldType*`` of a Field input (a ``field`` filter).
    """

    display_name: str
    description: str = ""
    category: str = ""
    data_type: str | None = None
    geometry: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    fields: tuple[FieldDef, ...] = ()
    sr: SpatialReference | None = None
    file_types: tuple[str, ...] = ()
    field_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Output:
    """Marks an output parameter.

    Attributes:
        display_name: the label clients show.
        description: help text.
        derived: published as ``esriGPParameterTypeDerived`` (ArcGIS: an output the tool computes
            from its inputs, such as AddField's ``out_table``).
        data_type: force a GP data type name.
        geometry: geometry type of a feature-set output.
        fields: fields of a feature-set output's schema.
    """

    display_name: str
    description: str = ""
    category: str = ""
    derived: bool = False
    data_type: str | None = None
    geometry: str | None = None
    fields: tuple[FieldDef, ...] = ()


class GPInputs(BaseModel):
    """Base of a tool's inputs model: one field per input parameter, in ArcGIS order."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)


class GPOutputs(BaseModel):
    """Base of a tool's outputs model: one field per output parameter."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of a tool, derived from its declaration."""

    name: str
    direction: Literal["input", "output"]
    gp_type: GPType[Any]
    marker: Input | Output
    required: bool
    default: Any
    choices: list[str] | None

    @property
    def data_type(self) -> str:
        """The ``dataType`` name."""
        return self.gp_type.name


@dataclass(slots=True)
class Message:
    """A job/execute message."""

    type: MessageType
    description: str

    def to_json(self) -> dict[str, str]:
        """``{"type", "description"}``."""
        return {"type": self.type, "description": self.description}


@dataclass(slots=True)
class Environment:
    """Request environment a tool may read (``env:outSR``, ``env:processSR``, ``context.extent``)."""

    out_sr: SpatialReference | None = None
    process_sr: SpatialReference | None = None
    extent: Any = None


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")


class ToolContext:
    """What a running tool may do besides computing: report messages and progress, write output
    files, and stop when its job was cancelled or timed out. The same object serves ``execute``
    and jobs.

    Attributes:
        output_dir: where the tool writes output files (GPDataFile, rasters); the caller publishes
            them (``execute``: ``rest/directories/arcgisoutput``); ``None`` when files cannot be output.
    """

    def __init__(
        self,
        *,
        env: Environment | None = None,
        stop_reason: Callable[[], str | None] = lambda: None,
        deadline: float | None = None,
        output_dir: Path | None = None,
    ) -> None:
        self.env = env or Environment()
        self.output_dir = output_dir
        self.messages: list[Message] = []
        self.progress_info: dict[str, Any] | None = None
        self._stop_reason = stop_reason
        self._deadline = deadline
        self._lock = threading.Lock()

    def message(self, text: str) -> None:
        """Add an informative message."""
        self._add("esriJobMessageTypeInformative", text)

    def warning(self, text: str) -> None:
        """Add a warning message."""
        self._add("esriJobMessageTypeWarning", text)

    def error(self, text: str) -> None:
        """Add an error message (the tool still decides whether to fail)."""
        self._add("esriJobMessageTypeError", text)

    def _add(self, kind: MessageType, text: str) -> None:
        with self._lock:
            self.messages.append(Message(kind, text))

    def progress(self, percent: float | None = None, message: str = "") -> None:
        """Report progress: a percentage (a ``step`` progressor) or just a message."""
        if percent is None:
            self.progress_info = {"type": "default", "message": message or "Executing..."}
        else:
            pct = max(0, min(100, round(percent)))
            self.progress_info = {"type": "step", "message": message, "percent": pct}

    def check_cancelled(self) -> None:
        """Raise when the job was cancelled or ran past its time limit; call it between steps."""
        reason = self._stop_reason()
        if reason == "cancelled":
            raise JobCancelledError("The job was cancelled.")
        if reason == "timed_out" or (self._deadline is not None and time.monotonic() > self._deadline):
            raise JobTimedOutError("The job exceeded its time limit.")

    def new_output_path(self, name: str) -> Path:
        """A path for an output file named ``name`` (letters, digits, ``._-``) in the output directory."""
        if self.output_dir is None:
            raise ConfigurationError("This run cannot write output files (no output directory).")
        if not _SAFE_NAME.fullmatch(name) or ".." in name:
            raise ConfigurationError(f"Invalid output file name {name!r}")
        self.output_dir.mkdir(parents=True, exist_ok=True)
        return self.output_dir / name

    def snapshot(self) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
        """Messages and progress as JSON, safe to read from another thread."""
        with self._lock:
            return [m.to_json() for m in self.messages], self.progress_info


InT = TypeVar("InT", bound=GPInputs)
OutT = TypeVar("OutT", bound=GPOutputs)


class Tool(Generic[InT, OutT]):
    """Base of every tool: built-in, user-written or a model.

    Attributes:
        name: the task name (ArcGIS tool name, no spaces preferred).
        display_name: label; defaults to ``name``.
        category: toolset name.
        order: parameter order of the task JSON when outputs sit between inputs (ArcGIS Pro order);
            default: inputs, then outputs.
        inputs / outputs: the models, taken from the generic arguments.
        bounded: True when the tool's work grows with its inputs only (no file or network I/O, no
            output sized by a parameter): ``execute`` then runs small requests on the event loop
            instead of handing them to a thread. Leave False when unsure.
    """

    name: ClassVar[str]
    display_name: ClassVar[str | None] = None
    category: ClassVar[str] = ""
    order: ClassVar[Sequence[str]] = ()
    bounded: ClassVar[bool] = False
    inputs: ClassVar[type[GPInputs]]
    outputs: ClassVar[type[GPOutputs]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Tool:
                cls.inputs, cls.outputs = get_args(base)
        if "name" in cls.__dict__:
            cls._parameters = _derive(cls)

    _parameters: ClassVar[list[Parameter]]

    @classmethod
    def parameters(cls) -> list[Parameter]:
        """Every parameter, in published order."""
        return cls._parameters

    @classmethod
    def description(cls) -> str:
        """The first paragraph of the class docstring."""
        return (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")

    def run(self, inputs: InT, ctx: ToolContext) -> OutT:
        """Compute the outputs. Vectorised code; report with ``ctx``; no Esri JSON here."""
        raise NotImplementedError


def _derive(tool: type[Tool[Any, Any]]) -> list[Parameter]:
    params: list[Parameter] = []
    for direction, model in (("input", tool.inputs), ("output", tool.outputs)):
        for name, info in model.model_fields.items():
            marker = next((m for m in info.metadata if isinstance(m, Input | Output)), None)
            expected = Input if direction == "input" else Output
            if not isinstance(marker, expected):
                raise ConfigurationError(
                    f"Tool {tool.name}: parameter '{name}' needs an {expected.__name__}(...) marker"
                )
            table = marker.data_type == "GPRecordSet"
            schema = None
            if info.annotation is FeatureSet or literal_choices(info.annotation) is None:
                # Decoding takes a schema-less input's geometry type from the default only when the
                # parameter allows exactly one; otherwise each input says (or shows) its own.
                if table:
                    geometry = None
                elif isinstance(marker, Output):
                    geometry = marker.geometry
                else:
                    geometry = marker.geometry[0] if len(marker.geometry) == 1 else None
                schema = FeatureSet.empty(geometry, getattr(marker, "sr", None), marker.fields)
            gp_type = gp_type_for(info.annotation, table=table, default_schema=schema)
            if marker.data_type and not table:
                gp_type = gp_type.renamed(marker.data_type)
            required = info.is_required() if direction == "input" else True
            default = None if info.is_required() else info.default
            params.append(
                Parameter(name, direction, gp_type, marker, required, default, literal_choices(info.annotation))  # type: ignore[arg-type]
            )
    if tool.order:
        by_name = {p.name: p for p in params}
        if sorted(tool.order) != sorted(by_name):
            raise ConfigurationError(f"Tool {tool.name}: 'order' must name every parameter exactly once")
        params = [by_name[n] for n in tool.order]
    return params
