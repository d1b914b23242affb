"""Is the adoption exact? Two checks after the mapping:

- :func:`fit_to_model`: the document must be a valid environment for *this* batchform's model.
  A key the model does not have (a newer format key the mapping already writes, such as a
  container option) or a form it does not accept is taken out again and listed, so the
  written file always loads.
- :func:`compare`: the environment is compiled in memory (the same functions the plan uses:
  :func:`batchform.derive.container_properties`, :func:`batchform.plan.compute.ec2_configuration`,
  :func:`batchform.derive.compute_resource_tags`) and what batchform would deploy is compared
  with what is deployed. Every difference the first ``terraform apply`` would make is listed,
  including those the mapping did not foresee (a container field AWS added, a volume named
  otherwise than batchform names volumes).
"""

from __future__ import annotations

import json
import re
from typing import Any

from batchform import derive, naming, refs, requirements
from batchform.diagnostics import format_path
from batchform.hcl import Expr
from batchform.importer.read import SUBMIT_POLICY_NAME, Snapshot
from batchform.importer.result import Adoption, DocPath
from batchform.importer.schedules import adopted_scheduler_role
from batchform.model import Environment, parse_environment
from batchform.plan import build_plan
from batchform.plan import operations as plan_operations
from batchform.plan.compute import ec2_configuration, provider_updates_in_place
from batchform.plan.iam import ACCOUNT_ID
from batchform.verify import fetch

MAX_ROUNDS = 500
"""Each round removes at least one value; a document has far fewer values the model refuses."""


class NotAdoptable(Exception):
    """The document cannot be made valid by leaving values out (a bug: please report)."""


def _remove(document: dict[str, Any], path: DocPath) -> DocPath | None:
    """Delete the deepest existing value along ``path``; return its path (``None`` when only
    the whole document is left, which cannot be removed)."""
    node: Any = document
    parents: list[tuple[Any, str | int]] = []
    for part in path:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            parents.append((node, part))
            node = node[part]  # type: ignore[index]
        else:
            break
    if not parents:
        return None
    container, part = parents[-1]
    del container[part]
    return tuple(p for _, p in parents)


def fit_to_model(adoption: Adoption) -> Environment:
    """The environment model of the document, after taking out what the model refuses."""
    for _ in range(MAX_ROUNDS):
        env, diagnostics = parse_environment(adoption.document)
        if env is not None:
            return env
        removed_any = False
        for diag in diagnostics:
            value = _value_at(adoption.document, diag.path)
            removed = _remove(adoption.document, diag.path)
            if removed is None or len(removed) < 2:
                continue
            removed_any = True
            if _default_name(adoption.document, removed, value):
                continue
            what = f"{format_path(removed)}: {_short(value)}"
            why = f"this batchform cannot write it ({diag.message})"
            if removed[-1] == "aws_name":
                why = (
                    "this batchform cannot keep an exact AWS name (`aws_name`): the first "
                    "apply would create the resource under batchform's name and destroy this one"
                )
            adoption.leave_out(removed[:-1], _resource_of(removed), what, why)
        if not removed_any:
            reasons = "; ".join(d.message for d in diagnostics)
            raise NotAdoptable(f"the imported file does not fit the format: {reasons}")
    raise NotAdoptable("the imported file does not fit the format")


def _default_name(document: dict[str, Any], path: DocPath, value: Any) -> bool:
    """An ``aws_name`` this batchform does not have, equal to the name it gives anyway
    (``<name>-<key>``; never for a CE, whose name batchform only prefixes): nothing is lost."""
    return (
        len(path) == 3
        and path[2] == "aws_name"
        and path[0] in ("job_queues", "scheduling_policies", "job_definitions")
        and value == naming.aws_name(str(document.get("name")), str(path[1]))
    )


def _value_at(document: dict[str, Any], path: DocPath) -> Any:
    node: Any = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _resource_of(path: DocPath) -> str:
    kinds = {
        "compute_environments": "compute environment",
        "job_queues": "job queue",
        "scheduling_policies": "scheduling policy",
        "job_definitions": "job definition",
        "schedules": "schedule",
    }
    if len(path) >= 2 and path[0] in kinds:
        return f"{kinds[str(path[0])]} {path[1]}"
    return str(path[0])


