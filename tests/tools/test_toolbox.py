"""User toolboxes: loaded from a file or module, validated at start-up, run like built-ins; and ``gpserver run``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from gpserver.app import create_app, load_catalog
from gpserver.errors import ConfigurationError
from tests.conftest import make_settings
from tests.tools.helpers import MODELS, error, execute, features, rows

ROOT = Path(__file__).parents[2]
TOOLBOX = ROOT / "examples" / "toolbox" / "my_tools.py"
POLYS = [shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)]
PTS = [shapely.Point(1, 1), shapely.Point(2, 2), shapely.Point(25, 5), shapely.Point(50, 50)]


def test_example_toolbox_mirrors_the_bundled_one() -> None:
    assert TOOLBOX.read_text() == (ROOT / "src" / "gpserver" / "tools" / "sample_toolbox.py").read_text()


def services(tmp_path: Path, toolbox: str, tool: str = "PointsInPolygonCount") -> Path:
    path = tmp_path / "services.yaml"
    path.write_text(f"services:\n  - name: Mine\n    tools: [{tool}]\ntoolboxes: [{toolbox}]\n")
    return path


def test_toolbox_file_relative_to_the_services_file(tmp_path: Path) -> None:
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "my_tools.py").write_text(TOOLBOX.read_text())
    path = services(tmp_path, "tb/my_tools.py")
    with TestClient(create_app(make_settings(tmp_path, services_file=path))) as c:
        task = c.get("/rest/services/Mine/GPServer/PointsInPolygonCount?f=json").json()
        assert [p["name"] for p in task["parameters"]] == ["in_polygons", "in_points", "min_count", "out_polygons"]
        assert task["category"] == "Sample Toolbox"
        body = execute(c, "PointsInPolygonCount", base="/rest/services/Mine/GPServer",
                       in_polygons=features(POLYS), in_points=features(PTS), min_count=1)  # fmt: skip
        counts = [sum(p.covers(pt) for pt in PTS) for p in POLYS]
        assert [r["PNT_COUNT"] for r in rows(body["results"][0]["value"])] == counts == [2, 1]


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("def broken(:\n", "SyntaxError"),
        ("import not_a_module_xyz\n", "ModuleNotFoundError"),
        ("X = 1\n", "has no TOOLS list"),
        ("TOOLS = [int]\n", "is not a Tool subclass"),
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
        (
            "from typing import Annotated\nfrom gpserver.gp.tool import GPInputs, GPOutputs, Input, Tool\n"
            "class I(GPInputs):\n    x: int\n"
            "class O(GPOutputs):\n    pass\n"
            "class T(Tool[I, O]):\n    name = 'T'\nTOOLS = [T]\n",
            "needs an Input(...) marker",
        ),
        (
            TOOLBOX.read_text().replace('name = "PointsInPolygonCount"', 'name = "Buffer"'),
            "Two tools are named 'Buffer'",
        ),
    ],
)
def test_bad_toolboxes_fail_start_up_naming_the_file(tmp_path: Path, source: str, needle: str) -> None:
    (tmp_path / "bad.py").write_text(source)
    with pytest.raises(ConfigurationError) as info:
        load_catalog(make_settings(tmp_path, services_file=services(tmp_path, "bad.py", tool="Buffer")))
    assert needle in info.value.message
    assert str(tmp_path / "services.yaml") in info.value.message


def test_missing_toolbox_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_catalog(make_settings(tmp_path, services_file=services(tmp_path, "nope/tools.py")))
    assert "does not exist" in info.value.message


def test_sample_toolbox_tool_through_execute_and_its_errors(client: TestClient) -> None:
    body = execute(client, "PointsInPolygonCount", base=MODELS, in_polygons=features(POLYS), in_points=features(PTS))
    assert [r["PNT_COUNT"] for r in rows(body["results"][0]["value"])] == [2, 1]
    bad = execute(client, "PointsInPolygonCount", base=MODELS, in_polygons=features(POLYS, wkid=None),
                  in_points=features(PTS))  # fmt: skip
    assert error(bad) == {"code": 400, "message": "in_polygons has no spatial reference", "details": []}


def test_gpserver_run_prints_results_and_progress(tmp_path: Path) -> None:
    params = tmp_path / "points.json"
    params.write_text(json.dumps(features([shapely.Point(500000, 4000000)], wkid=32633)))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpserver",
            "run",
            "Buffer",
            "--in_features",
            f"@{params}",
            "--buffer_distance_or_field",
            '{"distance": 1, "units": "esriKilometers"}',
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    rings = results[0]["value"]["features"][0]["geometry"]["rings"]
    assert shapely.Polygon(rings[0]).area == pytest.approx(3.14159e6, rel=0.005)
    assert "Buffering 1 features" in proc.stderr and "[progress]" in proc.stderr


def test_gpserver_run_a_model_and_failures(tmp_path: Path) -> None:
    pts = json.dumps(features([shapely.Point(0, 0)]))
    area = json.dumps(features([shapely.box(-5, -5, 5, 5)]))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpserver",
            "run",
            "BufferClipDissolve",
            "--in_features",
            pts,
            "--distance=10 Meters",
            "--study_area",
            area,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Executing step 4 of 4: summarize" in proc.stderr
    value = json.loads(proc.stdout)["results"][0]["value"]
    assert shapely.Polygon(value["features"][0]["geometry"]["rings"][0]).area == pytest.approx(100.0)
    bad = subprocess.run(
        [sys.executable, "-m", "gpserver", "run", "Select", "--in_features", pts, "--where_clause", "__import__('os')"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and "unknown function '__import__'" in bad.stderr and bad.stdout == ""
    unknown = subprocess.run([sys.executable, "-m", "gpserver", "run", "Nope"], capture_output=True, text=True,
                             timeout=120, check=False)  # fmt: skip
    assert unknown.returncode == 2 and "Unknown tool 'Nope'" in unknown.stderr
