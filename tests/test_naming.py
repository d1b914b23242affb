"""``aws_name`` and ``aws_name_prefix`` (issue 12): the names the Terraform module writes, the
located errors of a bad or taken name, what ``diff`` says when an exactly named compute
environment is replaced, and where ``verify`` looks for renamed resources.

The e2e proof (apply on moto, empty re-plan, verify exits 0) is ``configs/adopted.yaml`` in
``tests/test_verify_e2e.py``, which deploys every example.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from batchform.build import analyze_files, analyze_text
from batchform.cli import main
from batchform.diff import Risk, diff_environments
from batchform.model import Environment, parse_environment
from batchform.plan import build_plan
from batchform.verify.desired import Desired
from batchform.verify.gather import candidates
from batchform.verify.live import Live
from tests.harness.small_env import blocks, checked, rendered
from tests.harness.yaml_files import read_yaml

ROOT = Path(__file__).resolve().parent.parent
ADOPTED = ROOT / "configs" / "adopted.yaml"

NAMED = """\
scheduling_policies:
  fair:
    aws_name: research-fair
    shares: [{identifier: labA}]
job_queues:
  high:
    priority: 10
    compute_environments: [ondemand]
    scheduling_policy: fair
    aws_name: research-high
  low:
    priority: 1
    compute_environments: [ondemand]
    aws_name_prefix: lab-
job_definitions:
  align:
    image: busybox
    vcpus: 1
    memory: 2 GiB
    aws_name: align
"""


def _ce(**keys: Any) -> dict[str, Any]:
    return {"compute_environments": {"ondemand": keys}}


# --- what compile writes -----------------------------------------------------------------------


def test_an_exact_ce_name_replaces_the_prefix_and_create_before_destroy() -> None:
    """With a fixed name the new CE cannot exist beside the old one, so the lifecycle must not
    ask for it (Terraform would fail creating a second CE of one name)."""
    files = rendered(checked(replace=_ce(aws_name="research-ondemand")))
    text = files["compute_environments.tf"]
    ce = blocks(text)["aws_batch_compute_environment"]["ondemand"]
    assert ce["compute_environment_name"] == "research-ondemand"
    assert "compute_environment_name_prefix" not in ce
    assert "create_before_destroy" not in text and "lifecycle" not in text


def test_a_default_ce_keeps_its_prefix_and_create_before_destroy() -> None:
    text = rendered(checked())["compute_environments.tf"]
    ce = blocks(text)["aws_batch_compute_environment"]["ondemand"]
    assert ce["compute_environment_name_prefix"] == "demo-ondemand-"
    assert ce["lifecycle"] == [{"create_before_destroy": True}]


def test_an_own_prefix_replaces_the_environment_name() -> None:
    text = rendered(checked(replace=_ce(aws_name_prefix="team_")))["compute_environments.tf"]
    ce = blocks(text)["aws_batch_compute_environment"]["ondemand"]
    assert ce["compute_environment_name_prefix"] == "team_ondemand-"
    assert ce["lifecycle"] == [{"create_before_destroy": True}]


def test_provider_6_names_the_exact_name_argument_name() -> None:
    """hashicorp/aws 6.0 renamed ``compute_environment_name`` to ``name`` (the 6.x schema in
    compiler/batchform/data/aws_provider_schemas/ has no other)."""
    env = checked(
        "terraform:\n  aws_provider: '~> 6.0'\n", replace=_ce(aws_name="research-ondemand")
    )
    ce = blocks(rendered(env)["compute_environments.tf"])["aws_batch_compute_environment"]
    assert ce["ondemand"]["name"] == "research-ondemand"


def test_queue_policy_and_job_definition_names() -> None:
    files = rendered(checked(NAMED))
    queues = blocks(files["job_queues.tf"])["aws_batch_job_queue"]
    assert {k: q["name"] for k, q in queues.items()} == {"high": "research-high", "low": "lab-low"}
    policy = blocks(files["scheduling_policies.tf"])["aws_batch_scheduling_policy"]["fair"]
    assert policy["name"] == "research-fair"
    job = blocks(files["job_definitions.tf"])["aws_batch_job_definition"]["align"]
    assert job["name"] == "align"
    # the log group keeps the key: it is no Batch name
    assert '"/aws/batch/demo/align"' in files["logs.tf"]


def test_the_readme_names_what_users_submit_to() -> None:
    readme = rendered(checked(NAMED, replace=_ce(aws_name="research-ondemand")))["README.md"]
    assert "`research-ondemand` (exact name)" in readme
    assert "| `high` | `research-high` |" in readme
    assert "--job-queue research-high" in readme and "--job-definition align" in readme


# --- located errors ----------------------------------------------------------------------------


def _at(text: str, code: str) -> list[tuple[int, str]]:
    result = analyze_text(text, "names.yaml")
    return [(d.line or 0, d.message) for d in result.diagnostics if d.code == code]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BASE = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
compute_environments:
  ec2:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
job_queues:
  main:
    priority: 1
    compute_environments: [ec2]
"""


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ("    aws_name: research.high\n", "aws_name: research.high"),
        ("    aws_name: -high\n", "aws_name: -high"),
        (f"    aws_name: {'q' * 129}\n", "aws_name: qqq"),
        ("    aws_name_prefix: 'lab '\n", "aws_name_prefix"),
    ],
)
def test_an_invalid_queue_name_is_bf400_at_its_line(edit: str, needle: str) -> None:
    text = BASE + edit
    assert [line for line, _ in _at(text, "BF400")] == [_line(text, needle)]


