"""The provider floor and the Terraform version the generated module states
(compiler/batchform/requirements.py, docs/real-aws.md "Provider constraint with a floor").

The table ``PROVIDER_ARGUMENTS`` says in which AWS provider release each argument batchform
emits first appeared (from the provider CHANGELOG: compute_environment_order 5.40.0 (#34750),
update_policy and scheduling_priority 5.32.0 (#34353, #34997), job_state_time_limit_action
5.63.1 (#38784)). These tests parse everything the generator writes for the bundled examples and
for a file using every optional argument, and fail, naming the argument, when one is missing
from the table; a generator change that adds an argument must add its row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest

from batchform import requirements
from batchform.build import analyze, analyze_text, render_environment
from batchform.diagnostics import Level
from tests.harness.every_argument import EVERYTHING, rendered_examples

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


META = requirements.META_ARGUMENTS


def _unquote(name: str) -> str:
    return name.strip('"')


def used_arguments() -> dict[tuple[str, str], str]:
    """(resource or data source type, top-level argument) -> where it was first seen."""
    used: dict[tuple[str, str], str] = {}
    for source, files in rendered_examples().items():
        for name, text in files.items():
            if not name.endswith(".tf"):
                continue
            parsed: dict[str, Any] = hcl2.loads(text)
            for section in ("resource", "data"):
                for block in parsed.get(section, []):
                    for rtype, instances in block.items():
                        for body in instances.values():
                            for argument in body:
                                if argument.startswith("__") or argument in META:
                                    continue
                                where = f"{source} -> {name}"
                                used.setdefault((_unquote(rtype), argument), where)
                            used.setdefault((_unquote(rtype), ""), f"{source} -> {name}")
    return used


@pytest.fixture(scope="module")
def used() -> dict[tuple[str, str], str]:
    return used_arguments()


def test_every_emitted_argument_has_a_first_provider_version(
    used: dict[tuple[str, str], str],
) -> None:
    missing = [
        f"{rtype}.{argument} (emitted in {where})"
        for (rtype, argument), where in sorted(used.items())
        if rtype not in requirements.PROVIDER_ARGUMENTS
        or (argument and argument not in requirements.PROVIDER_ARGUMENTS[rtype])
    ]
    assert not missing, (
        "add these to compiler/batchform/requirements.py PROVIDER_ARGUMENTS with the provider "
        "release "
        "whose CHANGELOG adds them: " + "; ".join(missing)
    )


def test_floor_is_the_newest_argument_used(used: dict[tuple[str, str], str]) -> None:
    table = requirements.PROVIDER_ARGUMENTS
    newest = max(
        requirements.parse_version(table[rtype][argument])
        for rtype, argument in used
        if argument and argument in table.get(rtype, {})
    )
    floor = requirements.parse_version(requirements.provider_floor())
    assert floor >= newest
    assert requirements.provider_floor() == "5.63.1"  # job_state_time_limit_action (#38784)


def test_generated_module_requires_the_floor() -> None:
    analysis = analyze_text(EVERYTHING, "everything.yaml")
    assert analysis.env is not None
    versions = hcl2.loads(render_environment(analysis.env, "e.yaml")["versions.tf"])
    terraform = versions["terraform"][0]
    aws = terraform["required_providers"][0]["aws"]
    assert _unquote(aws["version"]) == ">= 5.63.1, < 6.0.0"
    # S3 backend without a DynamoDB table: S3-native locking, which needs Terraform 1.10
    assert _unquote(terraform["required_version"]) == ">= 1.10.0"
    assert _backend(terraform)["use_lockfile"] is True
    assert "dynamodb_table" not in _backend(terraform)


def _backend(terraform: dict[str, Any]) -> dict[str, Any]:
    """The S3 backend block (python-hcl2 keeps the quotes of block labels)."""
    block: dict[str, Any] = terraform["backend"][0]
    return block.get("s3", block.get('"s3"', {}))


def _with_terraform(settings: str) -> str:
    return EVERYTHING.replace("terraform:\n  backend:\n", f"terraform:\n{settings}  backend:\n", 1)


@pytest.mark.parametrize(
    ("constraint", "lowest"),
    [
        ("~> 5.0", "5.0.0"),
        (">= 5.40.0", "5.40.0"),
        ("~> 5.63", "5.63.0"),
        ("= 5.62.0", "5.62.0"),
        ("!= 5.70.0", "0.0.0"),
        ("< 6.0.0", "0.0.0"),
        ("> 5.62.9, < 6.0", "5.62.10"),
    ],
)
def test_constraint_allowing_an_older_provider_is_an_error(constraint: str, lowest: str) -> None:
    text = _with_terraform(f'  aws_provider: "{constraint}"\n')
    analysis = analyze_text(text, "t.yaml")
    hits = [d for d in analysis.diagnostics if d.code == "BF350"]
    assert [(d.line, d.col, d.level) for d in hits] == [(5, 17, Level.ERROR)]
    assert f"allows AWS provider {lowest}" in hits[0].message
    assert hits[0].hint is not None and ">= 5.63.1, < 6.0.0" in hits[0].hint


@pytest.mark.parametrize(
    "constraint",
    [">= 5.63.1, < 6.0.0", "~> 5.100", "~> 5.63.1", "= 5.100.0", "~> 6.0", "> 5.63.0, < 6.0"],
)
def test_constraint_at_or_above_the_floor_is_fine(constraint: str) -> None:
    analysis = analyze_text(_with_terraform(f'  aws_provider: "{constraint}"\n'), "t.yaml")
    assert [d for d in analysis.diagnostics if d.code == "BF350"] == []


def test_malformed_constraint_is_reported_once_by_bf470() -> None:
    analysis = analyze_text(_with_terraform('  aws_provider: "five"\n'), "t.yaml")
    assert sorted(d.code for d in analysis.diagnostics if d.level == Level.ERROR) == ["BF470"]


def test_raising_the_default_terraform_version_is_said() -> None:
    analysis = analyze_text(EVERYTHING, "t.yaml")
    hits = [d for d in analysis.diagnostics if d.code == "BF354"]
    assert [(d.line, d.level) for d in hits] == [(6, Level.INFO)]
    assert ">= 1.10.0" in hits[0].message
    explicit = _with_terraform('  required_version: ">= 1.10.0"\n')
    assert [d for d in analyze_text(explicit, "t.yaml").diagnostics if d.code == "BF354"] == []


def test_old_terraform_with_the_s3_lockfile_is_an_error() -> None:
    text = _with_terraform('  required_version: ">= 1.5.0"\n')
    hits = [d for d in analyze_text(text, "t.yaml").diagnostics if d.code == "BF351"]
    assert [(d.line, d.level) for d in hits] == [(5, Level.ERROR)]
    assert "Terraform 1.5.0" in hits[0].message
    ok = _with_terraform('  required_version: ">= 1.10.0"\n')
    assert [d for d in analyze_text(ok, "t.yaml").diagnostics if d.code == "BF351"] == []


def test_asking_for_dynamodb_keeps_the_lock_table_and_old_terraform() -> None:
    text = _with_terraform('  required_version: ">= 1.5.0"\n').replace(
        "region: us-west-2}", "region: us-west-2, dynamodb_table: locks}", 1
    )
    analysis = analyze_text(text, "t.yaml")
    assert analysis.env is not None
    assert [d for d in analysis.diagnostics if d.code == "BF351"] == []
    versions = hcl2.loads(render_environment(analysis.env, "t.yaml")["versions.tf"])
    terraform = versions["terraform"][0]
    assert _unquote(terraform["required_version"]) == ">= 1.5.0"
    assert _unquote(_backend(terraform)["dynamodb_table"]) == "locks"
    assert "use_lockfile" not in _backend(terraform)


def test_local_state_keeps_terraform_1_5() -> None:
    analysis = analyze(ROOT / "configs" / "fargate.yaml")
    assert analysis.env is not None
    text = render_environment(analysis.env, "fargate.yaml")["versions.tf"]
    assert _unquote(hcl2.loads(text)["terraform"][0]["required_version"]) == ">= 1.5.0"


@pytest.mark.parametrize(
    ("constraint", "admits"),
    [
        (">= 5.63.1", "5.x and 6.x and later majors"),
        ("> 5.99.9", "5.x and 6.x and later majors"),
        (">= 5.63.1, <= 6.0.0", "5.x and 6.x"),
        ("> 6.0", "6.x and later majors"),
    ],
)
def test_constraint_admitting_two_majors_is_an_error(constraint: str, admits: str) -> None:
    """Provider 6 renamed compute_environment_name_prefix (requirements.PROVIDER6_RENAMED): a
    constraint admitting 5.x and 6.x lets `terraform init` pick the one the module was not
    written for."""
    analysis = analyze_text(_with_terraform(f'  aws_provider: "{constraint}"\n'), "t.yaml")
    hits = [d for d in analysis.diagnostics if d.code == "BF355"]
    assert [(d.line, d.col, d.level) for d in hits] == [(5, 17, Level.ERROR)]
    assert f"admits AWS provider {admits};" in hits[0].message


@pytest.mark.parametrize("constraint", [">= 7.0", "= 8.0.0", "~> 9.1"])
def test_constraint_admitting_only_an_unknown_major_is_an_error(constraint: str) -> None:
    analysis = analyze_text(_with_terraform(f'  aws_provider: "{constraint}"\n'), "t.yaml")
    hits = [d for d in analysis.diagnostics if d.code == "BF355"]
    assert len(hits) == 1
    assert "admits only AWS provider 7.x or later" in hits[0].message


@pytest.mark.parametrize(
    ("constraint", "major"),
    [("~> 6.0", 6), ("~> 6.25", 6), ("= 6.2.0", 6), (">= 6.0, < 7.0", 6), ("~> 5.100", 5)],
)
def test_output_follows_the_one_major_a_constraint_admits(constraint: str, major: int) -> None:
    analysis = analyze_text(_with_terraform(f'  aws_provider: "{constraint}"\n'), "t.yaml")
    assert analysis.env is not None
    assert [d for d in analysis.diagnostics if d.code in ("BF350", "BF355")] == []
    text = render_environment(analysis.env, "t.yaml")["compute_environments.tf"]
    ce = hcl2.loads(text)["resource"][0]['"aws_batch_compute_environment"']['"spot"']
    assert ("name_prefix" in ce) == (major == 6)
    assert ("compute_environment_name_prefix" in ce) == (major == 5)


@pytest.mark.parametrize("name", ["required_version", "aws_provider"])
def test_a_version_part_too_long_to_be_a_release_is_malformed_not_a_crash(name: str) -> None:
    """Found by tests/test_hostile_values.py: a 5000-digit part made int() raise inside BF351
    (Python refuses int() of more than 4300 digits); now it is BF470 and nothing crashes."""
    text = _with_terraform(f'  {name}: "{"9" * 5000}"\n')
    codes = {d.code for d in analyze_text(text, "t.yaml").diagnostics}
    assert "BF470" in codes
    assert "BF000" not in codes


@pytest.mark.parametrize(
    ("constraint", "price_capacity"),
    [
        (">= 5.63.1, < 6.0.0", False),
        ("~> 6.0", False),
        ("= 6.9.0", False),
        ("~> 6.10", True),
        (">= 6.10.0", True),
        ("6.62.0", True),
        ("not a constraint", False),  # BF35x reports it; plan for the oldest provider
    ],
)
def test_updatable_strategies_follow_the_oldest_admitted_release(
    constraint: str, price_capacity: bool
) -> None:
    strategies = requirements.updatable_strategies(constraint)
    assert ("SPOT_PRICE_CAPACITY_OPTIMIZED" in strategies) is price_capacity
    assert {"BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED"} <= set(strategies)
