"""Task JSON derived from a tool's declaration, never written by hand (spec 4.1-4.3)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gpserver.gp.structured import CompositeType, ValueTableType
from gpserver.gp.tool import Input, Output, Parameter, Tool
from gpserver.gp.types import FeatureSetType, MultiValueType

EXECUTION_TYPES = {"sync": "esriExecutionTypeSynchronous", "async": "esriExecutionTypeAsynchronous"}


def describe_parameter(param: Parameter) -> dict[str, Any]:
    """One parameter object with all eight keys clients index without defaults (spec 4.2)."""
    marker = param.marker
    if param.direction == "input":
        kind = "esriGPParameterTypeRequired" if param.required else "esriGPParameterTypeOptional"
    else:
        derived = isinstance(marker, Output) and marker.derived
        kind = "esriGPParameterTypeDerived" if derived else "esriGPParameterTypeRequired"
    out: dict[str, Any] = {
        "name": param.name,
        "dataType": param.data_type,
        "displayName": marker.display_name,
        "description": marker.description,
        "direction": (
            "esriGPParameterDirectionInput" if param.direction == "input" else "esriGPParameterDirectionOutput"
        ),
        "defaultValue": _default_value(param),
        "parameterType": kind,
        "category": marker.category,
    }
    if param.choices:
        out["choiceList"] = list(param.choices)
    if isinstance(marker, Input):
        if marker.range is not None:
            out["filter"] = {"type": "range", "minimum": marker.range[0], "maximum": marker.range[1]}
        elif marker.geometry and isinstance(param.gp_type, FeatureSetType):
            out["filter"] = {"type": "featureClass", "list": list(marker.geometry)}
        elif marker.file_types:
            out["filter"] = {"type": "file", "list": [t.lower().lstrip(".") for t in marker.file_types]}
        elif marker.field_types:
            out["filter"] = {"type": "field", "list": list(marker.field_types)}
    if isinstance(param.gp_type, MultiValueType):
        out["parameterInfos"] = [{"name": "", "dataType": param.gp_type.member.name, "displayName": ""}]
    elif isinstance(param.gp_type, ValueTableType | CompositeType):
        out["parameterInfos"] = param.gp_type.parameter_infos()
    return out


def _default_value(param: Parameter) -> Any:
    codec = param.gp_type
    if isinstance(codec, FeatureSetType) and codec.default is not None:
        schema = codec.default
        allowed = getattr(param.marker, "geometry", None)
        if schema.geometry_type is None and not codec.table and isinstance(allowed, tuple) and allowed:
            schema = replace(schema, geometry_type=allowed[0])
        return codec.encode(schema)
    if param.default is None:
        return None
    return codec.encode(param.default)


def describe_task(tool: type[Tool[Any, Any]], *, execution: str, help_url: str = "") -> dict[str, Any]:
    """The task resource (spec 4.1)."""
    return {
        "name": tool.name,
        "displayName": tool.display_name or tool.name,
        "description": tool.description(),
        "category": tool.category,
        "helpUrl": help_url,
        "executionType": EXECUTION_TYPES[execution],
        "parameters": [describe_parameter(p) for p in tool.parameters()],
    }