def test_an_invalid_ce_name_is_bf400_at_its_line() -> None:
    text = BASE.replace("    max_vcpus: 16\n", "    max_vcpus: 16\n    aws_name: 'my ce'\n")
    ((line, message),) = _at(text, "BF400")
    assert line == _line(text, "aws_name: 'my ce'")
    assert "compute_environments.ec2" in message


def test_a_long_ce_prefix_is_bf321_at_the_prefix() -> None:
    prefix = "p" * 99  # + "ec2-" = 103 > 102
    edit = f"    max_vcpus: 16\n    aws_name_prefix: {prefix}\n"
    text = BASE.replace("    max_vcpus: 16\n", edit)
    result = analyze_text(text, "names.yaml")
    (diag,) = [d for d in result.diagnostics if d.code == "BF321"]
    assert diag.line == _line(text, "aws_name_prefix")
    assert diag.hint == "shorten aws_name_prefix to at most 98 characters"
    ok = text.replace(prefix, "p" * 98)
    assert _at(ok, "BF321") == []


def test_name_and_prefix_together_are_bf560() -> None:
    text = BASE + "    aws_name: research-main\n    aws_name_prefix: lab-\n"
    assert [line for line, _ in _at(text, "BF560")] == [_line(text, "aws_name_prefix")]


def test_two_queues_of_one_file_with_one_name_are_bf493_naming_the_first() -> None:
    text = (
        BASE
        + "    aws_name: demo-other\n"
        + "  other:\n    priority: 2\n    compute_environments: [ec2]\n"
    )
    ((line, message),) = _at(text, "BF493")
    # the queue `other` gets demo-other from <name>-<key>; `main` chose it with aws_name
    assert line == _line(text, "  other:")
    assert f"names.yaml:{_line(text, 'aws_name: demo-other')}:" in message
    assert "job queue 'main'" in message and "'demo-other'" in message


def test_names_of_different_kinds_may_coincide() -> None:
    """A queue and a job definition named alike is what AWS allows (names are per kind)."""
    text = BASE + "    aws_name: work\njob_definitions:\n  hello:\n    image: busybox\n"
    text += "    vcpus: 1\n    memory: 2 GiB\n    aws_name: work\n"
    result = analyze_text(text, "names.yaml")
    assert [d.code for d in result.diagnostics] == []


