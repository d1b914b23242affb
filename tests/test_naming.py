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
from tests.harness.small_env import blocks, checked, line_of, rendered
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
    assert [line for line, _ in _at(text, "BF400")] == [line_of(text, needle)]


def test_an_invalid_ce_name_is_bf400_at_its_line() -> None:
    text = BASE.replace("    max_vcpus: 16\n", "    max_vcpus: 16\n    aws_name: 'my ce'\n")
    ((line, message),) = _at(text, "BF400")
    assert line == line_of(text, "aws_name: 'my ce'")
    assert "compute_environments.ec2" in message


def test_a_long_ce_prefix_is_bf321_at_the_prefix() -> None:
    prefix = "p" * 99  # + "ec2-" = 103 > 102
    edit = f"    max_vcpus: 16\n    aws_name_prefix: {prefix}\n"
    text = BASE.replace("    max_vcpus: 16\n", edit)
    result = analyze_text(text, "names.yaml")
    (diag,) = [d for d in result.diagnostics if d.code == "BF321"]
    assert diag.line == line_of(text, "aws_name_prefix")
    assert diag.hint == "shorten aws_name_prefix to at most 98 characters"
    ok = text.replace(prefix, "p" * 98)
    assert _at(ok, "BF321") == []


def test_name_and_prefix_together_are_bf560() -> None:
    text = BASE + "    aws_name: research-main\n    aws_name_prefix: lab-\n"
    assert [line for line, _ in _at(text, "BF560")] == [line_of(text, "aws_name_prefix")]


def test_two_queues_of_one_file_with_one_name_are_bf493_naming_the_first() -> None:
    text = (
        BASE
        + "    aws_name: demo-other\n"
        + "  other:\n    priority: 2\n    compute_environments: [ec2]\n"
    )
    ((line, message),) = _at(text, "BF493")
    # the queue `other` gets demo-other from <name>-<key>; `main` chose it with aws_name
    assert line == line_of(text, "  other:")
    assert f"names.yaml:{line_of(text, 'aws_name: demo-other')}:" in message
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


def _rekeyed(data: dict[str, Any], section: str, old_key: str, new_key: str) -> dict[str, Any]:
    """``data`` with one key of ``section`` renamed (its aws_name kept) and every reference
    to it following."""
    moved = copy.deepcopy(data)
    moved[section] = {(new_key if k == old_key else k): v for k, v in moved[section].items()}
    for queue in moved["job_queues"].values():
        if section == "compute_environments":
            queue["compute_environments"] = [
                new_key if c == old_key else c for c in queue["compute_environments"]
            ]
        if section == "scheduling_policies" and queue.get("scheduling_policy") == old_key:
            queue["scheduling_policy"] = new_key
    for schedule in moved.get("schedules", {}).values():
        if section == "job_queues" and schedule.get("queue") == old_key:
            schedule["queue"] = new_key
        if section == "job_definitions" and schedule.get("job_definition") == old_key:
            schedule["job_definition"] = new_key
    return moved


@pytest.mark.parametrize(
    ("section", "old_key", "new_key", "address", "name"),
    [
        (
            "compute_environments",
            "ondemand",
            "steady",
            "aws_batch_compute_environment.steady",
            "research-ondemand",
        ),
        ("job_queues", "high", "urgent", "aws_batch_job_queue.urgent", "research-high"),
        (
            "scheduling_policies",
            "fair",
            "shared",
            "aws_batch_scheduling_policy.shared",
            "research-fair-share",
        ),
    ],
)
def test_an_exact_name_moving_to_another_key_says_the_apply_fails(
    section: str, old_key: str, new_key: str, address: str, name: str
) -> None:
    """A renamed key is a new resource, created while the old one still holds the name; Batch
    identifies compute environments, queues and policies by ARNs made of their names, so AWS
    refuses the second one."""
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    d = diff_environments(_model(old), _model(_rekeyed(old, section, old_key, new_key)))
    created = d.change(address)
    assert created is not None and created.action == "create"
    fails = [n.text for n in created.notes if n.risk == Risk.FAILS]
    assert len(fails) == 1 and f"name {name} moves here from '{old_key}'" in fails[0]


