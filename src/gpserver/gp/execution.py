"""The one path from request values to results, shared by ``execute`` and jobs.

``decode_inputs`` validates exactly as both operations need (and applies the input limits);
``run_tool`` runs a tool with the ArcGIS start/succeeded/failed messages; ``encode_outputs``
writes the results array.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from pydantic import ValidationError

from gpserver.errors import (
    GPServerError,
    InvalidParameterError,
    JobCancelledError,
    JobTimedOutError,
    LimitExceededError,
    ToolExecutionError,
)
from gpserver.gp.esri_json import gc_paused
from gpserver.gp.features import FeatureSet, FieldDef
from gpserver.gp.srs import SpatialReference
from gpserver.gp.tool import Environment, GPInputs, GPOutputs, Parameter, Tool, ToolContext
from gpserver.gp.types import EncodeOptions, json_or_literal, parse_bool
from gpserver.gp.values import DataFile, RasterData

log = logging.getLogger(__name__)

AnyTool = Tool[Any, Any]


@dataclass(frozen=True, slots=True)
class InputLimits:
    """How large a decoded input may be (0: no limit).

    Attributes:
        max_features: features (records) in one feature or record set.
        max_vertices: vertices of one geometry.
    """

    max_features: int = 0
    max_vertices: int = 0


_process_limits = InputLimits()


def configure_limits(limits: InputLimits) -> None:
    """The limits ``decode_inputs`` applies when it is not given any (set from settings at start-up)."""
    global _process_limits
    _process_limits = limits


def check_limits(name: str, value: object, limits: InputLimits) -> None:
    """LimitExceededError when a decoded value (or a member of a multivalue) is too large."""
    if isinstance(value, list | tuple):
        for item in value:
            check_limits(name, item, limits)
        return
    if not isinstance(value, FeatureSet):
        return
    if limits.max_features and len(value) > limits.max_features:
        raise LimitExceededError(
            "Too many features.",
            details=[
                f"'{name}' has {len(value):,} features; at most {limits.max_features:,} are accepted "
                "(GPSERVER_MAX_INPUT_FEATURES)."
            ],
        )
    if limits.max_vertices and len(value.geometries) and value.geometry_type != "esriGeometryPoint":
        most = int(shapely.get_num_coordinates(value.geometries).max())
        if most > limits.max_vertices:
            raise LimitExceededError(
                "Too many vertices.",
                details=[
                    f"A geometry of '{name}' has {most:,} vertices; at most {limits.max_vertices:,} are accepted "
                    "(GPSERVER_MAX_VERTICES_PER_GEOMETRY)."
                ],
            )


def lookup(params: Mapping[str, object], name: str) -> object | None:
    """A request value by parameter name: exact first, then case-insensitively."""
    if name in params:
        return params[name]
    low = name.lower()
    for key, value in params.items():
        if key.lower() == low:
            return value
    return None


def _is_empty(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "") or raw == []


def decode_inputs(tool: type[AnyTool], params: Mapping[str, object], limits: InputLimits | None = None) -> GPInputs:
    """Decode and validate every input; all problems are reported together; a limit breach at once."""
    limits = _process_limits if limits is None else limits
    values: dict[str, Any] = {}
    problems: list[str] = []
    get = _lookups(params)
    for param in tool.parameters():
        if param.direction != "input":
            continue
        raw = get(param.name)
        if _is_empty(raw):
            if param.required:
                problems.append(f"Missing required parameter '{param.name}'")
            elif param.default is not None:
                values[param.name] = param.default
            continue
        try:
            values[param.name] = _check(param, param.gp_type.decode(raw, param=param.name))
            check_limits(param.name, values[param.name], limits)
        except InvalidParameterError as exc:
            reasons = exc.details or [exc.message]
            quoted = f"'{param.name}'"
            problems.extend(r if quoted in r else f"Invalid value for {quoted}: {r}" for r in reasons)
    if problems:
        raise InvalidParameterError("Invalid or missing input parameters.", details=problems)
    try:
        return tool.inputs(**values)
    except ValidationError as exc:  # a value our codecs passed but the model refuses
        details = [f"'{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors()]
        raise InvalidParameterError("Invalid or missing input parameters.", details=details) from None


def _check(param: Parameter, value: Any) -> Any:
    """Apply the choice list (case-insensitively, returning the canonical spelling), the range and
    the file and field filters; a multivalue has each member checked."""
    if param.choices:
        canon = {c.lower(): c for c in param.choices}

        def pick(v: Any) -> str:
            if isinstance(v, str) and v.lower() in canon:
                return canon[v.lower()]
            raise InvalidParameterError(
                "", details=[f"'{v}' is not a valid value for '{param.name}'; choose from {param.choices}"]
            )

        value = [pick(v) for v in value] if isinstance(value, list) else pick(value)
    for item in value if isinstance(value, list) else [value]:
        _filters(param, item)
    return value


def _filters(param: Parameter, value: Any) -> None:
    marker = param.marker
    rng = getattr(marker, "range", None)
    if rng is not None and isinstance(value, int | float) and not (rng[0] <= value <= rng[1]):
        raise InvalidParameterError("", details=[f"'{param.name}' must be between {rng[0]} and {rng[1]}, got {value}"])
    file_types = getattr(marker, "file_types", ())
    if file_types and isinstance(value, DataFile | RasterData):
        allowed = [t.lower().lstrip(".") for t in file_types]
        if value.extension not in allowed:
            shown = value.extension or "none"
            raise InvalidParameterError(
                "", details=[f"'{param.name}' must be a file of type {allowed}, got extension '{shown}'"]
            )
    field_types = getattr(marker, "field_types", ())
    if field_types and isinstance(value, FieldDef) and value.type not in field_types:
        raise InvalidParameterError(
            "", details=[f"'{param.name}' must be a field of type {list(field_types)}, got {value.type}"]
        )


def _lookups(params: Mapping[str, object]) -> Callable[[str], object | None]:
    """:func:`lookup` for many names of one request, the keys lowered once (most names asked for
    are absent, and each absent one made :func:`lookup` lower every key)."""
    lowered: dict[str, str] = {}
    for key in params:
        lowered.setdefault(key.lower(), key)

    def get(name: str) -> object | None:
        if name in params:
            return params[name]
        key = lowered.get(name.lower())
        return None if key is None else params[key]

    return get


def read_environment(params: Mapping[str, object]) -> tuple[Environment, EncodeOptions]:
    """``env:outSR``, ``env:processSR``, ``context``, ``returnZ``/``returnM``/``returnFeatureCollection``."""
    get = _lookups(params)
    context = get("context")
    ctx_obj = json_or_literal(context) if not _is_empty(context) else {}
    if not isinstance(ctx_obj, dict):
        raise InvalidParameterError("Invalid value for parameter 'context'", details=["expected a JSON object"])

    def sr(name: str, ctx_key: str) -> SpatialReference | None:
        raw = get(name)
        if _is_empty(raw):
            raw = ctx_obj.get(ctx_key)
        return None if _is_empty(raw) else SpatialReference.from_json(json_or_literal(raw), param=name)

    out_sr, process_sr = sr("env:outSR", "outSR"), sr("env:processSR", "processSR")
    env = Environment(out_sr=out_sr or process_sr, process_sr=process_sr, extent=ctx_obj.get("extent"))
    opts = EncodeOptions(
        out_sr=env.out_sr,
        return_z=parse_bool(get("returnZ")),
        return_m=parse_bool(get("returnM")),
        feature_collection=parse_bool(get("returnFeatureCollection")),
        column_names=parse_bool(get("returnColumnName")),
    )
    return env, opts


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip


def _stamp(moment: datetime) -> str:
    """ArcGIS's message time, ``Saturday, November 28, 2026 01:42:08 PM`` (English whatever the locale)."""
    hour = moment.hour % 12 or 12
    clock = f"{hour:02}:{moment.minute:02}:{moment.second:02} {'AM' if moment.hour < 12 else 'PM'}"
    return f"{_DAYS[moment.weekday()]}, {_MONTHS[moment.month - 1]} {moment.day}, {moment.year} {clock}"