def test_an_exact_ce_name_and_another_ces_prefix_do_not_collide() -> None:
    """``demo-spot-`` + Terraform's suffix never equals the exact name ``demo-spot``."""
    spot = "  spot:\n    type: EC2\n    allocation_strategy: BEST_FIT_PROGRESSIVE\n"
    spot += "    max_vcpus: 4\n"
    text = BASE.replace(
        "    max_vcpus: 16\n", "    max_vcpus: 16\n    aws_name: demo-spot\n" + spot
    )
    result = analyze_text(text, "names.yaml")
    assert result.env is not None and set(result.env.compute_environments) == {"ec2", "spot"}
    assert [d.code for d in result.diagnostics] == []


def test_one_aws_name_in_two_files_is_bf493_in_the_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "a.yaml"
    second = tmp_path / "b.yaml"
    first.write_text(BASE + "    aws_name: shared-queue\n", encoding="utf-8")
    second.write_text(
        BASE.replace("name: demo", "name: other") + "    aws_name: shared-queue\n",
        encoding="utf-8",
    )
    a, b = analyze_files([first, second])
    assert a.diagnostics == []
    assert [(d.code, d.line) for d in b.diagnostics] == [("BF493", 16)]
    assert main(["validate", str(first), str(second)]) == 1
    out = capsys.readouterr().out
    assert f"{second}:16:15: error BF493: job queue 'main' gets the AWS name 'shared-queue'" in out
    assert f"{first}:16:15" in out


# --- diff --------------------------------------------------------------------------------------


def _model(data: dict[str, Any]) -> Environment:
    env, diags = parse_environment(data)
    assert env is not None, [d.message for d in diags]
    return env


def test_replacing_an_exactly_named_ce_says_it_is_destroyed_first() -> None:
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    new["compute_environments"]["ondemand"]["placement_group"] = "existing-group"  # ForceNew
    d = diff_environments(_model(old), _model(new))
    change = d.change("aws_batch_compute_environment.ondemand")
    assert change is not None and change.action == "replace"
    fails = [n.text for n in change.notes if n.risk == Risk.FAILS]
    assert len(fails) == 1 and "research-ondemand (aws_name) is destroyed first" in fails[0]
    assert not any("create_before_destroy" in n.text for n in change.notes)


def test_adopting_an_exact_name_replaces_the_ce() -> None:
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    new["compute_environments"]["spot"] = {
        **new["compute_environments"]["spot"],
        "aws_name_prefix": None,
        "aws_name": "lab-spot",
    }
    del new["compute_environments"]["spot"]["aws_name_prefix"]
    d = diff_environments(_model(old), _model(new))
    change = d.change("aws_batch_compute_environment.spot")
    assert change is not None and change.action == "replace"
    assert {a.path for a in change.attributes if a.forces_replacement} >= {"name", "name_prefix"}


def test_renaming_a_queue_replaces_it() -> None:
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    new["job_queues"]["high"]["aws_name"] = "research-urgent"
    d = diff_environments(_model(old), _model(new))
    change = d.change("aws_batch_job_queue.high")
    assert change is not None and change.action == "replace"


# --- verify ------------------------------------------------------------------------------------


def test_verify_lists_the_names_the_file_chose() -> None:
    desired = Desired(_model(read_yaml(ADOPTED.read_text(encoding="utf-8"))))
    assert desired.job_definition_prefixes == ("research-", "align")
    assert desired.policy_prefixes == ("research-",)
    assert desired.compute_environment_prefixes == ("research-", "lab-spot-")


def test_verify_finds_an_exact_ce_by_its_name_only() -> None:
    env = _model(read_yaml(ADOPTED.read_text(encoding="utf-8")))
    ctx = next(
        c
        for c in build_plan(env, "adopted.yaml").files["compute_environments.tf"][
            "compute_environments"
        ]
        if c["label"] == "ondemand"
    )
    tags = {"batchform:environment": "research", "batchform:key": "ondemand"}
    exact = {"computeEnvironmentName": "research-ondemand", "tags": tags}
    longer = {"computeEnvironmentName": "research-ondemand-old", "tags": tags}
    assert candidates(Live(compute_environments=[longer, exact]), ctx, "research") == [exact]


def test_the_example_validates_clean() -> None:
    adopted = analyze_text(ADOPTED.read_text(encoding="utf-8"), str(ADOPTED))
    assert adopted.env is not None and adopted.diagnostics == []
