"""A quick smoke of the benchmark harness (bench/): the baseline does the server's work, the load generator works.

The benchmarks themselves run on demand (``make bench``), never here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import unquote_to_bytes

import numpy as np
import orjson
import pytest

from bench import baseline, cpu, payloads, pipeline, procs
from gpserver.api.params import parse_form
from gpserver.gp.execution import invoke, read_environment
from gpserver.gp.tool import ToolContext
from gpserver.tools.registry import builtin_registry


@pytest.mark.parametrize(
    "raw",
    [b"%7B%22a%22%3A+1%7D", b"%zz%4", b"a+b%2B" * 500, b"%e2%82%ac%41" * 700, b"%7B" * 500 + b"%%41%", b"%3D=" * 500],
)
def test_baseline_decoder_matches_the_standard_library(raw: bytes) -> None:
    assert pipeline.unquote_plus(raw) == unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


@pytest.mark.parametrize("tool", ["buffer", "project"])
def test_baseline_writes_what_the_server_writes(tool: str) -> None:
    body = payloads.body(tool, 25)
    params = parse_form(body)
    gp_tool = builtin_registry()[tool.capitalize()]
    env, opts = read_environment(params)
    server = invoke(gp_tool, params, ToolContext(env=env), opts)[0]["value"]
    base = orjson.loads(pipeline.run_form(tool, body))["results"][0]["value"]
    assert len(base["features"]) == len(server["features"]) == 25
    assert [f["name"] for f in base["fields"]] == [f["name"] for f in server["fields"]]
    for ours, theirs in zip(base["features"], server["features"], strict=True):
        assert ours["attributes"] == theirs["attributes"]
        if tool == "buffer":
            assert np.allclose(np.asarray(ours["geometry"]["rings"]), np.asarray(theirs["geometry"]["rings"]))
        else:
            assert ours["geometry"] == pytest.approx(theirs["geometry"])


def test_memory_budget_counts_the_decoded_text_and_objects() -> None:
    body = payloads.body("project", 2000)
    sizes = baseline.decoded_sizes(body)
    values = parse_form(body)
    assert sizes["decoded_text_bytes"] == sum(len(v) for v in values.values() if isinstance(v, str))
    # 2,000 parsed features: at least a dict per feature, its geometry and its attributes
    assert sizes["decoded_objects_bytes"] > 2000 * 3 * 64
    assert sizes["decoded_objects_bytes"] > sizes["decoded_text_bytes"]


def test_load_generator_against_the_bare_app(tmp_path: Path) -> None:
    server = procs.bare(tmp_path)
    load = procs.Worker("bench.loadgen")
    try:
        body = tmp_path / "body"
        body.write_bytes(payloads.body("buffer", 1))
        res = load.call(
            {
                "url": server.url + "/buffer",
                "body_file": str(body),
                "content_type": "application/x-www-form-urlencoded",
                "concurrency": 2,
                "requests": 20,
            }
        )
    finally:
        load.stop()
        server.stop()
    assert res["ok"] == 20 and res["errors"] == 0
    assert len(res["latencies"]) == 20 and res["rps"] > 0


def test_cpu_meter_counts_a_process_cpu() -> None:
    """The jobs bench's per-process CPU split: 0.2 s of CPU burnt here reads as ~200 ms."""
    meter = cpu.Meter(lambda: {"me": [os.getpid()], "gone": [2**22 + 1]})
    meter.start()
    until = time.process_time() + 0.2
    while time.process_time() < until:
        pass
    spent = meter.per(1)
    assert 180 <= spent["me"] <= 1000
    assert spent["gone"] == 0
    assert os.getpid() in cpu.pids_named("pytest") or os.getpid() in cpu.pids_named("python")
