"""`batchform diff`: realistic edits to the genomics example, each checked for the resources it
names, whether Terraform updates or replaces them, and the risks a reviewer is warned about.

Expected actions follow the AWS provider 5.x (``resourceComputeEnvironmentCustomizeDiff``): the
genomics ``spot`` CE uses SPOT_PRICE_CAPACITY_OPTIMIZED, which the provider does *not* treat as
updatable, so its instance changes replace it; ``ondemand`` (BEST_FIT_PROGRESSIVE with the
service-linked role) is updated in place. ``tests/test_diff_e2e.py`` checks such claims
against ``terraform plan`` on the emulator.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from batchform.cli import main
from batchform.diff import EnvironmentDiff, Risk, diff_environments
from batchform.model import Environment, parse_environment
from batchform.report.diff import format_markdown, format_text
from tests.harness.gitrepo import git
from tests.harness.yaml_files import read_yaml

CONFIG = Path(__file__).parent.parent / "configs" / "genomics.yaml"

Edit = Callable[[dict[str, Any]], None]


def raw() -> dict[str, Any]:
    data: dict[str, Any] = read_yaml(CONFIG.read_text(encoding="utf-8"))
    return data


def model(data: dict[str, Any]) -> Environment:
    env, diags = parse_environment(data)
    assert env is not None, [d.message for d in diags]
    return env


def diff_after(edit: Edit) -> EnvironmentDiff:
    old = raw()
    new = copy.deepcopy(old)
    edit(new)
    return diff_environments(model(old), model(new))


def actions(d: EnvironmentDiff) -> dict[str, str]:
    return {c.address: c.action for c in d.changes}


def notes_of(d: EnvironmentDiff, address: str, risk: Risk) -> list[str]:
    change = d.change(address)
    assert change is not None, f"{address} does not change"
    return [n.text for n in change.notes if n.risk == risk]


SPOT = "aws_batch_compute_environment.spot"
ONDEMAND = "aws_batch_compute_environment.ondemand"
FARGATE = "aws_batch_compute_environment.fargate"
HIGH = "aws_batch_job_queue.high"
SERVERLESS = "aws_batch_job_queue.serverless"


def test_identical_files_change_nothing() -> None:
    d = diff_after(lambda data: None)
    assert d.changes == []
    assert "No changes" in format_text(d, "a", "b")


def test_raising_max_vcpus_scales_in_place() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["spot"]["max_vcpus"] = 2048

    d = diff_after(edit)
    assert actions(d) == {SPOT: "update"}
    change = d.change(SPOT)
    assert change is not None
    assert [(a.path, a.old, a.new) for a in change.attributes] == [
        ("compute_resources.attrs.max_vcpus", "1024", "2048")
    ]
    assert not change.attributes[0].forces_replacement
    assert notes_of(d, SPOT, Risk.CAPACITY) == ["max_vcpus 1024 -> 2048: more capacity"]
    assert notes_of(d, SPOT, Risk.JOBS) == []


def test_lowering_max_vcpus_warns_that_jobs_wait() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["fargate"]["max_vcpus"] = 16

    d = diff_after(edit)
    assert actions(d) == {FARGATE: "update"}
    assert "RUNNABLE" in notes_of(d, FARGATE, Risk.CAPACITY)[0]


def test_instance_types_replace_a_non_updatable_ce() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["spot"]["instance_types"] = ["c6i", "m6i"]

    d = diff_after(edit)
    # The replacement gets a new ARN, which the queue that lists it is updated to.
    assert actions(d) == {SPOT: "replace", HIGH: "update"}
    spot = d.change(SPOT)
    assert spot is not None
    forced = [a.path for a in spot.attributes if a.forces_replacement]
    assert forced == ["compute_resources.attrs.instance_type"]
    assert any("terminates the jobs" in t for t in notes_of(d, SPOT, Risk.JOBS))
    high = d.change(HIGH)
    assert high is not None
    assert "is replaced" in high.attributes[0].new


def test_instance_types_update_an_updatable_ce_in_place() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["ondemand"]["instance_types"] = ["c6i", "m6i", "r6i"]

    d = diff_after(edit)
    assert actions(d) == {ONDEMAND: "update"}
    (jobs_note,) = notes_of(d, ONDEMAND, Risk.JOBS)
    assert "infrastructure update" in jobs_note and "30 minutes" in jobs_note


def test_terminate_jobs_on_update_is_called_out() -> None:
    def edit(data: dict[str, Any]) -> None:
        ce = data["compute_environments"]["ondemand"]
        ce["instance_types"] = ["c6i"]
        ce["update_policy"] = {"terminate_jobs_on_update": True, "job_execution_timeout": "10m"}

    d = diff_after(edit)
    assert actions(d) == {ONDEMAND: "update"}
    texts = notes_of(d, ONDEMAND, Risk.JOBS)
    assert any("terminates the jobs running on them at once" in t for t in texts)
    assert any("terminate_jobs_on_update turned on" in t for t in texts)


def test_launch_template_change_reaches_every_ce_using_it() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["launch_templates"]["scratch-1tb"]["scratch_volume"]["iops"] = 8000

    d = diff_after(edit)
    # What `terraform plan` shows (verified against terraform in test_diff_e2e.py): the new
    # latest_version is unknown while planning; the updatable CE is updated in place, and the
    # one provider 5.x cannot update (SPOT_PRICE_CAPACITY_OPTIMIZED) is replaced up front by
    # its lifecycle.replace_triggered_by, so the queues using it move to the new CE.
    assert actions(d) == {
        "aws_launch_template.scratch_1tb": "update",
        ONDEMAND: "update",  # updatable: an infrastructure update picks up the new version
        SPOT: "replace",
        HIGH: "update",
    }
    lt = d.change("aws_launch_template.scratch_1tb")
    assert lt is not None
    assert lt.attributes[0].path == "block_device_mappings[1].ebs.iops"
    spot = d.change(SPOT)
    assert spot is not None
    (version,) = spot.attributes
    assert version.path == "compute_resources.launch_template.version"
    assert version.new.endswith("(new version)") and version.forces_replacement
    assert any("replace_triggered_by" in t for t in notes_of(d, SPOT, Risk.NOTE))
    # Nothing is predicted to fail any more: the replacement happens in the one apply.
    assert [n for _, n in d.all_notes if n.risk == Risk.FAILS] == []
    assert any("infrastructure update" in t for t in notes_of(d, ONDEMAND, Risk.JOBS))


def test_launch_template_change_updates_a_price_capacity_ce_in_place_on_provider_6_10() -> None:
    """Provider 6.10.0 updates SPOT_PRICE_CAPACITY_OPTIMIZED CEs in place (CHANGELOG.md 6.10.0,
    #40148): with a constraint that admits nothing older, the compiler writes no replace
    trigger and the diff predicts the in-place update the provider plans."""

    def on_6_10(data: dict[str, Any]) -> None:
        data["terraform"]["aws_provider"] = "~> 6.10"

    def edit(data: dict[str, Any]) -> None:
        on_6_10(data)
        data["launch_templates"]["scratch-1tb"]["scratch_volume"]["iops"] = 8000

    old = raw()
    on_6_10(old)
    new = copy.deepcopy(raw())
    edit(new)
    d = diff_environments(model(old), model(new))
    assert actions(d) == {
        "aws_launch_template.scratch_1tb": "update",
        ONDEMAND: "update",
        SPOT: "update",
    }
    spot = d.change(SPOT)
    assert spot is not None and not any(a.forces_replacement for a in spot.attributes)
    assert not any("replace_triggered_by" in t for t in notes_of(d, SPOT, Risk.NOTE))


def test_provider_6_8_replaces_a_non_updatable_ce_for_a_new_version_without_a_trigger() -> None:
    """With a generated service role no provider updates a CE in place. From 6.8.0 the provider
    itself replaces it for a template version unknown at plan time (CHANGELOG.md 6.8.0,
    #43337): no trigger is written, and the diff still predicts the replacement."""

    def setup(data: dict[str, Any]) -> None:
        data["terraform"]["aws_provider"] = "~> 6.8"
        data["iam"]["service_role"] = "generated"

    old = raw()
    setup(old)
    new = copy.deepcopy(old)
    new["launch_templates"]["scratch-1tb"]["scratch_volume"]["iops"] = 8000
    d = diff_environments(model(old), model(new))
    assert actions(d)[SPOT] == "replace" and actions(d)[ONDEMAND] == "replace"
    texts = notes_of(d, SPOT, Risk.NOTE)
    assert any("the provider plans it itself from release 6.8.0" in t for t in texts)
    assert not any("replace_triggered_by" in t for t in texts)


def test_attaching_a_launch_template_always_replaces() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["ondemand"].pop("launch_template")

    d = diff_after(edit)
    assert d.change(ONDEMAND) is not None
    assert actions(d)[ONDEMAND] == "replace"


def test_placement_group_always_replaces() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["ondemand"]["placement_group"] = "cluster-a"

    d = diff_after(edit)
    assert actions(d) == {ONDEMAND: "replace", HIGH: "update"}


def test_environment_tags_replace_ces_that_cannot_update() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["tags"]["owner"] = "lab-ops"

    d = diff_after(edit)
    found = actions(d)
    assert found[SPOT] == "replace"  # instance tags (compute_resources.tags) change
    assert found[ONDEMAND] == "update"
    # Everything else taggable only gets new tags_all (provider default_tags) in place.
    fargate = d.change(FARGATE)
    assert fargate is not None and fargate.action == "update"
    assert [a.path for a in fargate.attributes] == ["tags_all (environment tags)"]
    assert found["aws_vpc.main"] == "update"
    assert "aws_route.public_internet" not in found  # not taggable
    align = d.change("aws_batch_job_definition.align")
    assert align is not None and align.action == "update"
    assert not any("revision" in n.text for n in align.notes)  # tags need no new revision
    assert any("environment tags change" in n.text for n in d.notes)


def test_security_group_description_replaces_the_group_and_its_users() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["network"]["security_groups"]["batch"]["description"] = "Batch workers"

    d = diff_after(edit)
    found = actions(d)
    assert found["aws_security_group.batch"] == "replace"
    assert found[SPOT] == "replace"  # new security group id on a non-updatable CE
    assert found[ONDEMAND] == "update"  # updatable: security groups change in place
    assert found[FARGATE] == "update"  # Fargate CEs take new groups in place
    sg = d.change("aws_security_group.batch")
    assert sg is not None
    assert [a.path for a in sg.attributes if a.forces_replacement] == ["description"]


def test_queue_gaining_a_scheduling_policy_is_refused_by_aws() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["job_queues"]["serverless"]["scheduling_policy"] = "fair"

    d = diff_after(edit)
    assert actions(d) == {SERVERLESS: "update"}  # what terraform plan shows...
    (fails,) = notes_of(d, SERVERLESS, Risk.FAILS)  # ...and why the apply then fails
    assert "-replace=aws_batch_job_queue.serverless" in fails


def test_removing_a_scheduling_policy_is_impossible() -> None:
    def edit(data: dict[str, Any]) -> None:
        del data["job_queues"]["high"]["scheduling_policy"]

    d = diff_after(edit)
    assert actions(d)[HIGH] == "update"
    assert any("cannot remove" in t for t in notes_of(d, HIGH, Risk.FAILS))


def test_job_definition_change_is_a_new_revision() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["job_definitions"]["call-variants"]["image"] = "public.ecr.aws/example/gatk:4.6"
        data["job_definitions"]["call-variants"]["memory"] = "24 GiB"

    d = diff_after(edit)
    address = "aws_batch_job_definition.call_variants"
    assert actions(d) == {address: "update"}
    change = d.change(address)
    assert change is not None
    paths = {a.path: (a.old, a.new) for a in change.attributes}
    assert paths["container_properties.image"] == (
        '"public.ecr.aws/example/gatk:4.5"',
        '"public.ecr.aws/example/gatk:4.6"',
    )
    assert any("resourceRequirements" in p for p in paths)
    assert any("new revision" in n.text for n in change.notes)


def test_changed_retry_rules_replace_the_job_definition_and_say_submissions_pause() -> None:
    """``retry_strategy.evaluate_on_exit`` is ForceNew (internal/service/batch/job_definition.go),
    and the delete deregisters every ACTIVE revision of the name before the new one registers;
    tests/test_diff_e2e.py holds the action to terraform plan."""

    def edit(data: dict[str, Any]) -> None:
        data["job_definitions"]["align"]["retry"]["on_exit"][0]["status_reason"] = "Host EC2 *"

    d = diff_after(edit)
    address = "aws_batch_job_definition.align"
    # the schedule submitting it, and the scheduler role's policy, name the new revision's ARN
    assert actions(d) == {
        address: "replace",
        "aws_scheduler_schedule.nightly_align": "update",
        "aws_iam_role_policy.scheduler_submit": "update",
    }
    change = d.change(address)
    assert change is not None
    assert [a.path for a in change.attributes if a.forces_replacement] == [
        "retry_strategy.evaluate_on_exit[0].on_status_reason"
    ]
    (jobs,) = notes_of(d, address, Risk.JOBS)
    assert "replaced, not revised" in jobs and "submissions by name fail in between" in jobs
    assert not any("new revision" in n.text for n in change.notes)


def test_attempts_alone_are_a_new_revision() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["job_definitions"]["align"]["retry"]["attempts"] = 4
        data["job_defaults"]["retry"] = {"attempts": 3}  # no rules before or after

    d = diff_after(edit)
    assert set(actions(d).values()) == {"update"}
    assert "aws_batch_job_definition.align" in actions(d)


def test_new_required_parameter_breaks_submitters() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["job_definitions"]["call-variants"]["command"].append("Ref::sample")

    d = diff_after(edit)
    (fails,) = notes_of(d, "aws_batch_job_definition.call_variants", Risk.FAILS)
    assert "--parameters sample=..." in fails


def test_removing_a_ce_from_a_queue_and_deleting_it() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["job_queues"]["high"]["compute_environments"] = ["spot"]
        del data["compute_environments"]["ondemand"]

    d = diff_after(edit)
    assert actions(d) == {ONDEMAND: "delete", HIGH: "update"}
    assert any("'ondemand' leave this queue" in t for t in notes_of(d, HIGH, Risk.JOBS))
    assert notes_of(d, ONDEMAND, Risk.JOBS) == ["deleted: jobs still running in it are terminated"]


def test_disabling_a_queue_warns_about_submissions() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["job_queues"]["high"]["state"] = "DISABLED"

    d = diff_after(edit)
    assert actions(d) == {HIGH: "update"}
    assert any("submissions are refused" in t for t in notes_of(d, HIGH, Risk.JOBS))


def test_generated_service_role_makes_later_changes_replace() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["iam"]["service_role"] = "generated"

    d = diff_after(edit)
    # The role itself changes in place; the CEs' service_role is an update, not a replacement.
    assert actions(d)[ONDEMAND] == "update"
    assert actions(d)["aws_iam_role.batch_service"] == "create"

    def edit_more(data: dict[str, Any]) -> None:
        edit(data)
        data["compute_environments"]["ondemand"]["instance_types"] = ["c6i"]

    assert actions(diff_after(edit_more))[ONDEMAND] == "replace"


def test_new_ce_and_queue_are_created() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["gpu"] = {
            "type": "EC2",
            "allocation_strategy": "BEST_FIT_PROGRESSIVE",
            "max_vcpus": 64,
            "instance_types": ["g5"],
        }
        data["job_queues"]["gpu"] = {"priority": 50, "compute_environments": ["gpu"]}

    d = diff_after(edit)
    assert actions(d) == {
        "aws_batch_compute_environment.gpu": "create",
        "aws_batch_job_queue.gpu": "create",
        # the alert rules watch every queue of the environment, the new one too
        "aws_cloudwatch_event_rule.alert_job_failed": "update",
        "aws_cloudwatch_event_rule.alert_queue_blocked": "update",
    }
    assert notes_of(d, "aws_batch_compute_environment.gpu", Risk.CAPACITY) == [
        "new capacity: 0-64 vCPUs"
    ]


def test_markdown_has_a_verdict_and_one_row_per_resource() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["spot"]["instance_types"] = ["c6i", "m6i"]
        data["job_definitions"]["align"]["image"] = "repo/bwa:`x`|y"

    d = diff_after(edit)
    text = format_markdown(d, "main:configs/genomics.yaml", "configs/genomics.yaml")
    # align's new revision has a new ARN: its schedule and the scheduler's policy name it
    assert "**Plan: 0 to create, 4 to update, 1 to replace, 0 to delete.**" in text
    rows = [line for line in text.splitlines() if line.startswith("| :")]
    assert len(rows) == 5
    assert any("**REPLACE**" in r and SPOT in r for r in rows)
    # A pipe in a value must not break the table.
    assert all(r.count(" | ") == 3 for r in rows)


# --- the command line ---------------------------------------------------------------------


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_cli_exit_code_is_0_with_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write(tmp_path / "old.yaml", raw())
    data = raw()
    data["compute_environments"]["spot"]["instance_types"] = ["c6i"]
    new = write(tmp_path / "new.yaml", data)
    assert main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert f"-/+ compute environment 'spot' ({SPOT}) will be REPLACED" in out
    assert main(["diff", "--format", "markdown", str(old), str(new)]) == 0
    assert "| :warning: **REPLACE** |" in capsys.readouterr().out


def test_cli_invalid_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path / "old.yaml", raw())
    data = raw()
    data["compute_environments"]["spot"]["max_vcpu"] = 1
    new = write(tmp_path / "new.yaml", data)
    assert main(["diff", str(old), str(new)]) == 1
    assert "max_vcpu" in capsys.readouterr().err


def test_cli_base_compares_with_the_committed_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    git(repo, "init", "-q")
    path = write(repo / "configs" / "prod.yaml", raw())
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    data = raw()
    data["job_queues"]["high"]["priority"] = 200
    write(path, data)
    assert main(["diff", "--base", "HEAD", str(path)]) == 0
    out = capsys.readouterr().out
    assert "priority: 100 -> 200" in out
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in out

    new_file = write(repo / "configs" / "new.yaml", raw())
    assert main(["diff", "--base", "HEAD", str(new_file)]) == 0
    assert "will be created" in capsys.readouterr().out

    assert main(["diff", "--base", "no-such-ref", str(path)]) == 1
    assert "git show" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([str(CONFIG)], "without --base, diff compares two files (OLD NEW) and got one; to"),
        ([], "without --base, diff compares two files (OLD NEW) and got 0"),
        ([str(CONFIG)] * 3, "without --base, diff compares two files (OLD NEW) and got 3"),
        (["--base", "HEAD"], "--base GIT_REF needs the file(s) to compare"),
    ],
)
def test_cli_files_must_fit_one_of_the_two_forms(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each position has one meaning: OLD NEW without --base, CONFIG... with it. Anything
    else is a usage error naming both forms, before any file is read."""
    assert main(["diff", *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage: batchform diff [--format {text,markdown,json}] OLD NEW\n" in captured.err
    assert "--base GIT_REF CONFIG [CONFIG ...]" in captured.err
    assert f"batchform diff: error: {says}" in captured.err


def test_cli_base_compares_each_file_with_itself_at_the_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --base every file is a new version (a CI job passes all changed files at once);
    one invalid file fails the run, and the others are still compared."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    first = write(repo / "prod.yaml", raw())
    second = write(repo / "stage.yaml", {**raw(), "name": "stage"})
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    data = raw()
    data["job_queues"]["high"]["priority"] = 200
    write(first, data)
    assert main(["diff", "--base", "HEAD", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert f"batchform diff HEAD:{first} -> {first}" in out
    assert f"batchform diff HEAD:{second} -> {second}" in out
    assert "priority: 100 -> 200" in out
    assert out.count("Plan: ") == 1 and "No changes to AWS resources." in out

    broken = raw()
    broken["compute_environments"]["spot"]["max_vcpu"] = 1
    write(second, broken)
    assert main(["diff", "--base", "HEAD", str(first), str(second)]) == 1
    captured = capsys.readouterr()
    assert "priority: 100 -> 200" in captured.out
    assert "max_vcpu" in captured.err

    assert main(["diff", "--base", "no-such-ref", str(first), str(second)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("git show") == 1


def test_spot_fleet_role_change_replaces_the_ces_that_use_it() -> None:
    def best_fit_spot(data: dict[str, Any]) -> None:
        data["compute_environments"]["spot"]["allocation_strategy"] = "BEST_FIT"

    def edit(data: dict[str, Any]) -> None:
        best_fit_spot(data)
        data["iam"]["spot_fleet_role"] = "arn:aws:iam::123456789012:role/fleet"

    old = raw()
    best_fit_spot(old)
    new = copy.deepcopy(old)
    edit(new)
    d = diff_environments(model(old), model(new))
    spot = d.change(SPOT)
    assert spot is not None and spot.action == "replace"
    assert [a.path for a in spot.attributes if a.forces_replacement] == [
        "compute_resources.attrs.spot_iam_fleet_role"
    ]
    assert actions(d)["aws_iam_role.spot_fleet"] == "delete"


def test_ec2_to_spot_is_an_infrastructure_update() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["compute_environments"]["ondemand"]["type"] = "SPOT"

    d = diff_after(edit)
    # BEST_FIT_PROGRESSIVE with the service-linked role: the provider sends it as an update.
    assert actions(d)[ONDEMAND] == "update"
    assert notes_of(d, ONDEMAND, Risk.NOTE) == [
        "type EC2 -> SPOT in place: new instances are bought the new way as Batch replaces "
        "the old ones"
    ]
    assert any("infrastructure update" in t for t in notes_of(d, ONDEMAND, Risk.JOBS))


def test_renaming_the_environment_replaces_everything() -> None:
    d = diff_after(_set_name("genomics-next"))
    assert d.changes and all(c.action == "replace" for c in d.changes if "aws_batch" in c.address)
    assert any("every AWS name changes" in n.text for n in d.notes)


def _set_name(name: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["name"] = name

    return edit


def test_a_created_placement_group_and_its_ce_are_replaced_together() -> None:
    """``placement_group`` is ForceNew on the CE (compute_environment.go) and every argument of
    ``aws_placement_group`` but tags is ForceNew: a new strategy is a new group (its name holds
    the strategy, so both exist during create_before_destroy) and a new CE."""

    def created(data: dict[str, Any]) -> None:
        ce = data["compute_environments"]["ondemand"]
        ce["placement_group"] = {"strategy": "spread"}

    def strategy(data: dict[str, Any]) -> None:
        created(data)
        data["compute_environments"]["ondemand"]["placement_group"] = {"strategy": "partition"}

    d = diff_after(created)
    assert actions(d)["aws_placement_group.ondemand"] == "create"
    assert actions(d)[ONDEMAND] == "replace"
    base = raw()
    created(base)
    old = model(base)
    strategy(base)
    d = diff_environments(old, model(base))
    assert actions(d)["aws_placement_group.ondemand"] == "replace"
    assert actions(d)[ONDEMAND] == "replace"


# --- every resource kind the templates write ---------------------------------------------------


GENERATED = Path(__file__).parent.parent / "generated"


def test_every_resource_type_compiled_is_diffed() -> None:
    """diff claims an action for every resource type the bundled examples compile to, so
    tests/test_diff_e2e.py (which compares every such type with terraform plan) has no blind
    spot: an Elastic IP, a policy attachment or an event target was not diffed at all."""
    import re

    from batchform.diff.provider import KINDS

    written = {
        match
        for tf in GENERATED.glob("*/*.tf")
        for match in re.findall(r'^resource "([a-z0-9_]+)"', tf.read_text(), re.MULTILINE)
    }
    assert written, "no generated examples"
    assert written <= {kind.tf_type for kind in KINDS}


def test_a_new_vpc_cidr_replaces_what_names_the_vpc() -> None:
    """vpc_id is ForceNew for route tables (internal/service/ec2/vpc_route_table.go), the
    default security group (vpc_default_security_group.go), endpoints (vpc_endpoint.go) and
    subnets (vpc_subnet.go); the internet gateway is moved in place (vpc_internet_gateway.go:
    vpc_id is not ForceNew). tests/test_diff_e2e.py holds this to terraform plan."""

    def edit(data: dict[str, Any]) -> None:
        data["network"]["vpc"]["create"]["cidr"] = "10.21.0.0/16"

    d = diff_after(edit)
    found = actions(d)
    assert found["aws_vpc.main"] == "replace"
    (vpc,) = notes_of(d, "aws_vpc.main", Risk.JOBS)
    assert "every subnet, route table, security group and endpoint" in vpc
    # the new group goes into the new VPC: its name is free there (no InvalidGroup.Duplicate)
    assert notes_of(d, "aws_security_group.batch", Risk.FAILS) == []
    assert found["aws_internet_gateway.main"] == "update"
    for address in (
        "aws_default_security_group.main",
        "aws_route_table.public",
        "aws_route_table.private_us_west_2a",
        "aws_vpc_endpoint.s3",
        "aws_subnet.private_us_west_2b",
        "aws_security_group.batch",
    ):
        assert found[address] == "replace", address


def test_a_nat_gateway_per_zone_adds_its_elastic_ip_and_moves_a_route() -> None:
    """A route's target is replaced in place (ReplaceRoute; internal/service/ec2/vpc_route.go)."""

    def edit(data: dict[str, Any]) -> None:
        data["network"]["vpc"]["create"]["nat_gateways"] = "per_az"

    assert actions(diff_after(edit)) == {
        "aws_eip.nat_us_west_2b": "create",
        "aws_nat_gateway.us_west_2b": "create",
        "aws_route.private_us_west_2b_nat": "update",
    }


def test_an_iam_path_replaces_roles_profile_and_their_policies() -> None:
    """path is ForceNew for roles (internal/service/iam/role.go) and instance profiles
    (instance_profile.go). A replaced role keeps its configured name in the plan, so the
    attachments and inline policies naming it (``aws_iam_role.<x>.name``) would not change,
    but the provider's delete of the old role takes them along (deleteRole): the compiler
    has them replaced with the role (``replace_triggered_by`` its ``unique_id``), and what
    names its ARN (computed, unknown until the apply) changes."""

    def edit(data: dict[str, Any]) -> None:
        data["iam"]["path"] = "/genomics/"

    d = diff_after(edit)
    found = actions(d)
    assert found["aws_iam_instance_profile.ecs_instance"] == "replace"
    # the Spot CE is create_before_destroy, which reaches the profile it names: IAM refuses
    # the new profile while the old one holds the name
    (fails,) = notes_of(d, "aws_iam_instance_profile.ecs_instance", Risk.FAILS)
    assert fails.startswith("instance profile ") and "EntityAlreadyExists" in fails
    assert found["aws_iam_role.ecs_instance"] == "replace"
    # every attachment and inline policy is replaced with its role, the trigger shown
    attachments = [a for a in found if a.startswith("aws_iam_role_policy_attachment.")]
    policies = [a for a in found if a.startswith("aws_iam_role_policy.")]
    assert attachments and policies
    assert {found[a] for a in attachments + policies} == {"replace"}
    change = d.change("aws_iam_role_policy.job_align_s3")
    assert change is not None
    assert [(a.path, a.forces_replacement) for a in change.attributes] == [
        ("lifecycle.replace_triggered_by (aws_iam_role.job_align.unique_id)", True)
    ]
    # the job definition names its job role's ARN: a new revision
    assert found["aws_batch_job_definition.align"] == "update"
    # jobs using a replaced role are denied while the apply replaces it and its policies
    (denied,) = notes_of(d, "aws_iam_role.job_align", Risk.JOBS)
    assert "aws_iam_role_policy.job_align_s3" in denied and "denied" in denied
    # where the replacement fails anyway (EntityAlreadyExists), that is all it says
    assert notes_of(d, "aws_iam_role.ecs_instance", Risk.JOBS) == []


def test_a_boundary_updates_the_roles_and_leaves_their_policies_alone() -> None:
    """permissions_boundary is updated in place (internal/service/iam/role.go), which keeps
    the role's unique_id: the policies' replace_triggered_by does not fire."""

    def edit(data: dict[str, Any]) -> None:
        data["iam"]["permissions_boundary"] = "arn:aws:iam::123456789012:policy/boundary"

    found = actions(diff_after(edit))
    assert found["aws_iam_role.job_align"] == "update"
    assert not [a for a in found if a.startswith("aws_iam_role_policy")]


def test_an_inline_policy_change_updates_the_policy_not_the_role() -> None:
    """Each inline policy is an aws_iam_role_policy of its own: the role is not touched."""

    def edit(data: dict[str, Any]) -> None:
        data["job_definitions"]["align"]["job_role"]["s3_read"] = ["refs", "annotations"]

    assert actions(diff_after(edit)) == {"aws_iam_role_policy.job_align_s3": "update"}


def test_a_rule_from_a_group_instead_of_a_cidr_is_replaced() -> None:
    """Changing a rule's kind of source replaces it (ModifyPlan in internal/service/ec2/
    vpc_security_group_ingress_rule.go); its ports are modified in place."""

    def edit(data: dict[str, Any]) -> None:
        data["network"]["security_groups"]["batch"]["ingress"] = [
            {"protocol": "tcp", "ports": 22, "security_group": "batch"}
        ]

    def ports(data: dict[str, Any]) -> None:
        data["network"]["security_groups"]["batch"]["ingress"] = [
            {"protocol": "tcp", "ports": 22, "cidr": "10.0.0.0/8"}
        ]

    def wider(data: dict[str, Any]) -> None:
        ports(data)
        data["network"]["security_groups"]["batch"]["ingress"][0]["ports"] = "22-23"

    def diff_from(first: Edit, second: Edit) -> dict[str, str]:
        old = raw()
        first(old)
        new = copy.deepcopy(old)
        second(new)
        return actions(diff_environments(model(old), model(new)))

    rule = "aws_vpc_security_group_ingress_rule.batch_ingress_0"
    assert diff_from(ports, edit) == {rule: "replace"}
    assert diff_from(ports, wider) == {rule: "update"}


def test_alert_recipients_and_events_change_their_own_resources() -> None:
    """A subscription's endpoint is ForceNew (internal/service/sns/topic_subscription.go); a
    new event adds its rule and target, and the topic policy (updated in place) lists it."""

    def email(data: dict[str, Any]) -> None:
        data["alerts"]["email"] = ["ops@example.com"]

    d = diff_after(email)
    assert actions(d) == {
        "aws_sns_topic_subscription.email_oncall_example_com": "delete",
        "aws_sns_topic_subscription.email_ops_example_com": "create",
    }
    (pending,) = notes_of(d, "aws_sns_topic_subscription.email_ops_example_com", Risk.NOTE)
    assert "confirm the subscription" in pending

    def fewer(data: dict[str, Any]) -> None:
        data["alerts"]["on"] = ["job_failed"]

    old = raw()
    fewer(old)
    assert actions(diff_environments(model(old), model(raw()))) == {
        "aws_cloudwatch_event_rule.alert_queue_blocked": "create",
        "aws_cloudwatch_event_target.alert_queue_blocked": "create",
        "aws_sns_topic_policy.alerts": "update",
    }


def test_a_renamed_topic_replaces_its_policy_and_subscriptions() -> None:
    """A new topic ARN: topic_arn (topic_subscription.go) and arn (topic_policy.go) are
    ForceNew, an event target's arn is updated in place (internal/service/events/target.go)."""

    def edit(data: dict[str, Any]) -> None:
        data["name"] = "genomics-prod2"

    found = actions(diff_after(edit))
    assert found["aws_sns_topic.alerts"] == "replace"
    assert found["aws_sns_topic_policy.alerts"] == "replace"
    assert found["aws_sns_topic_subscription.email_oncall_example_com"] == "replace"
    assert found["aws_cloudwatch_event_target.alert_job_failed"] == "replace"  # its rule's name


def test_a_job_definition_revision_renews_the_arn_its_schedule_submits() -> None:
    """A new revision's ARN is unknown until the apply (jobDefinitionCustomizeDiff,
    internal/service/batch/job_definition.go): the schedule's input and the scheduler's policy
    naming it are updated; a tags-only change registers no revision."""

    def image(data: dict[str, Any]) -> None:
        data["job_definitions"]["align"]["image"] = "repo/bwa:0.7.18"

    assert actions(diff_after(image)) == {
        "aws_batch_job_definition.align": "update",
        "aws_iam_role_policy.scheduler_submit": "update",
        "aws_scheduler_schedule.nightly_align": "update",
    }

    def tags(data: dict[str, Any]) -> None:
        data["job_definitions"]["align"]["tags"] = {"tier": "gold"}

    assert actions(diff_after(tags)) == {"aws_batch_job_definition.align": "update"}


def test_an_added_policy_attachment_changes_no_compute_environment() -> None:
    """``depends_on`` orders the apply and is no argument: a compute environment that must wait
    for a new attachment is not updated by it."""

    def edit(data: dict[str, Any]) -> None:
        data["iam"]["instance_role"] = {
            "managed_policies": ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
        }

    found = actions(diff_after(edit))
    assert found == {
        "aws_iam_role_policy_attachment.ecs_instance_AmazonSSMManagedInstanceCore": "create"
    }, found


def test_a_log_retention_is_updated_in_place() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["job_defaults"]["log_retention_days"] = 90

    found = actions(diff_after(edit))
    assert found and set(found.values()) == {"update"}
    assert all(a.startswith("aws_cloudwatch_log_group.") for a in found)


def test_a_new_placement_group_strategy_replaces_the_group_and_its_compute_environment() -> None:
    """Every argument of aws_placement_group but tags is ForceNew (internal/service/ec2/
    ec2_placement_group.go) and the strategy is in the group's name, which a compute
    environment's placement_group names (ForceNew there: compute_environment.go); the queues
    then name the new CE's ARN. (moto cannot create a placement group, so no e2e case.)"""

    def cluster(data: dict[str, Any]) -> None:
        ondemand = data["compute_environments"]["ondemand"]
        ondemand["placement_group"] = {"strategy": "cluster"}
        ondemand["subnets"] = "private"
        ondemand["availability_zones"] = ["us-west-2a"]

    old = raw()
    cluster(old)
    new = copy.deepcopy(old)
    new["compute_environments"]["ondemand"]["placement_group"] = {"strategy": "spread"}
    found = actions(diff_environments(model(old), model(new)))
    assert found == {
        "aws_placement_group.ondemand": "replace",
        ONDEMAND: "replace",
        HIGH: "update",
    }


def test_a_replaced_group_keeps_a_reference_to_its_configured_name() -> None:
    """A placement group replaced under the same name (its tags alone cannot replace it, so
    this holds the rule for any kind): a reference to a configured argument stays known in
    the plan; only computed attributes become unknown."""
    from batchform.diff.engine import _mark, _Renewed
    from batchform.hcl import Expr

    renewed = {"aws_placement_group.x": _Renewed(True, frozenset({"name", "strategy"}))}
    kept = _mark(Expr("aws_placement_group.x.name"), renewed)
    assert kept == "aws_placement_group.x.name" and isinstance(kept, Expr)
    assert "is replaced" in _mark(Expr("aws_placement_group.x.id"), renewed)
    renamed = {"aws_placement_group.x": _Renewed(True, frozenset({"name"}), frozenset({"name"}))}
    assert "is replaced" in _mark(Expr("aws_placement_group.x.name"), renamed)


def test_an_interface_endpoint_brings_its_security_group_and_https_rule() -> None:
    """The first interface endpoint creates the endpoint group and its HTTPS rule (network.tf),
    which the last one takes away again; a gateway endpoint needs neither."""

    def logs(data: dict[str, Any]) -> None:
        data["network"]["endpoints"] = ["s3", "logs"]

    added = {
        "aws_vpc_endpoint.logs": "create",
        "aws_security_group.vpc_endpoints": "create",
        "aws_vpc_security_group_ingress_rule.vpc_endpoints_https": "create",
    }
    assert actions(diff_after(logs)) == added
    old = raw()
    logs(old)
    removed = actions(diff_environments(model(old), model(raw())))
    assert removed == dict.fromkeys(added, "delete")


def test_a_new_zone_whose_subnets_overlap_the_old_ones_fails_the_apply() -> None:
    """A third zone carves every subnet anew; a new block overlapping one an old subnet still
    holds is refused (CreateSubnet: InvalidSubnet.Conflict). The Spot CE (a name prefix, so
    create_before_destroy) keeps each old private subnet until its replacement exists; with
    a new VPC CIDR in the same change nothing overlaps."""

    def zone(data: dict[str, Any]) -> None:
        data["network"]["vpc"]["create"]["availability_zones"] = [
            "us-west-2a",
            "us-west-2b",
            "us-west-2c",
        ]

    d = diff_after(zone)
    (fails,) = notes_of(d, "aws_subnet.private_us_west_2a", Risk.FAILS)
    assert "InvalidSubnet.Conflict" in fails and "(subnet private_us_west_2a)" in fails
    (created,) = notes_of(d, "aws_subnet.private_us_west_2c", Risk.FAILS)
    assert "(subnet private_us_west_2b)" in created

    def new_vpc(data: dict[str, Any]) -> None:
        zone(data)
        data["network"]["vpc"]["create"]["cidr"] = "10.21.0.0/16"

    d = diff_after(new_vpc)
    assert not [n for c in d.changes if c.address.startswith("aws_subnet.") for n in c.notes]


FARGATE_CONFIG = Path(__file__).parent.parent / "configs" / "fargate.yaml"


def test_endpoints_of_an_existing_vpc_name_its_id_and_its_secondary_blocks() -> None:
    """In an existing VPC the endpoints take the file's VPC id (``vpc_id_ref``, ForceNew in
    internal/service/ec2/vpc_endpoint.go) and the endpoint group's HTTPS rule has a
    ``for_each`` sibling over the VPC's secondary blocks: the last interface endpoint removed
    deletes both rules; another VPC id replaces every endpoint and the group."""
    base: dict[str, Any] = read_yaml(FARGATE_CONFIG.read_text(encoding="utf-8"))
    fewer = copy.deepcopy(base)
    fewer["network"]["endpoints"] = []
    found = actions(diff_environments(model(base), model(fewer)))
    assert found["aws_vpc_security_group_ingress_rule.vpc_endpoints_https"] == "delete"
    assert found["aws_vpc_security_group_ingress_rule.vpc_endpoints_https_secondary"] == "delete"
    moved = copy.deepcopy(base)
    moved["network"]["vpc"]["existing"]["vpc_id"] = "vpc-0fedcba9876543210"
    found = actions(diff_environments(model(base), model(moved)))
    assert found["aws_vpc_endpoint.logs"] == "replace"
    assert found["aws_security_group.vpc_endpoints"] == "replace"
