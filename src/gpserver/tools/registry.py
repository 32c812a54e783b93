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


def builtin_tools() -> list[AnyToolType]:
    """Every built-in tool class, in the order they are listed."""
    from gpserver.tools.builtin import (
        add_field,
        append,
        buffer,
        calculate_field,
        clip,
        delete_field,
        dissolve,
        erase,
        export_features,
        feature_to_point,
        generate_tessellation,
        import_file,
        intersect,
        merge,
        minimum_bounding_geometry,
        near,
        points_to_line,
        project,
        select,
        select_layer_by_location,
        simplify_line,
        simplify_polygon,
        smooth_line,
        spatial_join,
        summarize_within,
        union,
    )

    return [
        buffer.Buffer,
        project.Project,
        add_field.AddField,
        delete_field.DeleteField,
        calculate_field.CalculateField,
        clip.Clip,
        erase.Erase,
        intersect.Intersect,
        union.Union,
        dissolve.Dissolve,
        merge.Merge,
        append.Append,
        select.Select,
        select_layer_by_location.SelectLayerByLocation,
        spatial_join.SpatialJoin,
        feature_to_point.FeatureToPoint,
        minimum_bounding_geometry.MinimumBoundingGeometry,
        simplify_polygon.SimplifyPolygon,
        simplify_line.SimplifyLine,
        smooth_line.SmoothLine,
        near.Near,
        points_to_line.PointsToLine,
        generate_tessellation.GenerateTessellation,
        summarize_within.SummarizeWithin,
        export_features.ExportFeatures,
        import_file.ImportFile,
    ]


def builtin_registry() -> Registry:
    """The built-in tools."""
    return Registry(builtin_tools())