def _short(value: Any, limit: int = 160) -> str:
    """A value in one line for a comment or the report (JSON, cut at ``limit``)."""
    if isinstance(value, Expr):
        return f"batchform's {value}"
    text = json.dumps(_plain(value), sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(value: Any) -> Any:
    if isinstance(value, Expr):
        return f"${{{value}}}"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- container properties -----------------------------------------------------------------

_SORT_BY = {"environment": "name", "secrets": "name", "resourceRequirements": "type"}
"""Lists the provider compares as sets (``equivalentContainerPropertiesJSON`` in
internal/service/batch/container_properties.go of hashicorp/terraform-provider-aws sorts
environment variables and drops empty values), so their order is no difference."""


def normalized(value: Any, key: str = "") -> Any:
    """Empty values dropped (AWS answers with ``[]`` and ``{}`` for what was never set), and
    the lists the provider treats as sets sorted."""
    if isinstance(value, dict):
        out = {k: normalized(v, k) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        items = [normalized(v) for v in value]
        field = _SORT_BY.get(key)
        if field is not None:
            items.sort(key=lambda item: str(item.get(field, "")) if isinstance(item, dict) else "")
        return items
    return value


def _job_differences(
    env: Environment, key: str, live: dict[str, Any]
) -> list[tuple[str, Any, Any]]:
    props = derive.container_properties(env, key)
    options = (props.get("logConfiguration") or {}).get("options") or {}
    if options.get("awslogs-group") == refs.log_group_name(key):
        # the reference stands for the group batchform names: compare the name itself
        options["awslogs-group"] = naming.log_group_name(env.name, key)
    want = normalized(_plain(props))
    have = normalized(live)
    return [
        (field, have.get(field), want.get(field))
        for field in sorted(set(want) | set(have))
        if want.get(field) != have.get(field)
    ]


def _compare_jobs(env: Environment, snapshot: Snapshot, adoption: Adoption) -> None:
    by_name = {str(jd["jobDefinitionName"]): jd for jd in snapshot.job_definitions}
    for item in [a for a in adoption.adopted if a.section == "job_definitions"]:
        if item.key not in env.job_definitions:
            continue
        # batchform always states the platform (plan/jobs.py); AWS describes a definition
        # registered without one as it was registered
        platform = ["FARGATE" if derive.is_fargate(env.job(item.key)) else "EC2"]
        have_platform = list(by_name[item.aws_name].get("platformCapabilities") or [])
        if have_platform != platform:
            adoption.leave_out(
                ("job_definitions", item.key),
                f"job definition {item.key}",
                f"platformCapabilities {_short(have_platform)}",
                f"batchform writes {_short(platform)}; the first apply registers a new revision",
            )
        live = by_name[item.aws_name].get("containerProperties") or {}
        for field, have, want in _job_differences(env, item.key, live):
            why = "batchform writes " + (_short(want) if want is not None else "nothing here")
            if field == "logConfiguration" and have is None:
                group = naming.log_group_name(env.name, item.key)
                why = f"batchform sends the logs to the log group it creates, {group} (awslogs)"
            adoption.leave_out(
                ("job_definitions", item.key),
                f"job definition {item.key}",
                f"containerProperties.{field} {_short(have) if have is not None else 'unset'}",
                why + "; the first apply registers a new revision",
            )


# --- compute environments -------------------------------------------------------------------


def _compare_compute(env: Environment, snapshot: Snapshot, adoption: Adoption) -> None:
    by_name = {str(ce["computeEnvironmentName"]): ce for ce in snapshot.compute_environments}
    for item in [a for a in adoption.adopted if a.section == "compute_environments"]:
        if item.key not in env.compute_environments:
            continue
        live = by_name[item.aws_name]
        ce = env.compute_environments[item.key]
        if ce.is_fargate:
            continue
        resources = live.get("computeResources") or {}
        aws_provider = env.terraform.aws_provider
        in_place = provider_updates_in_place(
            live.get("serviceRole"), resources.get("allocationStrategy"), aws_provider
        )
        how = (
            "the provider updates the compute environment in place"
            if in_place
            else "the provider replaces the compute environment for it (with aws_provider "
            f'"{aws_provider}" it updates compute resources in place only with the '
            "service-linked role and "
            + " or ".join(requirements.updatable_strategies(aws_provider))
            + ")"
        )
        resource = f"compute environment {item.key}"
        where: DocPath = ("compute_environments", item.key)
        want_images = [
            {
                ("imageType" if k == "image_type" else "imageIdOverride"): _plain(v)
                for k, v in e.items()
            }
            for e in ec2_configuration(env, item.key)
        ]
        have_images = normalized(resources.get("ec2Configuration") or [])
        if normalized(want_images) != have_images:
            adoption.leave_out(
                where,
                resource,
                f"ec2Configuration {_short(have_images) if have_images else 'unset'}",
                f"batchform writes {_short(want_images)}; {how}",
            )
        want_tags = derive.compute_resource_tags(env, item.key)
        have_tags = {str(k): str(v) for k, v in (resources.get("tags") or {}).items()}
        if want_tags != have_tags:
            added = sorted(k for k in want_tags if have_tags.get(k) != want_tags[k])
            adoption.leave_out(
                where,
                resource,
                f"computeResources.tags {_short(have_tags) if have_tags else 'unset'}",
                f"batchform tags the instances with {', '.join(added)} as well; {how}",
            )
        instance_role = refs.instance_profile_arn(env)
        if resources.get("instanceRole") and instance_role != resources["instanceRole"]:
            adoption.leave_out(
                where,
                resource,
                f"instanceRole {resources['instanceRole']}",
                f"batchform writes {_short(instance_role)}; {how}",
            )


# --- schedules ------------------------------------------------------------------------------

SCHEDULE_SOURCE = "internal/service/scheduler/schedule.go of hashicorp/terraform-provider-aws"
RETRY_DEFAULTS = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
"""Scheduler's retry policy when none is given (the provider's defaults of ``retry_policy``,
and https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html)."""
TARGET_WRITTEN = ("Arn", "RoleArn", "Input", "RetryPolicy")
CHANGES = "the first apply changes it"


def _addresses_to_arns(adoption: Adoption) -> dict[str, str]:
    """``{"aws_batch_job_queue.high.arn": <its ARN>, ...}`` of the adopted queues and job
    definitions: what a schedule's ``Input`` refers to, as the deployed ARNs."""
    arn_of = {"job_queues": refs.job_queue_arn, "job_definitions": refs.job_definition_arn}
    return {
        str(arn_of[a.section](a.key)): a.import_id for a in adoption.adopted if a.section in arn_of
    }


def _resolved(value: Any, arns: dict[str, str]) -> Any:
    if isinstance(value, Expr):
        return arns.get(str(value), f"${{{value}}}")
    if isinstance(value, dict):
        return {k: _resolved(v, arns) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, arns) for v in value]
    return value


def _schedule_settings(live: dict[str, Any], ctx: Any) -> list[tuple[str, str]]:
    """``(what, why)`` for each setting of a schedule batchform writes otherwise or not at
    all, as the provider's schema treats it (:data:`SCHEDULE_SOURCE`: ``end_date``,
    ``start_date``, ``kms_key_arn``, ``description`` are optional and not computed, so the
    update clears them; ``action_after_completion`` is computed, and a missing
    ``retry_policy`` block is suppressed, so the update keeps those)."""
    out: list[tuple[str, str]] = []
    replaced = "the provider replaces the schedule for it (`group_name` is ForceNew)"
    group = str(live.get("GroupName") or "default")
    if group != ctx["group"]:
        out.append(
            (
                f"group {group}",
                f"batchform writes schedules in {ctx['group']}; {replaced}: the first apply "
                f"creates it in {ctx['group']} and deletes this one",
            )
        )
    for field, want in (
        ("ScheduleExpression", ctx["expression"]),
        ("ScheduleExpressionTimezone", ctx["timezone"]),
        ("State", ctx["state"]),
        ("Description", ctx["description"]),
    ):
        have = live.get(field) or ("UTC" if field == "ScheduleExpressionTimezone" else None)
        if have != want:
            shown = _short(have) if have is not None else "unset"
            out.append((f"{field} {shown}", f"batchform writes {_short(want)}; {CHANGES}"))
    window = live.get("FlexibleTimeWindow") or {}
    if window.get("Mode", "OFF") != "OFF":
        out.append(
            (f"FlexibleTimeWindow {_short(window)}", f'batchform writes mode "OFF"; {CHANGES}')
        )
    for field, effect in (
        ("StartDate", "the first apply removes it"),
        ("EndDate", "the first apply removes it"),
        ("KmsKeyArn", "the first apply removes it (Scheduler then uses an AWS owned key)"),
    ):
        if live.get(field):
            out.append((f"{field} {_short(str(live[field]))}", f"batchform writes none; {effect}"))
    if live.get("ActionAfterCompletion") not in (None, "NONE"):
        out.append(
            (
                f"ActionAfterCompletion {live['ActionAfterCompletion']}",
                "batchform writes none; the provider keeps it on update, but a schedule "
                "created again (a replacement) does not have it",
            )
        )
    return out


def _target_settings(target: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    retry = target.get("RetryPolicy")
    if retry and any(retry.get(k, v) != v for k, v in RETRY_DEFAULTS.items()):
        out.append(
            (
                f"Target.RetryPolicy {_short(retry)}",
                "batchform writes none; the provider keeps it on update (a missing "
                "retry_policy block is no change), but a schedule created again gets "
                "Scheduler's default (185 attempts, 24 hours)",
            )
        )
    for field in sorted(set(target) - set(TARGET_WRITTEN)):
        if target[field]:
            out.append(
                (
                    f"Target.{field} {_short(target[field])}",
                    "batchform writes none; the first apply removes it",
                )
            )
    return out


def _schedule_differences(
    env: Environment, key: str, live: dict[str, Any], ctx: Any, adoption: Adoption
) -> list[tuple[str, str]]:
    """Every difference between the schedule batchform writes for ``key`` and ``live``."""
    out = _schedule_settings(live, ctx)
    target = live.get("Target") or {}
    out += _target_settings(target)
    role = naming.role_name(env.name, "scheduler")
    adopted_role = adopted_scheduler_role(adoption) is not None
    if not (adopted_role and str(target.get("RoleArn", "")).endswith(f"/{role}")):
        how = "adopts" if adopted_role else "generates"
        out.append(
            (
                f"Target.RoleArn {target.get('RoleArn')}",
                f"batchform {how} the role {role} (`aws_iam_role.scheduler`, allowed "
                "batch:SubmitJob on the schedules' queues and job definitions) and the first "
                "apply points the schedule at it",
            )
        )
    want = _resolved(ctx["input"], _addresses_to_arns(adoption))
    text = target.get("Input")
    try:
        have = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        have = {}
    fields = [
        field
        for field in sorted(set(want) | set(have if isinstance(have, dict) else {}))
        if have.get(field) != want.get(field)
    ]
    for field in fields:
        sends = _short(want[field]) if field in want else "nothing here"
        got = _short(have[field]) if field in have else "unset"
        out.append((f"Target.Input.{field} {got}", f"batchform sends {sends}; {CHANGES}"))
    if not fields and text != jsonencode(want):
        out.append(
            (
                f"Target.Input written as {_short(text)}",
                "batchform writes the same SubmitJob request as Terraform's jsonencode spells "
                "it (minified, keys sorted); the provider compares `input` as text, so the "
                "first apply rewrites it, submitting the same job",
            )
        )
    return out


def jsonencode(value: Any) -> str:
    """``value`` as Terraform's ``jsonencode`` writes it
    (https://developer.hashicorp.com/terraform/language/functions/jsonencode): minified, object
    keys in lexical order (cty keeps an object's attributes sorted), and ``<``, ``>``, ``&``,
    U+2028 and U+2029 as ``\\u`` escapes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _compare_schedules(env: Environment, snapshot: Snapshot, adoption: Adoption) -> None:
    file = plan_operations.plan(env).get("schedules.tf")
    contexts = dict(zip(sorted(env.schedules), file["schedules"] if file else [], strict=True))
    # by <group>/<name> (the import id): two groups may hold schedules of one name
    by_id = {f"{s.get('GroupName') or 'default'}/{s['Name']}": s for s in snapshot.schedules}
    for item in [a for a in adoption.adopted if a.section == "schedules"]:
        if item.key not in contexts:
            continue
        live = by_id[item.import_id]
        for what, why in _schedule_differences(env, item.key, live, contexts[item.key], adoption):
            adoption.leave_out(
                ("schedules", item.key),
                f"schedule {item.key}",
                what,
                why,
            )


def _policy(value: Any) -> Any:
    """A policy document as IAM compares it: a one-element list is its element, and the
    lists of a statement (actions, resources, principals) are sets."""
    if isinstance(value, dict):
        return {k: _policy(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_policy(v) for v in value]
        if len(items) == 1:
            return items[0]
        if all(isinstance(v, str) for v in items):
            return sorted(items)
        return items
    return value


def _compare_scheduler_role(env: Environment, snapshot: Snapshot, adoption: Adoption) -> None:
    """The adopted scheduler role (``<name>-scheduler``) against the role batchform writes:
    description, trust policy (this account's ``aws:SourceAccount``), and the ``submit-jobs``
    policy with the adopted queues' and job definitions' ARNs."""
    role = adopted_scheduler_role(adoption)
    live = next(
        (r for r in snapshot.roles.values() if role and r.get("RoleName") == role.aws_name), None
    )
    iam_file = build_plan(env, "import").files.get("iam.tf")
    ctx = (
        next((r for r in iam_file["roles"] if r["label"] == "scheduler"), None)
        if iam_file
        else None
    )
    if role is None or live is None or ctx is None:
        return
    account = fetch.arn_account(live.get("Arn")) or ""
    arns = {**_addresses_to_arns(adoption), str(ACCOUNT_ID): account}
    wanted: list[tuple[str, str, Any, Any]] = [
        ("role scheduler", "Description", ctx["description"], live.get("Description")),
        (
            "role scheduler",
            "AssumeRolePolicyDocument",
            _policy(_resolved(ctx["assume_role_policy"], arns)),
            _policy(live.get("AssumeRolePolicyDocument")),
        ),
    ]
    policy = next((p for p in ctx["inline_policies"] if p["name"] == SUBMIT_POLICY_NAME), None)
    if policy is not None and "SubmitJobsPolicy" in live:
        wanted.append(
            (
                "role policy scheduler-submit",
                f"policy {SUBMIT_POLICY_NAME}",
                _policy(_resolved(policy["policy"], arns)),
                _policy(live["SubmitJobsPolicy"]),
            )
        )
    for resource, field, want, have in wanted:
        if want != have:
            adoption.leave_out(
                ("iam",),
                resource,  # named by the label: aws_iam_role.scheduler, ..._policy.scheduler_submit
                f"{field} of {role.aws_name} {_short(have) if have is not None else 'unset'}",
                f"batchform writes {_short(want)}; {CHANGES}",
            )


_RESOURCE = re.compile(r'^resource "([A-Za-z0-9_]+)" "([A-Za-z0-9_-]+)"', re.MULTILINE)


def created_addresses(env: Environment, imported: set[str]) -> list[str]:
    """Every resource of the compiled module no import block adopts, in file order: what the
    first apply creates. Read from the rendered module itself, so nothing the templates add
    escapes the list."""
    from batchform.build import render_environment

    found: list[str] = []
    for name, text in sorted(render_environment(env, "import").items()):
        if name.endswith(".tf"):
            found += [f"{t}.{label}" for t, label in _RESOURCE.findall(text)]
    return [address for address in found if address not in imported]


def compare(env: Environment, snapshot: Snapshot, adoption: Adoption, imported: set[str]) -> None:
    """List every difference between what ``env`` compiles to and what is deployed."""
    _compare_compute(env, snapshot, adoption)
    _compare_jobs(env, snapshot, adoption)
    _compare_schedules(env, snapshot, adoption)
    _compare_scheduler_role(env, snapshot, adoption)
    adoption.creates = created_addresses(env, imported)