def test_a_prefixed_compute_environment_moving_keys_gets_a_new_name_and_no_note() -> None:
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    d = diff_environments(
        _model(old), _model(_rekeyed(old, "compute_environments", "spot", "spare"))
    )
    created = d.change("aws_batch_compute_environment.spare")
    assert created is not None and created.action == "create"
    assert not [n for n in created.notes if n.risk in (Risk.FAILS, Risk.JOBS)]
    # A prefix is no name to move: 'ondemand' giving up its exact name for a prefix while
    # 'spot' takes an exact one is no move from 'spot' to 'ondemand'.
    swapped = copy.deepcopy(old)
    ces = swapped["compute_environments"]
    del ces["ondemand"]["aws_name"]
    del ces["spot"]["aws_name_prefix"]
    ces["spot"]["aws_name"] = "research-spot"
    d = diff_environments(_model(old), _model(swapped))
    for key in ("ondemand", "spot"):
        change = d.change(f"aws_batch_compute_environment.{key}")
        assert change is not None and change.action == "replace"
        assert not [n for n in change.notes if "moves here" in n.text], key


def test_a_job_definition_name_moving_keys_warns_that_its_new_revision_may_go_too() -> None:
    """Registering the name again is allowed (the next revision), but the provider deletes the
    old key's resource by deregistering every ACTIVE revision of the name
    (internal/service/batch/job_definition.go, resourceJobDefinitionDelete), unordered with the
    new key's registration."""
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    d = diff_environments(_model(old), _model(_rekeyed(old, "job_definitions", "align", "aligner")))
    created = d.change("aws_batch_job_definition.aligner")
    assert created is not None and created.action == "create"
    assert [n.risk for n in created.notes] == [Risk.JOBS]
    assert "name align moves here from 'align'" in created.notes[0].text
    assert "every ACTIVE revision" in created.notes[0].text
    # a new name on the new key: nothing to say
    renamed = _rekeyed(old, "job_definitions", "align", "aligner")
    renamed["job_definitions"]["aligner"]["aws_name"] = "aligner"
    created = diff_environments(_model(old), _model(renamed)).change(
        "aws_batch_job_definition.aligner"
    )
    assert created is not None and created.notes == []


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


# --- per-resource tags -------------------------------------------------------------------------


def test_resource_tags_go_on_their_resource_only() -> None:
    """A CE's ``tags`` tag the compute environment, not its instances (``instance_tags``)."""
    extra = NAMED.replace("    aws_name: research-high\n", "    tags: {tier: gold}\n")
    extra = extra.replace("    aws_name: research-fair\n", "    tags: {owner: lab-a}\n")
    env = checked(extra, replace=_ce(tags={"tier": "ondemand"}))
    files = rendered(env)
    ce = blocks(files["compute_environments.tf"])["aws_batch_compute_environment"]["ondemand"]
    assert ce["tags"]["tier"] == "ondemand"
    assert "tier" not in ce["compute_resources"][0]["tags"]
    queues = blocks(files["job_queues.tf"])["aws_batch_job_queue"]
    assert queues["high"]["tags"]["tier"] == "gold" and "tier" not in queues["low"]["tags"]
    policy = blocks(files["scheduling_policies.tf"])["aws_batch_scheduling_policy"]["fair"]
    assert policy["tags"]["owner"] == "lab-a"


def test_a_resource_tag_wins_over_the_files_tag_where_verify_looks() -> None:
    """The provider merges ``default_tags`` under a resource's ``tags`` (its ``tags_all``), so
    verify expects the resource's value."""
    desired = Desired(_model(read_yaml(ADOPTED.read_text(encoding="utf-8"))))
    queues = build_plan(desired.env, "adopted.yaml").files["job_queues.tf"]["queues"]
    high = next(q for q in queues if q["label"] == "high")
    assert desired.expected_tags(high["tags"])["team"] == "pipelines"


def test_bad_resource_tags_are_located() -> None:
    text = BASE + "    tags:\n      'aws:owner': me\n"
    result = analyze_text(text, "names.yaml")
    assert [(d.code, d.line) for d in result.diagnostics] == [("BF230", line_of(text, "aws:owner"))]
    many = "".join(f"      t{i}: v\n" for i in range(49))
    text = BASE + "    tags:\n" + many
    result = analyze_text(text, "names.yaml")
    assert [(d.code, d.line) for d in result.diagnostics] == [("BF232", line_of(text, "tags:"))]
    assert "job_queues.main would carry 51 tags" in result.diagnostics[0].message


def test_changing_a_resource_tag_updates_in_place() -> None:
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    new["compute_environments"]["ondemand"]["tags"] = {"tier": "on-demand"}
    new["job_queues"]["high"]["tags"]["tier"] = "silver"
    d = diff_environments(_model(old), _model(new))
    ce = d.change("aws_batch_compute_environment.ondemand")
    queue = d.change("aws_batch_job_queue.high")
    assert ce is not None and ce.action == "update"
    assert queue is not None and queue.action == "update"


