"""Compare the Batch resources: compute environments, job queues, scheduling policies and job
definitions.

Expected values are the compiler's plan contexts with references resolved to live ARNs (see
:mod:`batchform.verify.live`); attribute paths in the report use the API's camelCase names, the
names a user finds in ``aws batch describe-*`` output. Values AWS manages itself
(``desiredvCpus``, status timestamps, an image type AWS picked when none was set) are never
compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from batchform import naming
from batchform.plan.contract import (
    ComputeEnvironmentEntry,
    JobDefinitionEntry,
    JobQueueEntry,
    RetryStrategyEntry,
    SchedulingPolicyEntry,
)
from batchform.verify.desired import Desired, batchform_key
from batchform.verify.gather import arn_name, candidates, pick_compute_environment
from batchform.verify.live import Live, Unresolved, tags_of
from batchform.verify.result import Kind, ResourceCheck

SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"
HEALTHY_STATUS = "VALID"

CE = "compute_environments"
JQ = "job_queues"
SP = "scheduling_policies"
JD = "job_definitions"


def compare_tags(
    check: ResourceCheck, expected: dict[str, str], actual: dict[str, str], path: str = "tags"
) -> None:
    """Every tag the file sets must be there with its value; AWS's own ``aws:`` tags and tags
    added by other tools are not the file's business."""
    for key in sorted(expected):
        check.compare(f"{path}.{key}", expected[key], actual.get(key))


def role_name_of(value: Any) -> Any:
    """Roles are compared by name: AWS reports an ARN (with a path), the file may hold one."""
    if isinstance(value, str):
        return arn_name(value)
    return value


def unmanaged(
    kind: str,
    resources: Iterable[dict[str, Any]],
    env_name: str,
    known: set[str],
    name_of: Callable[[dict[str, Any]], str],
) -> list[ResourceCheck]:
    """Resources tagged with this environment whose ``batchform:key`` the file does not have."""
    out = []
    for r in resources:
        tags = tags_of(r)
        key = tags.get(naming.TAG_KEY)
        if tags.get(naming.TAG_ENVIRONMENT) != env_name or key in known:
            continue
        check = ResourceCheck(kind, key or f"(untagged key) {name_of(r)}", name_of(r))
        check.differ(
            "",
            None,
            name_of(r),
            Kind.UNMANAGED,
            "tagged with this environment but not declared in the file",
        )
        out.append(check)
    return out


def _health(check: ResourceCheck, actual: dict[str, Any]) -> None:
    status = actual.get("status")
    check.compare("status", HEALTHY_STATUS, status, Kind.UNHEALTHY, actual.get("statusReason"))


# --- compute environments --------------------------------------------------------------------

_CE_ATTRIBUTES = {
    "type": "type",
    "allocation_strategy": "allocationStrategy",
    "bid_percentage": "bidPercentage",
    "min_vcpus": "minvCpus",
    "max_vcpus": "maxvCpus",
    "ec2_key_pair": "ec2KeyPair",
    "placement_group": "placementGroup",
}
_CE_SETS = {
    "instance_type": "instanceTypes",
    "subnets": "subnets",
    "security_group_ids": "securityGroupIds",
}


def _sorted(values: Any) -> Any:
    return sorted(str(v) for v in values) if isinstance(values, list) else values


