"""Models: load-time validation with clear messages, and the sample model end to end through execute."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from gpserver.app import create_app, load_catalog
from gpserver.errors import ConfigurationError
from tests.conftest import make_settings
from tests.tools.helpers import MODELS, error, execute, features, rows, shapes, value

SERVICE = "services:\n  - name: M\n    tools: [{tool}]\n"


def load(tmp_path: Path, models: str, tool: str = "Chain") -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICE.format(tool=tool) + "models:\n" + models)
    load_catalog(make_settings(tmp_path, services_file=path))


GOOD = """
  - name: Chain
    parameters: {points: buffer.in_features, distance: buffer.buffer_distance_or_field}
    steps:
      - {id: buffer, tool: Buffer}
      - {id: dissolve, tool: Dissolve, inputs: {in_features: buffer.out_feature_class}}
    outputs: {result: dissolve.out_feature_class}
"""


@pytest.mark.parametrize(
    ("models", "needle"),
    [
        (GOOD.replace("tool: Dissolve", "tool: Dissolver"), "step 'dissolve': unknown tool 'Dissolver'"),
        (GOOD.replace("{in_features: buffer", "{in_featurez: buffer"), "Dissolve has no input parameter 'in_featurez'"),
        (GOOD.replace("buffer.out_feature_class}}", "buffer.nothing}}"), "Buffer has no output parameter 'nothing'"),
        (GOOD.replace("buffer.out_feature_class}}", "buf.out_feature_class}}"), "unknown step 'buf'"),
        (
            GOOD.replace("{in_features: buffer.out_feature_class}", "{dissolve_field: buffer.out_feature_class}"),
            "type mismatch, GPFeatureRecordSetLayer cannot feed GPMultiValue:GPString",
        ),
        (GOOD.replace("points: buffer.in_features, ", ""), "step 'buffer': required input 'in_features' is not set"),
        (
            GOOD.replace(
                "{id: buffer, tool: Buffer}",
                "{id: buffer, tool: Buffer, inputs: {in_features: dissolve.out_feature_class}}",
            ).replace("points: buffer.in_features, ", ""),
            "the steps buffer, dissolve form a cycle",
        ),
        (
            GOOD.replace("{id: buffer, tool: Buffer}", "{id: buffer, tool: Buffer, values: {line_side: SIDEWAYS}}"),
            "line_side",
        ),
        (GOOD.replace("result: dissolve", "result: dissolve.nope"), "no output parameter 'nope.out_feature_class'"),
        (GOOD.replace("name: Chain", "name: Buffer"), "Two tools are named 'Buffer'"),
    ],
)
def test_bad_models_fail_start_up_naming_file_model_and_step(tmp_path: Path, models: str, needle: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, models, tool="Buffer")
    text = info.value.message + " ".join(info.value.details)
    assert needle in text or needle in str(info.value.details)
    assert str(tmp_path / "services.yaml") in info.value.message


def test_a_good_model_is_a_task_with_derived_parameters(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICE.format(tool="Chain") + "models:\n" + GOOD)
    with TestClient(create_app(make_settings(tmp_path, services_file=path))) as c:
        task = c.get("/rest/services/M/GPServer/Chain?f=json").json()
        params = [(p["name"], p["dataType"], p["direction"], p["parameterType"]) for p in task["parameters"]]
        assert params == [
            ("points", "GPFeatureRecordSetLayer", "esriGPParameterDirectionInput", "esriGPParameterTypeRequired"),
            ("distance", "GPLinearUnit", "esriGPParameterDirectionInput", "esriGPParameterTypeRequired"),
            ("result", "GPFeatureRecordSetLayer", "esriGPParameterDirectionOutput", "esriGPParameterTypeRequired"),
        ]
        assert task["category"] == "Models"


def test_models_in_their_own_file(tmp_path: Path) -> None:
    (tmp_path / "chain.yaml").write_text("models:\n" + GOOD)
    path = tmp_path / "services.yaml"
    path.write_text(SERVICE.format(tool="Chain") + "models: [chain.yaml]\n")
    catalog = load_catalog(make_settings(tmp_path, services_file=path))
    assert catalog.service("M").task("chain")[0] == "Chain"


def test_sample_model_end_to_end(client: TestClient) -> None:
    points = [shapely.Point(0, 0), shapely.Point(300, 0), shapely.Point(5000, 5000)]
    study = shapely.box(-50, -1000, 10_000, 1000)
    body = execute(
        client,
        "BufferClipDissolve",
        base=MODELS,
        in_features=features(points),
        distance={"distance": 200, "units": "esriMeters"},
        study_area=features([study]),
    )
    out = value(body, "out_feature_class")
    # independent: buffer with shapely, clip, dissolve, count the points inside
    expected = shapely.union_all([p.buffer(200, quad_segs=64) for p in points]).intersection(study)
    (area,) = shapes(out)
    assert area.area == pytest.approx(expected.area, rel=0.005)
    assert rows(out)[0]["Point_Count"] == 2
    texts = [m["description"] for m in body["messages"]]
    for k, step in enumerate(["buffer", "clip", "dissolve", "summarize"], start=1):
        assert any(t.startswith(f"Executing step {k} of 4: {step}") for t in texts)
        assert any(t.startswith(f"[{step}] Succeeded at") for t in texts)


def test_model_step_failure_is_reported_with_the_step(client: TestClient) -> None:
    body = execute(
        client,
        "BufferClipDissolve",
        base=MODELS,
        in_features=features([shapely.Point(0, 0)], wkid=None),
        distance="10 Meters",
        study_area=features([shapely.box(0, 0, 1, 1)]),
    )
    message = error(body)["message"]
    assert message.startswith("Step 'buffer' (Buffer) failed:") and "spatial reference" in message


def test_model_progress_is_scaled_per_step() -> None:
    from gpserver.gp.tool import ToolContext
    from gpserver.tools.models import StepContext

    parent = ToolContext()
    StepContext(parent, "clip", 1, 4).progress(50, "half")
    assert parent.progress_info == {"type": "step", "message": "[clip] half", "percent": 38}
