"""Models: chains of tool steps published as one task (like ModelBuilder models).

```yaml
models:
  - name: BufferClipDissolve
    description: Buffers points, clips the buffers to a study area and dissolves them.
    parameters:                        # model parameter -> step.parameter (or a list of them)
      in_points: buffer.in_features
      distance: buffer.buffer_distance_or_field
      study_area: clip.clip_features
    steps:
      - id: buffer
        tool: Buffer
      - id: clip
        tool: Clip
        inputs: {in_features: buffer.out_feature_class}   # wiring: step.output
      - id: dissolve
        tool: Dissolve
        values: {multi_part: SINGLE_PART}                  # constants, in the REST syntax
        inputs: {in_features: clip.out_feature_class}
    outputs:
      result: dissolve.out_feature_class
  - models/more.yaml                   # or a file (relative to the services file) with a models: list
```

At load every model becomes a :class:`Tool` subclass whose parameters are copied from the step
parameters they feed (type, marker, default, required-ness), so it runs through ``execute``,
jobs and ``gpserver run`` unchanged. Validation fails start-up with a ConfigurationError naming
the file, model and step: unknown tools or parameters, wired parameters of different GP types,
cycles, required step inputs nobody sets, bad constants. Steps run in dependency order; data stays
in memory; each step's messages are prefixed with its id and progress is scaled per step.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model

from gpserver.errors import ConfigurationError, GPServerError, ToolExecutionError
from gpserver.gp.tool import GPInputs, GPOutputs, Parameter, Tool, ToolContext
from gpserver.tools.registry import Registry

AnyToolType = type[Tool[Any, Any]]
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPATIBLE = {("GPFeatureRecordSetLayer", "GPRecordSet")}


class StepConfig(BaseModel):
    """One step: a tool, constants for some inputs, wiring of others from earlier steps."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    tool: str
    inputs: dict[str, str] = Field(default_factory=dict)
    values: dict[str, Any] = Field(default_factory=dict)


