"""The services file: samples, validation messages with file and line, start-up failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gpserver.app import load_catalog
from gpserver.errors import ConfigurationError
from gpserver.services.config import bundled_samples, parse_services
from tests.conftest import make_settings

ROOT = Path(__file__).parents[2]


def test_examples_mirror_the_bundled_samples() -> None:
    assert (ROOT / "examples" / "services.yaml").read_text() == bundled_samples()


def test_samples_publish_sync_and_async_with_the_three_tools(tmp_path: Path) -> None:
    catalog = load_catalog(make_settings(tmp_path))
    sync, asyn = catalog.service("SampleSync"), catalog.service("SampleAsync")
    assert not sync.is_async and asyn.is_async
    for svc in (sync, asyn):
        assert list(svc.tasks) == ["Buffer", "Project", "AddField"]
        assert svc.config.maximum_records == 100000


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("services:\n  - name: A\n    tools: [Buffer]\n    colour: red\n", 4, "colour"),
        ("services:\n  - name: A\n    execution: sometimes\n    tools: [Buffer]\n", 3, "execution"),
        ("services:\n  - name: A\n    tools: []\n", 3, "tools"),
        ("services:\n  - name: 'bad/name'\n    tools: [Buffer]\n", 2, "name"),
        ("services:\n  - name: A\n    maximumRecords: 0\n    tools: [Buffer]\n", 3, "maximumRecords"),
        ("services:\n  - name: A\n   tools: [Buffer\n", 3, "YAML"),
    ],
)
def test_bad_files_name_file_line_and_key(text: str, line: int, needle: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_services(text, "svc.yaml")
    assert info.value.message.startswith(f"svc.yaml, line {line}")
    assert needle in info.value.message


def test_unknown_tool_fails_with_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("services:\n  - name: A\n    tools: [Bufer]\n")
    with pytest.raises(ConfigurationError) as info:
        load_catalog(make_settings(tmp_path, services_file=path))
    assert "Bufer" in info.value.message and "Buffer" in info.value.details[0]


def test_folders_and_renamed_tasks(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("services:\n  - name: Hot\n    folder: Analysis\n    tools: [{tool: Buffer, name: BufferPoints}]\n")
    catalog = load_catalog(make_settings(tmp_path, services_file=path))
    assert catalog.folders() == ["Analysis"]
    assert [s.path for s in catalog.listing("Analysis")] == ["Analysis/Hot"]
    assert catalog.service("analysis/hot").task("bufferpoints")[0] == "BufferPoints"


def test_serve_refuses_a_bad_services_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("services:\n  - name: A\n    tools: [Nope]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "gpserver", "serve", "--port", "1"],
        env={"GPSERVER_SERVICES_FILE": str(path), "GPSERVER_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown tool 'Nope'" in proc.stderr and str(path) in proc.stderr
