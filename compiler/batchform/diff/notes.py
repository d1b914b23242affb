"""Risk notes: what a change means for running jobs, capacity, and whether AWS refuses it.

``terraform plan`` cannot see these: a queue created without a fair-share policy can never get
one and a policy cannot be removed from a queue (the apply fails halfway); a replaced compute
environment terminates the jobs still running on it; an infrastructure update gives running
jobs ``update_policy.job_execution_timeout`` minutes. Each kind of note is one small function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchform import requirements
from batchform.derive import required_parameters
from batchform.diff.provider import (
    CE_SCALING,
    _address_of,
    _ce_updatable,
    _is_apply_time_version,
    _is_fargate,
    _resource_argument,
)
from batchform.diff.result import Note, ResourceChange, Risk
from batchform.model import Environment
from batchform.naming import label as terraform_label
from batchform.plan.compute import compute_resources_of
from batchform.plan.contract import ComputeEnvironmentEntry, JobQueueEntry


def _env_notes(old: Environment, new: Environment) -> list[Note]:
    notes = []
    if old.name != new.name:
        notes.append(
            Note(
                Risk.JOBS,
                f"environment name {old.name} -> {new.name}: every AWS name changes, so "
                "Terraform replaces every resource, and the output directory moves to "
                f"generated/{new.name}/ (a new root module with its own state)",
            )
        )
    if old.region != new.region:
        notes.append(
            Note(
                Risk.JOBS,
                f"region {old.region} -> {new.region}: everything is created anew in "
                f"{new.region} and destroyed in {old.region}",
            )
        )
    if old.tags != new.tags:
        notes.append(
            Note(
                Risk.NOTE,
                "environment tags change: every taggable resource's tags_all is updated in "
                "place (provider default_tags); compute environments also tag their instances "
                "with them, which replaces any compute environment that cannot be updated in "
                "place",
            )
        )
    if old.terraform.backend != new.terraform.backend:
        notes.append(
            Note(
                Risk.FAILS,
                "the Terraform backend changes: run `terraform init -migrate-state` before "
                "the next plan, or Terraform starts from empty state and tries to create "
                "everything again",
            )
        )
    output_note = _output_note(old, new)
    if output_note is not None:
        notes.append(output_note)
    return notes


def _output_note(old: Environment, new: Environment) -> Note | None:
    """``terraform.output`` root <-> module: the same resources, but their state must move
    between two Terraform configurations (docs/module-output.md); AWS names stay, so creating
    them again in the other configuration fails on names that exist."""
    before, after = old.terraform.output, new.terraform.output
    if before == after:
        return None
    label = terraform_label(new.name)
    if after == "module":
        how = (
            f"the configuration that calls the module holds them, as module.{label}.<address>: "
            "move their state there (`moved` or `import` blocks, or `terraform state mv`) "
            f"before its first apply, and stop applying generated/{new.name}/ on its own"
        )
    else:
        how = (
            f"generated/{new.name}/ is a root module with its own state again: import them "
            "there (`import` blocks or `terraform import`) and remove them from the calling "
            "configuration's state (`removed` blocks or `terraform state rm`), not destroy them"
        )
    return Note(
        Risk.FAILS,
        f"terraform.output {before} -> {after}: the resources stay, but {how}; otherwise an "
        "apply tries to create every resource again and AWS refuses the names that exist",
    )


def _ce_notes(
    old: ComputeEnvironmentEntry,
    new: ComputeEnvironmentEntry,
    change: ResourceChange,
    aws_provider: str,
) -> list[Note]:
    """What an update or replacement of a compute environment means: capacity first, then
    either what the replacement does or what the in-place update does."""
    attrs_old, attrs_new = compute_resources_of(old)["attrs"], compute_resources_of(new)["attrs"]
    notes = _scaling_notes(attrs_old, attrs_new)
    if change.action == "replace":
        return notes + _ce_replacement_notes(old, new, change, aws_provider)
    return notes + [
        note
        for note in (
            _ce_infrastructure_update_note(new, change),
            _ce_type_note(attrs_old, attrs_new),
            _ce_terminate_on_update_note(old, new),
            _ce_disabled_note(old, new),
        )
        if note is not None
    ]


def _scaling_notes(attrs_old: Mapping[str, Any], attrs_new: Mapping[str, Any]) -> list[Note]:
    """A changed vCPU bound: more idle cost (min up) or jobs waiting in RUNNABLE (max down)."""
    notes = []
    for bound in CE_SCALING:
        a, b = attrs_old.get(bound), attrs_new.get(bound)
        if a != b:
            more = (b or 0) > (a or 0)
            what = "more" if more else "less"
            text = f"{bound} {a} -> {b}: {what} capacity"
            if bound == "min_vcpus" and more:
                text += " (instances kept running even with no jobs: they cost money while idle)"
            if bound == "max_vcpus" and not more:
                text += " (jobs beyond the new limit wait in RUNNABLE)"
            notes.append(Note(Risk.CAPACITY, text))
    return notes


def _ce_replacement_notes(
    old: ComputeEnvironmentEntry,
    new: ComputeEnvironmentEntry,
    change: ResourceChange,
    aws_provider: str,
) -> list[Note]:
    """A replaced CE terminates its running jobs; say why it could not be updated in place."""
    notes = [_ce_destroy_first_note(new) if new["name"] is not None else _ce_swap_note()]
    if not _ce_updatable(old, new, aws_provider) and not _is_fargate(new):
        strategies = " or ".join(requirements.updatable_strategies(aws_provider))
        notes.append(
            Note(
                Risk.NOTE,
                "this compute environment cannot be updated in place: the provider "
                "replaces it on any instance change unless it uses the service-linked role "
                f"and allocation strategy {strategies}"
                + (
                    ""
                    if "SPOT_PRICE_CAPACITY_OPTIMIZED" in strategies
                    else " (SPOT_PRICE_CAPACITY_OPTIMIZED too from provider "
                    f"{requirements.PRICE_CAPACITY_UPDATABLE})"
                ),
            )
        )
    if any(_is_apply_time_version(c) and c.forces_replacement for c in change.attributes):
        how = (
            "lifecycle replace_triggered_by: the provider would otherwise plan an update and "
            "fail the apply with 'Provider produced inconsistent final plan'"
            if new.get("replace_triggered_by")
            else "the provider plans it itself from release "
            f"{requirements.UNKNOWN_VERSION_PLANNED} on"
        )
        notes.append(
            Note(
                Risk.NOTE,
                f"the launch template's new version replaces it in the same apply ({how})",
            )
        )
    return notes


def _ce_swap_note() -> Note:
    return Note(
        Risk.JOBS,
        "a new compute environment is created and swapped into its queues first "
        "(create_before_destroy); the old one is then disabled and deleted, which "
        "terminates the jobs still running on it",
    )


def _ce_destroy_first_note(new: ComputeEnvironmentEntry) -> Note:
    """An exact name (``aws_name``) cannot be held by two CEs, so Terraform destroys the old one
    first; AWS refuses to delete a CE a job queue still lists ("disassociate it from any job
    queues", https://docs.aws.amazon.com/batch/latest/APIReference/API_DeleteComputeEnvironment.html)."""
    return Note(
        Risk.FAILS,
        f"its exact name {new['name']} (aws_name) is destroyed first: Terraform deletes the old "
        "compute environment, terminating its running jobs, before creating the new one, and "
        "AWS refuses to delete a compute environment a job queue still uses; take it out of "
        "its queues in an earlier apply, or use aws_name_prefix so the new one is created "
        "beside it",
    )


def _ce_infrastructure_update_note(
    new: ComputeEnvironmentEntry, change: ResourceChange
) -> Note | None:
    """An instance-level change of an EC2 CE replaces its instances under running jobs."""
    infra = [
        c
        for c in change.attributes
        if c.path.startswith("compute_resources.") and _resource_argument(c.path) not in CE_SCALING
    ]
    if not infra or _is_fargate(new):
        return None
    policy = new["update_policy"]
    if policy is not None and policy["terminate_jobs_on_update"]:
        text = (
            "infrastructure update with terminate_jobs_on_update: Batch replaces the "
            "instances and terminates the jobs running on them at once"
        )
    else:
        minutes = policy["job_execution_timeout_minutes"] if policy is not None else 30
        text = (
            "infrastructure update: Batch replaces the instances; running jobs get "
            f"{minutes} minutes (update_policy.job_execution_timeout) before they are "
            "terminated"
        )
    return Note(Risk.JOBS, text)


def _ce_type_note(attrs_old: Mapping[str, Any], attrs_new: Mapping[str, Any]) -> Note | None:
    if attrs_old.get("type") == attrs_new.get("type"):
        return None
    return Note(
        Risk.NOTE,
        f"type {attrs_old.get('type')} -> {attrs_new.get('type')} in place: new "
        "instances are bought the new way as Batch replaces the old ones",
    )


def _ce_terminate_on_update_note(
    old: ComputeEnvironmentEntry, new: ComputeEnvironmentEntry
) -> Note | None:
    policy_old, policy_new = old["update_policy"], new["update_policy"]
    turned_on = policy_new is not None and policy_new["terminate_jobs_on_update"]
    was_on = policy_old is not None and policy_old["terminate_jobs_on_update"]
    if not turned_on or was_on:
        return None
    return Note(
        Risk.JOBS,
        "terminate_jobs_on_update turned on: later infrastructure updates terminate "
        "running jobs at once",
    )


def _ce_disabled_note(old: ComputeEnvironmentEntry, new: ComputeEnvironmentEntry) -> Note | None:
    if not (old["state"] == "ENABLED" and new["state"] == "DISABLED"):
        return None
    return Note(
        Risk.JOBS,
        "state DISABLED: Batch stops placing jobs here and scales the environment down "
        "to min_vcpus as running jobs finish",
    )


def _queue_notes(
    old: JobQueueEntry,
    new: JobQueueEntry,
    address: str,
    ce_names: Mapping[str, str],
) -> list[Note]:
    notes: list[Note] = []
    policy_old, policy_new = old.get("scheduling_policy_arn"), new.get("scheduling_policy_arn")
    if policy_old is None and policy_new is not None:
        notes.append(
            Note(
                Risk.FAILS,
                "adds a fair-share scheduling policy to a queue created without one: Terraform "
                "plans an in-place update but AWS refuses it (a FIFO queue can never get a "
                "policy). Replace the queue: `terraform apply -replace=" + address + "`, or "
                "give the queue a new key",
            )
        )
    if policy_old is not None and policy_new is None:
        notes.append(
            Note(
                Risk.FAILS,
                "removes the queue's scheduling policy: neither AWS nor the provider can remove "
                "a policy from a queue (apply fails with 'cannot remove the fair share "
                "scheduling policy'); swap it for another policy or replace the queue",
            )
        )
    if old.get("state") == "ENABLED" and new.get("state") == "DISABLED":
        notes.append(
            Note(
                Risk.JOBS,
                "queue DISABLED: new submissions are refused; jobs already in the queue still run",
            )
        )
    if old.get("priority") != new.get("priority"):
        notes.append(
            Note(
                Risk.NOTE,
                f"priority {old.get('priority')} -> {new.get('priority')}: changes which queue "
                "the shared compute environments serve first",
            )
        )

    def ces(q: Mapping[str, Any]) -> list[str]:
        refs = [str(o["compute_environment"]) for o in q.get("compute_environment_order", [])]
        return [ce_names.get(_address_of(r), r) for r in refs]

    before, after = ces(old), ces(new)
    removed = [c for c in before if c not in after]
    if removed:
        notes.append(
            Note(
                Risk.JOBS,
                "compute environment(s) "
                + ", ".join(f"'{c}'" for c in removed)
                + " leave this queue: its RUNNABLE jobs are no longer placed there (jobs already "
                "running there continue unless the environment is deleted)",
            )
        )
    if not removed and before != after and sorted(before) == sorted(after):
        notes.append(
            Note(Risk.NOTE, f"compute environment order {before} -> {after}: tried in new order")
        )
    return notes


def _replaced_job_note(old_env: Environment | None, key: str) -> Note:
    """A job definition the provider replaces rather than revises: its retry rules
    (``retry_strategy.evaluate_on_exit``) are ForceNew, and its delete deregisters every ACTIVE
    revision of the name before the create registers the new one
    (internal/service/batch/job_definition.go). A ``create_before_destroy`` would not help:
    the delete, run last, would deregister the new revision as well."""
    kept = (
        old_env is not None
        and key in old_env.job_definitions
        and old_env.job(key).keep_old_revisions
    )
    return Note(
        Risk.JOBS,
        "replaced, not revised (its retry rules are ForceNew in the provider): every ACTIVE "
        "revision of the name is deregistered"
        + (" (the ones keep_old_revisions kept too)" if kept else "")
        + ", then the new one registered, so submissions by name fail in between; jobs "
        "already submitted keep running",
    )


def _revision_notes(old_env: Environment | None, new_env: Environment, key: str) -> list[Note]:
    """What happens to revisions: the provider registers a new one on any change but tags, and
    deregisters the one it replaces unless ``deregister_on_new_revision`` is false
    (``keep_old_revisions``; internal/service/batch/job_definition.go, update)."""
    keep = new_env.job(key).keep_old_revisions
    kept_before = (
        old_env is not None
        and key in old_env.job_definitions
        and old_env.job(key).keep_old_revisions
    )
    if keep:
        text = (
            "a new revision is registered; the previous one stays ACTIVE (keep_old_revisions), "
            "so submissions naming it by revision still run with its old settings"
        )
    else:
        text = (
            "a new revision is registered and the previous one deregistered; jobs already "
            "submitted keep running on the revision they were submitted with"
        )
    notes = [Note(Risk.NOTE, text)]
    if kept_before and not keep:
        notes.append(
            Note(
                Risk.NOTE,
                "keep_old_revisions is turned off: only the revision this update replaces is "
                "deregistered; revisions kept before stay ACTIVE until deregistered by hand",
            )
        )
    return notes


def _job_notes(
    old_env: Environment | None, new_env: Environment, key: str, *, replaced: bool = False
) -> list[Note]:
    notes = (
        [_replaced_job_note(old_env, key)] if replaced else _revision_notes(old_env, new_env, key)
    )
    if old_env is not None and key in old_env.job_definitions:
        before = required_parameters(old_env.job(key))
        after = required_parameters(new_env.job(key))
        added = [p for p in after if p not in before]
        if added:
            notes.append(
                Note(
                    Risk.FAILS,
                    "submitters must now pass "
                    + ", ".join(f"--parameters {p}=..." for p in added)
                    + " (a Ref:: without a default): existing submit scripts break",
                )
            )
    return notes


COMPUTE_ROLE_LABELS = ("batch_service", "ecs_instance", "spot_fleet")
"""Roles compute environments use (service role, instance profile, Spot Fleet role)."""


def role_name_kept_note(
    old: Mapping[str, Any], new: Mapping[str, Any], env: Environment, kind: str = "IAM role"
) -> Note | None:
    """A generated role (or the instance profile of the instance role) replaced under the same
    name (``iam.path`` changed) cannot be: role and instance profile names are unique in the
    account whatever their path (CreateRole, CreateInstanceProfile: EntityAlreadyExists), and
    the compute environments pass create_before_destroy on to the roles and the profile they
    use, so Terraform creates the new one while the old one still holds the name
    (https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle)."""
    if old.get("name") != new.get("name") or new.get("label") not in COMPUTE_ROLE_LABELS:
        return None
    if all(ce.aws_name is not None for ce in env.compute_environments.values()):
        return None  # no compute environment is create_before_destroy
    what = "role" if kind == "IAM role" else kind
    return Note(
        Risk.FAILS,
        f"{what} {new.get('name')} is replaced under the same name (its path changes): IAM "
        f"refuses a second {what} of that name (EntityAlreadyExists) while Terraform creates "
        "the new one before destroying the old; choose iam.path when the environment is first "
        "deployed",
    )


def role_policies_replaced_note(name: str, parts: list[str]) -> Note:
    """A role replaced under the same name (``iam.path``). The provider's delete detaches its
    managed policies and deletes its inline policies first (``deleteRole`` in
    ``internal/service/iam/role.go``: IAM refuses to delete a role that has any); the compiler
    has its attachments and inline policies replaced with the role
    (``lifecycle.replace_triggered_by`` on the role's ``unique_id``), so the apply puts them
    back, but between the delete and the new role's policies, jobs using it are denied."""
    return Note(
        Risk.JOBS,
        f"role {name} is deleted and created again under its name, its policies "
        f"({', '.join(parts)}) with it: jobs using it are denied AWS access while the apply "
        "replaces them",
    )


def security_group_replaced_note(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    env: Environment,
    key: str,
    new_vpc: bool = False,
) -> Note | None:
    """What a replaced security group meets, decided by the compute environments using it.

    A CE created from a name prefix is ``create_before_destroy``, which Terraform passes on to
    the groups it uses (https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle):
    the new group is created while the old one still holds its name, and EC2 refuses a second
    group of one name in a VPC (CreateSecurityGroup, InvalidGroup.Duplicate). With only exactly
    named CEs using it (``aws_name``: no ``create_before_destroy``) the old group is deleted
    first, which EC2 refuses while instances still use it (DependencyViolation)."""
    users = [k for k in sorted(env.compute_environments) if key in env.ce_security_groups(k)]
    if not users:
        return None
    swapped = [k for k in users if env.compute_environments[k].aws_name is None]
    name = str(new.get("name"))
    if swapped:
        if str(old.get("name")).lower() != name.lower() or new_vpc:
            # created beside the old group (another name, or in the new VPC: group names are
            # unique per VPC), which goes once the CEs moved off it
            return None
        return Note(
            Risk.FAILS,
            f"security group {name} is replaced under the same name: compute environment "
            f"{', '.join(swapped)} makes Terraform create the new group before deleting the old "
            "(create_before_destroy) and EC2 refuses a second group of that name in the VPC "
            "(InvalidGroup.Duplicate); give the group a new aws_name in the same change",
        )
    return Note(
        Risk.FAILS,
        f"security group {name} is destroyed first, as its compute environments "
        f"({', '.join(users)}) have exact names (aws_name, no create_before_destroy): EC2 "
        "refuses to delete a group that running instances still use (DependencyViolation); "
        "scale those compute environments to 0 vCPUs in an earlier apply",
    )


def name_moved_note(kind: str, name: str, previous: str) -> Note:
    """An ``aws_name`` moved to another key: Terraform creates the new resource while the old
    one, which it deletes in the same apply, still holds the name, and AWS refuses a second
    resource of one name.

    - A security group is deleted only after the compute environments moved off it, a compute
      environment only after its queues did, a scheduling policy only after its queues did:
      the new one is created first.
    - A queue's or a schedule's delete is not ordered before the create, and a queue is
      disabled and drained before AWS deletes it.
    - EC2 answers InvalidGroup.Duplicate, Scheduler ConflictException; a Batch compute
      environment, queue or scheduling policy is identified by an ARN made of its name
      (``.../compute-environment/<name>``, ``.../job-queue/<name>``,
      ``.../scheduling-policy/<name>``; the ARN formats in the Batch API reference of
      CreateComputeEnvironment, CreateJobQueue and CreateSchedulingPolicy), so two cannot
      exist at once."""
    return Note(
        Risk.FAILS,
        f"{kind} name {name} moves here from '{previous}', whose resource is "
        "deleted in the same apply, after (or while) this one is created: AWS refuses a second "
        f"{kind} of that name; keep the key (a renamed key is a new resource), or move the "
        "name in two applies",
    )


def job_definition_name_moved_note(name: str, previous: str) -> Note:
    """A job definition's ``aws_name`` moved to another key. Registering the name again is not
    refused (it becomes the next revision), but the provider deletes the old key's resource by
    deregistering every ACTIVE revision of the name (``resourceJobDefinitionDelete`` in
    ``internal/service/batch/job_definition.go``), and nothing orders that delete after the new
    key's registration: when it runs later, the new revision is deregistered too. Submissions
    by name then fail until the next apply, which registers it again (its read finds the
    revision INACTIVE and drops it from the state)."""
    return Note(
        Risk.JOBS,
        f"job definition name {name} moves here from '{previous}', whose delete in the same "
        "apply deregisters every ACTIVE revision of the name, this new one too if it is "
        "registered first: submissions by name may fail until the next apply; keep the key, "
        "or move the name in two applies",
    )


def vpc_replaced_note() -> Note:
    """A new ``network.vpc.create.cidr``: ``cidr_block`` is ForceNew (internal/service/ec2/
    vpc_.go), and so is the ``vpc_id`` of every subnet, route table, security group, default
    security group and endpoint in it (each listed as replaced), so the compute environments
    move to new subnets and security groups."""
    return Note(
        Risk.JOBS,
        "the VPC is replaced (its CIDR block cannot change): every subnet, route table, "
        "security group and endpoint in it is replaced too, and the compute environments move "
        "to the new subnets, interrupting jobs on instances in the old ones (see each compute "
        "environment below)",
    )


def subscription_pending_note() -> Note:
    """An e-mail subscription is pending until its recipient confirms it from the message SNS
    sends (https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html)."""
    return Note(
        Risk.NOTE,
        "the recipient must confirm the subscription from the e-mail AWS sends; until then no "
        "alert reaches it",
    )


def subnet_overlap_note(cidr: str, holders: list[tuple[str, str]]) -> Note:
    """A new subnet block overlapping the block an old subnet holds until it goes
    (``_mark_subnet_overlaps`` in :mod:`batchform.diff.engine` says when). A subnet's block
    may not overlap another subnet's in the VPC (CreateSubnet,
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html; the error
    ``InvalidSubnet.Conflict`` of
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html)."""
    held = ", ".join(f"{block} (subnet {label})" for label, block in holders)
    return Note(
        Risk.FAILS,
        f"{cidr} overlaps {held}, which the old subnet still holds when this one is created: "
        "EC2 refuses overlapping subnets (InvalidSubnet.Conflict) and the apply fails; a new "
        "number of zones carves every subnet anew, so choose the zones when the VPC is first "
        "created, or give the VPC a new cidr in the same change (a new VPC, where nothing "
        "overlaps)",
    )