# --- existing launch templates -----------------------------------------------------------------


def test_an_existing_launch_template_by_id_or_name_is_pinned_as_written() -> None:
    by_id = {"id": "lt-0123456789abcdef0", "version": 7}  # an unquoted number reads as "7"
    text = rendered(checked(replace=_ce(launch_template=by_id)))["compute_environments.tf"]
    ce = blocks(text)["aws_batch_compute_environment"]["ondemand"]
    spec = ce["compute_resources"][0]["launch_template"][0]
    assert spec == {"launch_template_id": "lt-0123456789abcdef0", "version": "7"}
    assert "replace_triggered_by" not in text and "aws_launch_template" not in text
    by_name = {"name": "research-base", "version": "3"}
    text = rendered(checked(replace=_ce(launch_template=by_name)))["compute_environments.tf"]
    ce = blocks(text)["aws_batch_compute_environment"]["ondemand"]
    spec = ce["compute_resources"][0]["launch_template"][0]
    assert spec == {"launch_template_name": "research-base", "version": "3"}


LT_CE = """\
compute_environments:
  ec2:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
"""


@pytest.mark.parametrize(
    ("lt", "code", "needle"),
    [
        ("{id: lt-0123456789abcdef0, version: $Latest}", "BF561", "version: $Latest"),
        ("{id: lt-0123456789abcdef0, version: $Default}", "BF561", "version: $Default"),
        ("{id: lt-0123456789abcdef0}", "BF561", "launch_template:"),
        ("{name: base, version: '0'}", "BF561", "version: '0'"),
        ("{id: research-base, version: '3'}", "BF562", "id: research-base"),
        ("{name: 'a b', version: '3'}", "BF562", "name: 'a b'"),
    ],
)
def test_bad_existing_launch_templates_are_located(lt: str, code: str, needle: str) -> None:
    """Each key of the mapping on its own line, so the finding's line says which key."""
    head, _, _ = BASE.partition("compute_environments:\n")
    keys = "".join(f"      {item}\n" for item in lt.strip("{}").split(", "))
    text = head + LT_CE + "    launch_template:\n" + keys
    text += "job_queues:\n" + BASE.partition("job_queues:\n")[2]
    result = analyze_text(text, "lt.yaml")
    found = [(d.code, d.line) for d in result.diagnostics if d.level.value == "error"]
    assert found == [(code, line_of(text, needle.split(",")[0].strip("{}")))], (text, found)


def test_version_latest_explains_why() -> None:
    text = BASE.replace(
        "    max_vcpus: 16\n",
        "    max_vcpus: 16\n    launch_template: {id: lt-0123456789abcdef0, version: $Latest}\n",
    )
    (diag,) = analyze_text(text, "lt.yaml").diagnostics
    assert diag.code == "BF561" and "$Latest" in diag.message
    assert diag.hint is not None and "only when the compute environment is created" in diag.hint


def test_id_and_name_together_are_refused() -> None:
    lt = "{id: lt-0123456789abcdef0, name: base, version: '3'}"
    text = BASE.replace("    max_vcpus: 16\n", f"    max_vcpus: 16\n    launch_template: {lt}\n")
    (diag,) = analyze_text(text, "lt.yaml").diagnostics
    assert diag.code == "BF103" and "exactly one of `id`, `name`" in diag.message


def test_an_lt_id_written_as_a_key_gets_the_mapping_as_hint() -> None:
    lt = "lt-0123456789abcdef0"
    text = BASE.replace("    max_vcpus: 16\n", f"    max_vcpus: 16\n    launch_template: {lt}\n")
    (diag,) = analyze_text(text, "lt.yaml").diagnostics
    assert diag.code == "BF202"
    assert diag.hint == f'for an existing launch template write {{id: {lt}, version: "1"}} ' + (
        "with the version number to use"
    )


def test_a_new_pinned_version_updates_an_updatable_ce_and_replaces_another() -> None:
    """provider 5.x: launch_template changes replace a CE unless it is updatable
    (resourceComputeEnvironmentCustomizeDiff, internal/service/batch/compute_environment.go);
    ondemand is BEST_FIT_PROGRESSIVE with the service-linked role, spot
    SPOT_CAPACITY_OPTIMIZED: both updatable."""
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    new["compute_environments"]["ondemand"]["launch_template"]["version"] = "8"
    new["compute_environments"]["spot"]["launch_template"]["version"] = "4"
    new["compute_environments"]["spot"]["allocation_strategy"] = "SPOT_PRICE_CAPACITY_OPTIMIZED"
    d = diff_environments(_model(old), _model(new))
    ondemand = d.change("aws_batch_compute_environment.ondemand")
    spot = d.change("aws_batch_compute_environment.spot")
    assert ondemand is not None and ondemand.action == "update"
    assert spot is not None and spot.action == "replace"


