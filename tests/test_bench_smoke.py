"""The benchmark inputs stay valid: benchmarks/genenv.py at a tiny size produces an environment
that validates with no errors and no warnings, compiles, and is the same bytes every time.

No timing is asserted here (timings belong to ``make bench``, not to a shared CI box).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from batchform.build import analyze_text, render_environment
from batchform.cli import main
from batchform.diagnostics import Level
from benchmarks import ROOT, genenv
from benchmarks.results import machine, render_results
from benchmarks.stages import STAGES, CompileRow


@pytest.mark.parametrize(
    ("jobs", "kwargs"),
    [
        (10, {}),
        (50, {"compute_environments": 3, "job_queues": 3}),  # the verify benchmark's shape
        (40, {"compute_environments": 7, "job_queues": 4}),
    ],
)
def test_generated_environment_validates_cleanly(jobs: int, kwargs: dict[str, int]) -> None:
    text = genenv.environment_yaml(jobs, **kwargs)
    analysis = analyze_text(text, "bench.yaml")
    assert analysis.env is not None
    findings = [d for d in analysis.diagnostics if d.level in (Level.ERROR, Level.WARNING)]
    assert findings == []
    assert len(analysis.env.job_definitions) == jobs
    files = render_environment(analysis.env, "bench.yaml")
    assert files["job_definitions.tf"].count('resource "aws_batch_job_definition"') == jobs


def test_scaling_is_capped_at_the_per_region_quota() -> None:
    assert genenv.scaled_count(10) == 3
    assert genenv.scaled_count(1000) == genenv.MAX_PER_REGION
    data = genenv.environment(5000)
    assert len(data["compute_environments"]) == len(data["job_queues"]) == 50


def test_generator_is_deterministic() -> None:
    assert genenv.environment_yaml(25) == genenv.environment_yaml(25)


def test_the_timed_process_writes_what_batchform_compile_writes(tmp_path: Path) -> None:
    """``python -m benchmarks.stages compile`` runs the real stages: its output directory is
    byte for byte what ``batchform compile`` writes, and it reports every stage."""
    config = tmp_path / "bench-20.yaml"
    config.write_text(genenv.environment_yaml(20), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.stages", "compile", str(config), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    numbers = json.loads(run.stdout)
    assert set(numbers["stages"]) == set(STAGES)
    assert numbers["errors"] == numbers["warnings"] == 0
    assert main(["compile", "-o", str(tmp_path / "cli"), str(config)]) == 0
    name = "bench-20"
    ours = {p.name: p.read_bytes() for p in (tmp_path / "b" / name).iterdir()}
    theirs = {p.name: p.read_bytes() for p in (tmp_path / "cli" / name).iterdir()}
    assert ours == theirs and numbers["files"] == len([n for n in ours if n[0] != "."])


def test_the_results_table_keeps_its_shape() -> None:
    """One row per size with the 16 columns the README's table has, stage columns in order."""
    run = {
        "stages": dict.fromkeys(STAGES, 0.01),
        "pipeline": 0.06,
        "cpu": 0.1,
        "maxrss_kib": 60 * 1024,
        "errors": 0,
        "warnings": 0,
        "files": 11,
        "bytes": 2048,
        "resources": 54,
    }
    row = CompileRow(10, 3, 3, runs=[run], process_wall=[0.5])
    text = render_results(machine(), [row], [], rounds=1, quick=True)
    lines = text.splitlines()
    header = next(x for x in lines if x.startswith("| job defs |"))
    assert [c.strip() for c in header.strip("|").split("|")][6:12] == list(STAGES)
    body = next(x for x in lines if x.startswith("| 10 |"))
    assert body.count("|") == header.count("|") == 17