class ModelConfig(BaseModel):
    """A model in the services file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    description: str = ""
    display_name: str | None = Field(default=None, alias="displayName")
    category: str = "Models"
    parameters: dict[str, str | list[str]] = Field(default_factory=dict)
    steps: list[StepConfig] = Field(min_length=1)
    outputs: dict[str, str] = Field(min_length=1)


@dataclass
class _Step:
    """A resolved step."""

    config: StepConfig
    tool: AnyToolType
    constants: dict[str, Any] = field(default_factory=dict)
    wires: dict[str, tuple[str, str]] = field(default_factory=dict)  # input -> (step id, output)
    exposed: dict[str, str] = field(default_factory=dict)  # input -> model parameter


def load_model_files(entries: list[ModelConfig | str], base: Path | None, where: str) -> list[tuple[str, ModelConfig]]:
    """Models given inline or in referenced YAML files, each with the file it came from."""
    out: list[tuple[str, ModelConfig]] = []
    for entry in entries:
        if isinstance(entry, ModelConfig):
            out.append((where, entry))
            continue
        path = Path(entry)
        if not path.is_absolute():
            if base is None:
                raise ConfigurationError(f"{where}: model file '{entry}' needs a services file on disk")
            path = base / path
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"{where}: model file '{entry}' cannot be read: {exc}") from None
        items = data.get("models") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ConfigurationError(f"{path}: expected a 'models:' list")
        for k, item in enumerate(items):
            try:
                out.append((str(path), ModelConfig.model_validate(item)))
            except ValueError as exc:
                raise ConfigurationError(
                    f"{path}: models[{k}]: {str(exc).splitlines()[0]}", details=[str(exc)]
                ) from None
    return out


def build_models(models: list[tuple[str, ModelConfig]], registry: Registry) -> Registry:
    """The registry with every model added (a model may use the models before it)."""
    for where, config in models:
        registry = registry.with_tools([build_model(config, registry, where)])
    return registry


def build_model(config: ModelConfig, registry: Registry, where: str) -> AnyToolType:
    """Validate a model against the registry and derive its Tool class."""
    label = f"{where}: model '{config.name}'"
    steps = _resolve_steps(config, registry, label)
    order = _topological(steps, label)
    in_fields = _exposed_inputs(config, steps, label)
    for step in steps.values():
        _check_required(step, label)
    out_fields: dict[str, Any] = {}
    outputs: dict[str, tuple[str, str]] = {}
    for name, ref in config.outputs.items():
        step_id, param = _ref(ref, steps, label, f"output '{name}'")
        source = _param(steps[step_id].tool, param, "output", f"{label}, output '{name}'")
        _check_name(name, label)
        info = steps[step_id].tool.outputs.model_fields[source.name]
        out_fields[name] = (Annotated[info.annotation, *info.metadata], ...)
        outputs[name] = (step_id, source.name)
    inputs_model = create_model(f"{config.name}Inputs", __base__=GPInputs, **in_fields)
    outputs_model = create_model(f"{config.name}Outputs", __base__=GPOutputs, **out_fields)
    namespace: dict[str, Any] = {
        "__doc__": config.description or f"The model {config.name}.",
        "__module__": __name__,
        "name": config.name,
        "display_name": config.display_name,
        "category": config.category,
        "steps": [steps[s] for s in order],
        "wiring": outputs,
        # Tool.__init_subclass__ reads the models from the generic base, as for a declared tool.
        "__orig_bases__": (Tool[inputs_model, outputs_model],),
    }
    try:
        return types.new_class(config.name, (ModelTool,), {}, lambda ns: ns.update(namespace))
    except ConfigurationError as exc:
        raise ConfigurationError(f"{label}: {exc.message}", details=exc.details) from None


class ModelTool(Tool[GPInputs, GPOutputs]):
    """Base of model tools: runs the steps in order with per-step messages and progress."""

    steps: list[_Step]
    wiring: dict[str, tuple[str, str]]

    def run(self, inputs: GPInputs, ctx: ToolContext) -> GPOutputs:
        """Run every step; intermediate results stay in memory."""
        from gpserver.gp.execution import run_tool

        results: dict[str, Any] = {}
        total = len(self.steps)
        for k, step in enumerate(self.steps):
            ctx.check_cancelled()
            sid = step.config.id
            ctx.message(f"Executing step {k + 1} of {total}: {sid} ({step.tool.name})")
            ctx.progress(100 * k / total, f"Step {k + 1}/{total}: {sid}")
            values: dict[str, Any] = dict(step.constants)
            for param, model_param in step.exposed.items():
                value = getattr(inputs, model_param)
                if value is not None:
                    values[param] = value
            for param, (src, out) in step.wires.items():
                values[param] = getattr(results[src], out)
            try:
                step_inputs = step.tool.inputs(**values)
            except ValueError as exc:
                raise ToolExecutionError(f"Step {sid}: invalid inputs", details=[str(exc).splitlines()[0]]) from None
            try:
                results[sid] = run_tool(step.tool, step_inputs, StepContext(ctx, sid, k, total))
            except ToolExecutionError as exc:
                raise ToolExecutionError(
                    f"Step '{sid}' ({step.tool.name}) failed: {exc.message}", details=exc.details
                ) from None
        ctx.progress(100, "Done")
        return self.outputs(**{name: getattr(results[s], p) for name, (s, p) in self.wiring.items()})


class StepContext(ToolContext):
    """A step's view of the model's context: messages prefixed with the step id, progress scaled."""

    def __init__(self, parent: ToolContext, step: str, index: int, total: int) -> None:
        super().__init__(env=parent.env)
        self.parent, self.step, self.index, self.total = parent, step, index, total

    def message(self, text: str) -> None:
        """Forward an informative message."""
        self.parent.message(f"[{self.step}] {text}")

    def warning(self, text: str) -> None:
        """Forward a warning."""
        self.parent.warning(f"[{self.step}] {text}")

    def error(self, text: str) -> None:
        """Forward an error message."""
        self.parent.error(f"[{self.step}] {text}")

    def progress(self, percent: float | None = None, message: str = "") -> None:
        """Scale the step's percentage into its share of the model."""
        text = f"[{self.step}] {message}".rstrip()
        if percent is None:
            self.parent.progress(None, text)
        else:
            self.parent.progress(100 * (self.index + max(0.0, min(100.0, percent)) / 100) / self.total, text)

    def check_cancelled(self) -> None:
        """The model's job decides."""
        self.parent.check_cancelled()


def _resolve_steps(config: ModelConfig, registry: Registry, label: str) -> dict[str, _Step]:
    steps: dict[str, _Step] = {}
    for step in config.steps:
        where = f"{label}, step '{step.id}'"
        if step.id in steps:
            raise ConfigurationError(f"{where}: two steps have this id")
        try:
            tool = registry[step.tool]
        except KeyError:
            raise ConfigurationError(
                f"{where}: unknown tool '{step.tool}'", details=[f"known tools: {', '.join(sorted(registry))}"]
            ) from None
        resolved = _Step(step, tool)
        for param, raw in step.values.items():
            p = _param(tool, param, "input", where)
            try:
                decoded = p.gp_type.decode(raw if isinstance(raw, str) else _json(raw), param=p.name)
                resolved.constants[p.name] = _choose(p, decoded)
            except GPServerError as exc:
                raise ConfigurationError(
                    f"{where}: bad value for '{param}': {exc.message}", details=exc.details
                ) from None
        steps[step.id] = resolved
    for step in config.steps:
        where = f"{label}, step '{step.id}'"
        resolved = steps[step.id]
        for param, ref in step.inputs.items():
            target = _param(resolved.tool, param, "input", where)
            src, out = _ref(ref, steps, where, f"input '{param}'")
            if src == step.id:
                raise ConfigurationError(f"{where}: input '{param}' is wired to its own step (a cycle)")
            source = _param(steps[src].tool, out, "output", f"{label}, step '{src}'")
            _check_types(source, target, f"{where}: input '{param}' <- {ref}")
            if target.name in resolved.constants:
                raise ConfigurationError(f"{where}: input '{param}' is both wired and given a value")
            resolved.wires[target.name] = (src, source.name)
    return steps