def run_tool(tool: type[AnyTool], inputs: GPInputs, ctx: ToolContext) -> GPOutputs:
    """Run a tool between ArcGIS's start and end messages; every failure becomes a typed error."""
    started, clock = datetime.now(), time.perf_counter()
    ctx.message(f"Start Time: {_stamp(started)}")
    try:
        outputs: GPOutputs = tool().run(inputs, ctx)
    except (JobCancelledError, JobTimedOutError):
        raise
    except GPServerError as exc:
        ctx.error(exc.message)
        for line in exc.details:
            ctx.error(line)
        ctx.error(f"Failed to execute ({tool.name}).")
        raise ToolExecutionError(exc.message, details=exc.details) from exc
    except Exception:
        log.exception("tool %s failed", tool.name)
        ctx.error("ERROR 999999: Something unexpected caused the tool to fail.")
        ctx.error(f"Failed to execute ({tool.name}).")
        raise ToolExecutionError(
            f"Error executing tool {tool.name}.",
            details=["ERROR 999999: Something unexpected caused the tool to fail."],
        ) from None
    elapsed = time.perf_counter() - clock
    ctx.message(f"Succeeded at {_stamp(datetime.now())} (Elapsed Time: {elapsed:.2f} seconds)")
    return outputs


def encode_outputs(tool: type[AnyTool], outputs: GPOutputs, opts: EncodeOptions) -> list[dict[str, Any]]:
    """The ``results`` array: one ``{paramName, dataType, value}`` per output parameter."""
    results = []
    for param in tool.parameters():
        if param.direction != "output":
            continue
        value = getattr(outputs, param.name)
        encoded = None if value is None else param.gp_type.encode(value, opts)
        data_type = param.data_type if value is None else param.gp_type.result_type(value)
        results.append({"paramName": param.name, "dataType": data_type, "value": encoded})
    return results


def invoke(
    tool: type[AnyTool],
    params: dict[str, Any],
    ctx: ToolContext,
    opts: EncodeOptions,
    limits: InputLimits | None = None,
) -> list[dict[str, Any]]:
    """Decode, run and encode: the path ``execute`` and jobs share.

    ``params`` is emptied once decoded: a parsed feature set (eight times its JSON text in Python
    objects) is freed before the tool runs instead of living until the response is written.
    The cyclic garbage collector is paused meanwhile: the objects built here are request data, not
    cyclic garbage, and full collections over a large request's millions of containers doubled
    the time of large executes (bench/README.md)."""
    with gc_paused():
        inputs = decode_inputs(tool, params, limits)
        params.clear()
        outputs = run_tool(tool, inputs, ctx)
        return encode_outputs(tool, outputs, opts)
