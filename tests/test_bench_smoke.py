"""The benchmark inputs stay valid: benchmarks/genenv.py at a tiny size produces an environment
that validates with no errors and no warnings, compiles, and is the same bytes every time.

No timing is asserted here (timings belong to ``make bench``, not to a shared CI box).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compiler.build import analyze_text, render_environment
from compiler.diagnostics import Level

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import genenv  # benchmarks/ holds scripts, not a package


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