# --- IAM: path, permissions boundary, managed policies -----------------------------------------

BOUNDARY = "arn:aws:iam::123456789012:policy/team-boundary"
SSM = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
IAM_EXTRA = f"""\
iam:
  path: /batch/
  permissions_boundary: {BOUNDARY}
  instance_role:
    managed_policies: [{SSM}]
  service_role: generated
job_definitions:
  align:
    image: busybox
    vcpus: 1
    memory: 2 GiB
    job_role:
      managed_policies: [arn:aws:iam::123456789012:policy/extra]
"""


def test_every_generated_role_gets_the_path_and_boundary() -> None:
    text = rendered(checked(IAM_EXTRA))["iam.tf"]
    found = blocks(text)
    roles = found["aws_iam_role"]
    assert set(roles) == {"batch_service", "ecs_instance", "job_align"}
    for role in roles.values():
        assert role["path"] == "/batch/" and role["permissions_boundary"] == BOUNDARY
    assert found["aws_iam_instance_profile"]["ecs_instance"]["path"] == "/batch/"
    attachments = {k: v["policy_arn"] for k, v in found["aws_iam_role_policy_attachment"].items()}
    assert attachments["ecs_instance_AmazonSSMManagedInstanceCore"] == SSM
    assert attachments["job_align_extra"] == "arn:aws:iam::123456789012:policy/extra"
    # the ECS instance policy stays attached next to the extra one
    assert "AmazonEC2ContainerServiceforEC2Role" in attachments["ecs_instance"]


def test_without_iam_options_roles_are_written_as_before() -> None:
    text = rendered(checked())["iam.tf"]
    assert "path" not in text and "permissions_boundary" not in text


def test_a_job_role_of_managed_policies_only_is_generated() -> None:
    env = checked(IAM_EXTRA)
    role = blocks(rendered(env)["iam.tf"])["aws_iam_role"]["job_align"]
    assert role["name"] == "demo-job-align"
    assert "aws_iam_role_policy" not in blocks(rendered(env)["iam.tf"])  # no inline policy


@pytest.mark.parametrize(
    ("edit", "code", "needle"),
    [
        ("  path: batch\n", "BF563", "path: batch"),
        ("  path: /a b/\n", "BF563", "path: /a b/"),
        ("  permissions_boundary: arn:aws:iam::123:policy/x\n", "BF564", "permissions_boundary"),
        (
            "  instance_role:\n    managed_policies: [arn:aws:iam::123456789012:role/r]\n",
            "BF564",
            "managed_policies",
        ),
    ],
)
def test_bad_iam_options_are_located(edit: str, code: str, needle: str) -> None:
    text = BASE + "iam:\n" + edit
    result = analyze_text(text, "iam.yaml")
    assert [(d.code, d.line) for d in result.diagnostics] == [(code, line_of(text, needle))]


def test_too_many_managed_policies_warn_then_fail() -> None:
    def policies(n: int) -> str:
        listed = ", ".join(f"arn:aws:iam::123456789012:policy/p{i}" for i in range(n))
        return BASE + f"iam:\n  instance_role:\n    managed_policies: [{listed}]\n"

    assert [d.code for d in analyze_text(policies(9), "iam.yaml").diagnostics] == []
    (warning,) = analyze_text(policies(10), "iam.yaml").diagnostics
    assert (warning.code, warning.level.value) == ("BF565", "warning")
    assert "11 managed policies (1 of batchform's own)" in warning.message
    (error,) = analyze_text(policies(20), "iam.yaml").diagnostics
    assert (error.code, error.level.value) == ("BF565", "error")


def test_instance_role_policies_without_an_instance_role_warn() -> None:
    fargate = BASE.replace(
        "type: EC2\n    allocation_strategy: BEST_FIT_PROGRESSIVE", "type: FARGATE"
    )
    text = fargate + f"iam:\n  instance_role:\n    managed_policies: [{SSM}]\n"
    (diag,) = analyze_text(text, "iam.yaml").diagnostics
    assert (diag.code, diag.line) == ("BF566", line_of(text, "managed_policies"))