def _image_config(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ec2Configuration`` reduced to what the file manages (AWS may add e.g. a Kubernetes
    version), in the API's names."""
    out = []
    for e in entries:
        item = {"imageType": e.get("imageType", e.get("image_type"))}
        override = e.get("imageIdOverride", e.get("image_id_override"))
        if override is not None:
            item["imageIdOverride"] = override
        out.append(item)
    return out


def check_compute_environment(
    live: Live, desired: Desired, ctx: ComputeEnvironmentEntry
) -> ResourceCheck:
    key = batchform_key(ctx) or ctx["label"]
    check = ResourceCheck(CE, key)
    actual = pick_compute_environment(live, ctx, desired.name)
    if actual is None:
        wanted = ctx["name"] if ctx["name"] is not None else f"{ctx['name_prefix']}*"
        check.differ("", f"a compute environment named {wanted}", None, Kind.MISSING)
        return check
    check.name = actual["computeEnvironmentName"]
    check.compare("type", ctx["type"], actual.get("type"))
    check.compare("state", ctx["state"], actual.get("state"))
    _health(check, actual)
    expected_role = live.resolve(ctx["service_role"])
    check.compare(
        "serviceRole",
        SERVICE_LINKED_ROLE if expected_role is None else role_name_of(expected_role),
        role_name_of(actual.get("serviceRole")),
    )
    resources = actual.get("computeResources", {}) or {}
    attrs = live.resolve(ctx["compute_resources"]["attrs"])
    for name, api in _CE_ATTRIBUTES.items():
        if name in attrs:
            check.compare(f"computeResources.{api}", attrs[name], resources.get(api))
    for name, api in _CE_SETS.items():
        if name in attrs:
            check.compare(
                f"computeResources.{api}", _sorted(attrs[name]), _sorted(resources.get(api, []))
            )
    if "instance_role" in attrs:
        check.compare(
            "computeResources.instanceRole",
            role_name_of(attrs["instance_role"]),
            role_name_of(resources.get("instanceRole")),
        )
    if "spot_iam_fleet_role" in attrs:
        check.compare(
            "computeResources.spotIamFleetRole",
            role_name_of(attrs["spot_iam_fleet_role"]),
            role_name_of(resources.get("spotIamFleetRole")),
        )
    if "tags" in attrs:
        compare_tags(check, attrs["tags"], resources.get("tags") or {}, "computeResources.tags")
    _launch_template(check, live, ctx, resources)
    image_config = live.resolve(ctx["compute_resources"]["ec2_configuration"])
    if image_config:
        check.compare(
            "computeResources.ec2Configuration",
            _image_config(image_config),
            _image_config(resources.get("ec2Configuration") or []),
        )
    if ctx["update_policy"] is not None:
        policy = actual.get("updatePolicy") or {}
        check.compare(
            "updatePolicy.jobExecutionTimeoutMinutes",
            ctx["update_policy"]["job_execution_timeout_minutes"],
            policy.get("jobExecutionTimeoutMinutes"),
        )
        check.compare(
            "updatePolicy.terminateJobsOnUpdate",
            ctx["update_policy"]["terminate_jobs_on_update"],
            policy.get("terminateJobsOnUpdate"),
        )
    compare_tags(check, desired.expected_tags(ctx["tags"]), tags_of(actual))
    return check


def _launch_template(
    check: ResourceCheck, live: Live, ctx: ComputeEnvironmentEntry, resources: dict[str, Any]
) -> None:
    """The CE must pin its template's numeric latest version: Batch resolves ``$Latest`` only at
    create or update, so any other version means instances boot from a stale template."""
    wanted = ctx["compute_resources"]["launch_template"]
    if wanted is None:
        return
    actual = resources.get("launchTemplate") or {}
    template_id = live.resolve(wanted["launch_template_id"])
    check.compare(
        "computeResources.launchTemplate.launchTemplateId",
        template_id,
        actual.get("launchTemplateId"),
    )
    latest = live.resolve(wanted["version"])
    pinned = actual.get("version")
    check.compare(
        "computeResources.launchTemplate.version",
        latest,
        pinned,
        Kind.UNHEALTHY if not isinstance(latest, Unresolved) else Kind.CHANGED,
        "the compute environment must pin the launch template's latest version",
    )


def check_compute_environments(live: Live, desired: Desired) -> list[ResourceCheck]:
    checks = [check_compute_environment(live, desired, ctx) for ctx in desired.compute_environments]
    chosen = {c.name for c in checks if c.name}
    known = set(desired.env.compute_environments)
    all_ces = live.compute_environments or []
    checks += unmanaged(CE, all_ces, desired.name, known, lambda r: r["computeEnvironmentName"])
    for ctx in desired.compute_environments:
        for ce in candidates(live, ctx, desired.name):
            if ce["computeEnvironmentName"] not in chosen:
                extra = ResourceCheck(
                    CE, f"{batchform_key(ctx)} (replaced copy)", ce["computeEnvironmentName"]
                )
                extra.differ(
                    "",
                    None,
                    ce["computeEnvironmentName"],
                    Kind.UNMANAGED,
                    "an older compute environment for this key that no queue uses",
                )
                checks.append(extra)
    return checks


# --- job queues ------------------------------------------------------------------------------


def _ce_key_of(live: Live, desired: Desired, arn: str) -> str:
    """The file's key of the compute environment ``arn``, or its AWS name if it is not one."""
    for ctx in desired.compute_environments:
        for ce in candidates(live, ctx, desired.name):
            if ce["computeEnvironmentArn"] == arn:
                return batchform_key(ctx) or ctx["label"]
    return arn_name(arn)


def check_job_queue(live: Live, desired: Desired, ctx: JobQueueEntry) -> ResourceCheck:
    key = batchform_key(ctx) or ctx["label"]
    check = ResourceCheck(JQ, key)
    actual = next((q for q in live.job_queues or [] if q["jobQueueName"] == ctx["name"]), None)
    if actual is None:
        check.differ("", ctx["name"], None, Kind.MISSING)
        return check
    check.name = actual["jobQueueName"]
    check.compare("state", ctx["state"], actual.get("state"))
    _health(check, actual)
    check.compare("priority", ctx["priority"], actual.get("priority"))
    keys_by_address = {
        f"aws_batch_compute_environment.{c['label']}.arn": batchform_key(c)
        for c in desired.compute_environments
    }
    expected_order = [
        keys_by_address.get(str(o["compute_environment"]), str(o["compute_environment"]))
        for o in ctx["compute_environment_order"]
    ]
    ordered = sorted(actual.get("computeEnvironmentOrder", []), key=lambda o: o["order"])
    actual_order = [_ce_key_of(live, desired, o["computeEnvironment"]) for o in ordered]
    check.compare("computeEnvironmentOrder", expected_order, actual_order)
    policy = ctx["scheduling_policy_arn"]
    expected_policy = None
    if policy is not None:
        expected_policy = next(
            (
                p["name"]
                for p in desired.scheduling_policies
                if f"aws_batch_scheduling_policy.{p['label']}.arn" == policy
            ),
            str(policy),
        )
    actual_policy = actual.get("schedulingPolicyArn")
    check.compare(
        "schedulingPolicyArn", expected_policy, arn_name(actual_policy) if actual_policy else None
    )
    expected_actions = [
        {
            "action": a["action"],
            "maxTimeSeconds": a["max_time_seconds"],
            "reason": a["reason"],
            "state": a["state"],
        }
        for a in ctx["time_limit_actions"]
    ]
    actual_actions = [
        {k: a.get(k) for k in ("action", "maxTimeSeconds", "reason", "state")}
        for a in actual.get("jobStateTimeLimitActions", []) or []
    ]
    check.compare("jobStateTimeLimitActions", expected_actions, actual_actions)
    compare_tags(check, desired.expected_tags(ctx["tags"]), tags_of(actual))
    return check


def check_job_queues(live: Live, desired: Desired) -> list[ResourceCheck]:
    checks = [check_job_queue(live, desired, ctx) for ctx in desired.job_queues]
    known = set(desired.env.job_queues)
    return checks + unmanaged(
        JQ, live.job_queues or [], desired.name, known, lambda r: r["jobQueueName"]
    )


# --- scheduling policies ---------------------------------------------------------------------


def _shares(entries: Iterable[Mapping[str, Any]]) -> list[tuple[str, float]]:
    return sorted(
        (
            str(e.get("shareIdentifier", e.get("share_identifier"))),
            float(e.get("weightFactor", e.get("weight_factor", 1.0))),
        )
        for e in entries
    )


def check_scheduling_policy(
    live: Live, desired: Desired, ctx: SchedulingPolicyEntry
) -> ResourceCheck:
    key = batchform_key(ctx) or ctx["label"]
    check = ResourceCheck(SP, key)
    actual = next((p for p in live.scheduling_policies or [] if p["name"] == ctx["name"]), None)
    if actual is None:
        check.differ("", ctx["name"], None, Kind.MISSING)
        return check
    check.name = actual["name"]
    fair = actual.get("fairsharePolicy") or {}
    check.compare(
        "fairsharePolicy.shareDecaySeconds",
        ctx["share_decay_seconds"],
        fair.get("shareDecaySeconds", 0),
    )
    check.compare(
        "fairsharePolicy.computeReservation",
        ctx["compute_reservation"],
        fair.get("computeReservation", 0),
    )
    check.compare(
        "fairsharePolicy.shareDistribution",
        _shares(ctx["shares"]),
        _shares(fair.get("shareDistribution", []) or []),
    )
    compare_tags(check, desired.expected_tags(ctx["tags"]), tags_of(actual))
    return check


def check_scheduling_policies(live: Live, desired: Desired) -> list[ResourceCheck]:
    checks = [check_scheduling_policy(live, desired, ctx) for ctx in desired.scheduling_policies]
    known = set(desired.env.scheduling_policies)
    return checks + unmanaged(
        SP, live.scheduling_policies or [], desired.name, known, lambda r: r["name"]
    )


# --- job definitions -------------------------------------------------------------------------

AWS_CONTAINER_DEFAULTS: dict[str, Any] = {
    "privileged": False,
    "readonlyRootFilesystem": False,
    "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
    "networkConfiguration": {"assignPublicIp": "DISABLED"},
    "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
}
"""Values AWS fills in when a job definition leaves them out: an actual-only key holding one of
these (or an empty value) is not drift."""


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _prune(value: Any) -> Any:
    """``value`` without empty members at any depth (``{"devices": []}`` -> ``{}``)."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _empty(v)}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _by_name(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((e for e in entries if e.get("value", None) != ""), key=lambda e: e["name"])


def normalise_container(props: dict[str, Any]) -> dict[str, Any]:
    """Container properties in one canonical form: empty values dropped, name/value lists
    sorted by name, resource requirements by type, values of requirements as strings, mount
    points with AWS's ``readOnly`` default."""
    out: dict[str, Any] = {}
    for key, value in _prune(props).items():
        if key in ("environment", "secrets"):
            value = _by_name(value)
        elif key == "resourceRequirements":
            value = sorted(
                ({"type": r["type"], "value": str(r["value"])} for r in value),
                key=lambda r: r["type"],
            )
        elif key == "mountPoints":
            value = [{**m, "readOnly": bool(m.get("readOnly", False))} for m in value]
        if not _empty(value):
            out[key] = value
    return out


def compare_container(
    check: ResourceCheck, expected: dict[str, Any], actual: dict[str, Any]
) -> None:
    want = normalise_container(expected)
    got = normalise_container(actual)
    for key in sorted(set(want) | set(got)):
        if key not in want and got[key] == AWS_CONTAINER_DEFAULTS.get(key):
            continue
        check.compare(f"containerProperties.{key}", want.get(key), got.get(key))


def _retry(ctx_retry: RetryStrategyEntry | None) -> dict[str, Any] | None:
    if ctx_retry is None:
        return None
    names = {
        "on_exit_code": "onExitCode",
        "on_reason": "onReason",
        "on_status_reason": "onStatusReason",
        "action": "action",
    }
    return {
        "attempts": ctx_retry["attempts"],
        "evaluateOnExit": [
            {names[k]: (str(v).lower() if k == "action" else v) for k, v in r.items()}
            for r in ctx_retry["evaluate_on_exit"]
        ],
    }


def _actual_retry(actual: dict[str, Any] | None) -> dict[str, Any] | None:
    if not actual:
        return None
    return {
        "attempts": actual.get("attempts"),
        "evaluateOnExit": [
            {k: (v.lower() if k == "action" else v) for k, v in r.items()}
            for r in actual.get("evaluateOnExit", []) or []
        ],
    }


def latest_active(live: Live, name: str) -> dict[str, Any] | None:
    """The live revision: the highest ACTIVE one."""
    revisions = [
        jd
        for jd in live.job_definitions or []
        if jd["jobDefinitionName"] == name and jd.get("status", "ACTIVE") == "ACTIVE"
    ]
    return max(revisions, key=lambda jd: int(jd["revision"])) if revisions else None


def check_job_definition(live: Live, desired: Desired, ctx: JobDefinitionEntry) -> ResourceCheck:
    key = batchform_key(ctx) or ctx["label"]
    check = ResourceCheck(JD, key)
    actual = latest_active(live, ctx["name"])
    if actual is None:
        check.differ("", ctx["name"], None, Kind.MISSING, "no ACTIVE revision")
        return check
    check.name = f"{actual['jobDefinitionName']}:{actual['revision']}"
    check.compare("type", "container", actual.get("type"))
    check.compare(
        "platformCapabilities",
        ctx["platform_capabilities"],
        actual.get("platformCapabilities") or ["EC2"],
    )
    check.compare("parameters", ctx["parameters"], actual.get("parameters") or {})
    check.compare("propagateTags", ctx["propagate_tags"], bool(actual.get("propagateTags")))
    check.compare(
        "schedulingPriority", ctx["scheduling_priority"], actual.get("schedulingPriority")
    )
    check.compare(
        "retryStrategy", _retry(ctx["retry_strategy"]), _actual_retry(actual.get("retryStrategy"))
    )
    timeout = (actual.get("timeout") or {}).get("attemptDurationSeconds")
    check.compare("timeout.attemptDurationSeconds", ctx["timeout"], timeout)
    compare_container(
        check, live.resolve(ctx["container_properties"]), actual.get("containerProperties") or {}
    )
    compare_tags(check, desired.expected_tags(ctx["tags"]), tags_of(actual))
    return check


def check_job_definitions(live: Live, desired: Desired) -> list[ResourceCheck]:
    checks = [check_job_definition(live, desired, ctx) for ctx in desired.job_definitions]
    known = set(desired.env.job_definitions)
    latest: dict[str, dict[str, Any]] = {}
    for jd in live.job_definitions or []:
        name = jd["jobDefinitionName"]
        if name not in latest or int(jd["revision"]) > int(latest[name]["revision"]):
            latest[name] = jd
    return checks + unmanaged(
        JD,
        latest.values(),
        desired.name,
        known,
        lambda r: f"{r['jobDefinitionName']}:{r['revision']}",
    )


CHECKS: dict[str, Callable[[Live, Desired], list[ResourceCheck]]] = {
    CE: check_compute_environments,
    JQ: check_job_queues,
    SP: check_scheduling_policies,
    JD: check_job_definitions,
}
"""Each Batch section with the check of its resources; the topic read for a section has the
section's name."""
