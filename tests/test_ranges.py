"""The range table (compiler/batchform/checks/ranges.py) as a user meets it: a value past a bound
is an
error at that value, with the table's message; a value on the bound is accepted; every code of
the table is a rule like the hand-written ones (listed, documented, silenced the same way).

Each code also has its own cases in the per-area tests (test_checks_compute, test_checks_jobs,
test_operations), written before the table existed; they pass unchanged.
"""

from __future__ import annotations

import pytest

from batchform.build import analyze_text
from batchform.checks import all_rules
from batchform.checks.ranges import RANGES, Range, _number
from batchform.diagnostics import Diagnostic
from batchform.loader import load_text
from batchform.merge import merge
from batchform.ruledocs import base_environment, dump_yaml

FAIR_QUEUE = """\
job_queues:
  main:
    scheduling_policy: fair
scheduling_policies:
  fair:
    shares:
      - identifier: labA
        weight: {weight}
"""


def validate(overlay: str) -> list[Diagnostic]:
    """``batchform validate`` of the clean base environment with ``overlay`` laid over it."""
    data = merge(base_environment(), load_text(overlay, "overlay.yaml").data)
    return analyze_text(dump_yaml(data), "env.yaml").diagnostics


def found(diags: list[Diagnostic], code: str) -> list[tuple[str, str]]:
    return [(".".join(map(str, d.path)), d.message) for d in diags if d.code == code]


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        ("0.0001", []),
        ("999.9999", []),
        (
            "0.00001",
            [
                (
                    "scheduling_policies.fair.shares.0.weight",
                    "weight 1e-05 of share 'labA' is outside 0.0001-999.9999",
                )
            ],
        ),
        (
            "1000",
            [
                (
                    "scheduling_policies.fair.shares.0.weight",
                    "weight 1000 of share 'labA' is outside 0.0001-999.9999",
                )
            ],
        ),
    ],
)
def test_float_bounds_are_inclusive_and_written_as_aws_writes_them(
    weight: str, expected: list[tuple[str, str]]
) -> None:
    assert found(validate(FAIR_QUEUE.format(weight=weight)), "BF418") == expected


def test_a_wildcard_walks_mappings_and_lists_and_names_the_key() -> None:
    overlay = """\
job_queues:
  main:
    priority: 1001
  other:
    priority: -1
    compute_environments: [ec2]
"""
    assert sorted(found(validate(overlay), "BF405")) == [
        ("job_queues.main.priority", "priority 1001 of job queue 'main' is outside 0-1000"),
        ("job_queues.other.priority", "priority -1 of job queue 'other' is outside 0-1000"),
    ]


def test_one_code_checks_every_place_a_setting_is_written() -> None:
    overlay = """\
job_defaults:
  retry:
    attempts: 11
job_definitions:
  hello:
    retry:
      attempts: 0
"""
    diags = validate(overlay)
    assert sorted(found(diags, "BF432")) == [
        ("job_defaults.retry.attempts", "retry attempts 11 is outside 1-10"),
        ("job_definitions.hello.retry.attempts", "retry attempts 0 is outside 1-10"),
    ]
    located = [(d.line, d.col) for d in diags if d.code == "BF432"]
    assert all(line is not None for line, _ in located)


def test_a_row_applies_only_where_its_condition_holds() -> None:
    """bid_percentage is bounded on SPOT environments; on EC2 it does not apply at all
    (BF303), and one error per value is enough."""
    spot = validate("compute_environments:\n  ec2:\n    type: SPOT\n    bid_percentage: 150\n")
    assert [path for path, _ in found(spot, "BF304")] == ["compute_environments.ec2.bid_percentage"]
    ec2 = validate("compute_environments:\n  ec2:\n    bid_percentage: 150\n")
    assert found(ec2, "BF304") == [] and found(ec2, "BF303")


def test_an_open_bound() -> None:
    diags = validate("compute_environments:\n  ec2:\n    max_vcpus: 0\n")
    assert found(diags, "BF306") == [
        (
            "compute_environments.ec2.max_vcpus",
            "max_vcpus 0 lets compute environment 'ec2' run nothing",
        )
    ]
    assert found(validate("compute_environments:\n  ec2:\n    max_vcpus: 1\n"), "BF306") == []


def test_table_codes_are_rules_with_the_tables_level_and_summary() -> None:
    rules = {r.code: r for r in all_rules()}
    for row in RANGES:
        registered = rules[row.code]
        assert (registered.level, registered.summary) == (row.level, row.summary)
        assert registered.name == f"range_{row.code.lower()}"
        assert row.source.startswith("https://docs.aws.amazon.com/"), row.source


def test_every_row_names_an_existing_field() -> None:
    """A pattern with a typo would silently check nothing: each named step must be a field of
    the model at that place."""
    from pydantic import BaseModel

    from batchform.model import Environment

    def annotation_models(annotation: object) -> list[type[BaseModel]]:
        import typing

        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [m for arg in typing.get_args(annotation) for m in annotation_models(arg)]

    for row in RANGES:
        models: list[type[BaseModel]] = [Environment]
        for part in row.pattern.split("."):
            if part == "*":
                continue
            assert any(part in m.model_fields for m in models), (row.pattern, part)
            models = [
                sub
                for m in models
                if part in m.model_fields
                for sub in annotation_models(m.model_fields[part].annotation)
            ]


@pytest.mark.parametrize(
    ("bound", "text"),
    [(1, "1"), (0.0001, "0.0001"), (999.9999, "999.9999"), (10_000, "10000"), (None, "")],
)
def test_bounds_are_written_in_full(bound: float | None, text: str) -> None:
    assert _number(bound) == text


def test_a_row_without_bounds_accepts_everything() -> None:
    row = Range("BF999", "x", "a", None, None, "", "{value}", "", "https://docs.aws.amazon.com/")
    assert row.contains(-(10**12)) and row.contains(10**12)