def test_an_instance_profile_arn_still_works() -> None:
    arn = "arn:aws:iam::123456789012:instance-profile/ecs"
    env = checked(f"iam:\n  instance_role: {arn}\n")
    ce = blocks(rendered(env)["compute_environments.tf"])["aws_batch_compute_environment"]
    assert ce["ondemand"]["compute_resources"][0]["instance_role"] == arn
    assert "iam.tf" not in rendered(env) or "ecs_instance" not in rendered(env)["iam.tf"]


def test_a_new_path_replaces_the_roles_and_a_boundary_updates_them() -> None:
    old = read_yaml(ADOPTED.read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    new["iam"]["path"] = "/research/"
    d = diff_environments(_model(old), _model(new))
    role = d.change("aws_iam_role.ecs_instance")
    assert role is not None and role.action == "replace"
    # the spot CE is create_before_destroy, which Terraform passes on to the instance role
    fails = [n.text for n in role.notes if n.risk == Risk.FAILS]
    assert len(fails) == 1 and "EntityAlreadyExists" in fails[0]
    job_role = d.change("aws_iam_role.job_align")
    assert job_role is not None and job_role.action == "replace"
    assert not [n for n in job_role.notes if n.risk == Risk.FAILS]  # job definitions are not
    new = copy.deepcopy(old)
    new["iam"]["permissions_boundary"] = "arn:aws:iam::123456789012:policy/other"
    d = diff_environments(_model(old), _model(new))
    role = d.change("aws_iam_role.ecs_instance")
    assert role is not None and role.action == "update"


def test_verify_reports_a_removed_boundary_and_a_detached_policy() -> None:
    from batchform.verify.fetch import RoleInfo
    from batchform.verify.infra import _role_options
    from batchform.verify.result import ResourceCheck

    env = _model(read_yaml(ADOPTED.read_text(encoding="utf-8")))
    roles = build_plan(env, "adopted.yaml").files["iam.tf"]["roles"]
    ctx = next(r for r in roles if r["label"] == "ecs_instance")
    trust: dict[str, Any] = {}
    fine = RoleInfo("r", "arn", trust, (SSM,), (), {}, "/batch/", ctx["permissions_boundary"])
    check = ResourceCheck("role", "ecs-instance", "r")
    _role_options(check, ctx, fine)
    assert check.differences == []
    drifted = RoleInfo("r", "arn", trust, (), (), {}, "/batch/", None)
    check = ResourceCheck("role", "ecs-instance", "r")
    _role_options(check, ctx, drifted)
    assert {d.attribute for d in check.differences} == {
        "PermissionsBoundary",
        f"AttachedPolicies.{SSM}",
    }


def _launch_template_differences(env: Environment, key: str, actual: dict[str, Any]) -> set[str]:
    from batchform.verify.batch import _launch_template
    from batchform.verify.result import ResourceCheck

    ces = build_plan(env, "t.yaml").files["compute_environments.tf"]["compute_environments"]
    ctx = next(c for c in ces if c["label"] == key)
    live = Live()
    live.bind("aws_launch_template.scratch", id="lt-0aaaaaaaaaaaaaaaa", latest_version="3")
    check = ResourceCheck("compute environment", key, "x")
    _launch_template(check, live, ctx, {"launchTemplate": actual})
    return {d.attribute for d in check.differences}


def test_verify_compares_the_pinned_version_of_either_kind_of_template() -> None:
    """A template batchform makes is held to its live ``latest_version`` (an ``Expr`` the
    verifier resolves), an existing one to the version the file wrote."""
    own = checked(
        "launch_templates:\n  scratch:\n    root_volume: {size: 50 GiB}\n",
        replace=_ce(launch_template="scratch"),
    )
    pinned = {"launchTemplateId": "lt-0aaaaaaaaaaaaaaaa", "version": "3"}
    assert _launch_template_differences(own, "ondemand", pinned) == set()
    stale = {**pinned, "version": "2"}
    assert _launch_template_differences(own, "ondemand", stale) == {
        "computeResources.launchTemplate.version"
    }
    existing = checked(replace=_ce(launch_template={"name": "base", "version": "7"}))
    assert (
        _launch_template_differences(
            existing, "ondemand", {"launchTemplateName": "base", "version": "7"}
        )
        == set()
    )
    assert _launch_template_differences(
        existing, "ondemand", {"launchTemplateName": "other", "version": "8"}
    ) == {
        "computeResources.launchTemplate.launchTemplateName",
        "computeResources.launchTemplate.version",
    }