def _exposed_inputs(config: ModelConfig, steps: dict[str, _Step], label: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, refs in config.parameters.items():
        _check_name(name, label)
        targets = [refs] if isinstance(refs, str) else refs
        if not targets:
            raise ConfigurationError(f"{label}: parameter '{name}' feeds no step")
        first: Parameter | None = None
        for ref in targets:
            sid, param = _ref(ref, steps, label, f"parameter '{name}'")
            step = steps[sid]
            target = _param(step.tool, param, "input", f"{label}, step '{sid}'")
            if target.name in step.wires or target.name in step.constants or target.name in step.exposed:
                raise ConfigurationError(f"{label}: parameter '{name}' feeds {ref}, which is already set")
            if first is not None:
                _check_types(first, target, f"{label}: parameter '{name}' feeds {ref}")
            else:
                first = target
                info = step.tool.inputs.model_fields[target.name]
                default = ... if info.is_required() else info.default
                fields[name] = (Annotated[info.annotation, *info.metadata], default)
            step.exposed[target.name] = name
    return fields


def _check_required(step: _Step, label: str) -> None:
    for p in step.tool.parameters():
        if p.direction == "input" and p.required:
            if p.name not in step.constants and p.name not in step.wires and p.name not in step.exposed:
                raise ConfigurationError(
                    f"{label}, step '{step.config.id}': required input '{p.name}' is not set",
                    details=["Expose it under parameters:, wire it under inputs: or give it under values:."],
                )


def _topological(steps: dict[str, _Step], label: str) -> list[str]:
    """Step ids in dependency order (Kahn's algorithm); a cycle is a configuration error."""
    needs = {sid: {src for src, _ in s.wires.values()} for sid, s in steps.items()}
    order: list[str] = []
    ready = [sid for sid in steps if not needs[sid]]
    while ready:
        sid = ready.pop(0)
        order.append(sid)
        for other, deps in needs.items():
            if sid in deps:
                deps.discard(sid)
                if not deps and other not in order and other not in ready:
                    ready.append(other)
    if len(order) < len(steps):
        stuck = sorted(set(steps) - set(order))
        raise ConfigurationError(f"{label}: the steps {', '.join(stuck)} form a cycle")
    return order


def _ref(ref: str, steps: Mapping[str, _Step], where: str, what: str) -> tuple[str, str]:
    sid, dot, param = ref.partition(".")
    if not dot or not sid or not param:
        raise ConfigurationError(f"{where}: {what}: '{ref}' is not 'step.parameter'")
    if sid not in steps:
        raise ConfigurationError(f"{where}: {what}: unknown step '{sid}'", details=[f"steps: {', '.join(steps)}"])
    return sid, param


def _param(tool: AnyToolType, name: str, direction: str, where: str) -> Parameter:
    for p in tool.parameters():
        if p.name.lower() == name.lower() and p.direction == direction:
            return p
    known = [p.name for p in tool.parameters() if p.direction == direction]
    raise ConfigurationError(
        f"{where}: {tool.name} has no {direction} parameter '{name}'", details=[f"{direction}s: {', '.join(known)}"]
    )


def _check_types(source: Parameter, target: Parameter, where: str) -> None:
    a, b = source.data_type, target.data_type
    if a != b and (a, b) not in _COMPATIBLE:
        raise ConfigurationError(f"{where}: type mismatch, {a} cannot feed {b}")


def _check_name(name: str, label: str) -> None:
    if not _ID.fullmatch(name) or name.startswith("_") or name in ("model_config", "model_fields"):
        raise ConfigurationError(f"{label}: '{name}' is not a valid parameter name (letters, digits, _)")


def _choose(p: Parameter, value: Any) -> Any:
    """A constant checked against the parameter's choice list (canonical spelling)."""
    if not p.choices:
        return value
    canon = {c.lower(): c for c in p.choices}
    items = value if isinstance(value, list) else [value]
    bad = [v for v in items if str(v).lower() not in canon]
    if bad:
        raise ConfigurationError(f"'{bad[0]}' is not one of {p.choices}")
    picked = [canon[str(v).lower()] for v in items]
    return picked if isinstance(value, list) else picked[0]


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()
