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
from batchform.hcl import Expr
from batchform.plan.compute import compute_resources_of
from batchform.plan.contract import (
    ComputeEnvironmentEntry,
    EksPropertiesEntry,
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
    attrs = live.resolve(compute_resources_of(ctx)["attrs"])
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
    _eks_configuration(check, ctx, actual)
    image_config = live.resolve(compute_resources_of(ctx)["ec2_configuration"])
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


def _eks_configuration(
    check: ResourceCheck, ctx: ComputeEnvironmentEntry, actual: dict[str, Any]
) -> None:
    """The EKS cluster and namespace of an EKS CE (an ECS CE must have none)."""
    wanted = ctx["eks_configuration"]
    got = actual.get("eksConfiguration") or {}
    if wanted is None and not got:
        return
    check.compare(
        "eksConfiguration.eksClusterArn",
        wanted["eks_cluster_arn"] if wanted else None,
        got.get("eksClusterArn"),
    )
    check.compare(
        "eksConfiguration.kubernetesNamespace",
        wanted["kubernetes_namespace"] if wanted else None,
        got.get("kubernetesNamespace"),
    )


def _launch_template(
    check: ResourceCheck, live: Live, ctx: ComputeEnvironmentEntry, resources: dict[str, Any]
) -> None:
    """The CE must pin its template's numeric latest version: Batch resolves ``$Latest`` only at
    create or update, so any other version means instances boot from a stale template."""
    wanted = compute_resources_of(ctx)["launch_template"]
    if wanted is None:
        return
    actual = resources.get("launchTemplate") or {}
    if "launch_template_name" in wanted:
        check.compare(
            "computeResources.launchTemplate.launchTemplateName",
            wanted["launch_template_name"],
            actual.get("launchTemplateName"),
        )
    else:
        check.compare(
            "computeResources.launchTemplate.launchTemplateId",
            live.resolve(wanted.get("launch_template_id")),
            actual.get("launchTemplateId"),
        )
    if not isinstance(wanted["version"], Expr):  # an existing template: the file's version
        check.compare(
            "computeResources.launchTemplate.version", wanted["version"], actual.get("version")
        )
        return
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
    "enableExecuteCommand": False,
    "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
    "networkConfiguration": {"assignPublicIp": "DISABLED"},
    "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
}
"""Values AWS fills in when a job definition leaves them out: an actual-only key holding one of
these (or an empty value) is not drift. batchform writes none of the false flags
(:func:`batchform.derive.container_options`), so a false read back means "off", as intended."""

LINUX_PARAMETER_DEFAULTS: dict[str, Any] = {"initProcessEnabled": False}
"""The same within ``linuxParameters``."""


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def prune(value: Any) -> Any:
    """``value`` without empty members (``None``, ``[]``, ``{}``) at any depth
    (``{"devices": []}`` -> ``{}``): how verify, and the import round-trip test, compare
    values whose empty members mean nothing."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _empty(v)}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def _by_name(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((e for e in entries if e.get("value", None) != ""), key=lambda e: e["name"])


def _linux_parameters(value: dict[str, Any]) -> dict[str, Any]:
    """``linuxParameters`` without AWS's defaults, device permissions as a sorted set (Docker
    reads them as one: ``rwm``)."""
    out = {k: v for k, v in value.items() if LINUX_PARAMETER_DEFAULTS.get(k, object()) != v}
    if "devices" in out:
        out["devices"] = [
            {**d, "permissions": sorted(d["permissions"])} if "permissions" in d else d
            for d in out["devices"]
        ]
    return out


def _log_configuration(value: dict[str, Any]) -> dict[str, Any]:
    if "secretOptions" in value:
        return {**value, "secretOptions": _by_name(value["secretOptions"])}
    return value


def normalise_container(props: dict[str, Any]) -> dict[str, Any]:
    """Container properties in one canonical form: empty values dropped, name/value lists
    sorted by name (environment, secrets, ulimits, log secret options), resource requirements
    by type, values of requirements as strings, mount points with AWS's ``readOnly`` default,
    ``linuxParameters`` without AWS's defaults."""
    out: dict[str, Any] = {}
    for key, value in prune(props).items():
        if key in ("environment", "secrets", "ulimits"):
            value = _by_name(value)
        elif key == "linuxParameters":
            value = _linux_parameters(value)
        elif key == "logConfiguration":
            value = _log_configuration(value)
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
    check: ResourceCheck,
    expected: dict[str, Any],
    actual: dict[str, Any],
    prefix: str = "containerProperties",
) -> None:
    want = normalise_container(expected)
    got = normalise_container(actual)
    for key in sorted(set(want) | set(got)):
        if key not in want and got[key] == AWS_CONTAINER_DEFAULTS.get(key):
            continue
        check.compare(f"{prefix}.{key}", want.get(key), got.get(key))


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
    revisions = [jd for jd in live.revisions(name) if jd.get("status", "ACTIVE") == "ACTIVE"]
    return max(revisions, key=lambda jd: int(jd["revision"])) if revisions else None


def check_job_definition(live: Live, desired: Desired, ctx: JobDefinitionEntry) -> ResourceCheck:
    key = batchform_key(ctx) or ctx["label"]
    check = ResourceCheck(JD, key)
    actual = latest_active(live, ctx["name"])
    if actual is None:
        check.differ("", ctx["name"], None, Kind.MISSING, "no ACTIVE revision")
        return check
    check.name = f"{actual['jobDefinitionName']}:{actual['revision']}"
    check.compare("type", ctx["type"], actual.get("type"))
    check.compare(
        "platformCapabilities",
        ctx["platform_capabilities"] or None,
        actual.get("platformCapabilities") or (["EC2"] if ctx["platform_capabilities"] else None),
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
    if ctx["container_properties"] is not None:
        compare_container(
            check,
            live.resolve(ctx["container_properties"]),
            actual.get("containerProperties") or {},
        )
    compare_properties(check, live, ctx, actual)
    compare_tags(check, desired.expected_tags(ctx["tags"]), tags_of(actual))
    return check


def older_active_revisions(live: Live, desired: Desired) -> list[ResourceCheck]:
    """ACTIVE revisions below the live one, for job definitions that do not keep them.

    On update the provider deregisters the revision it replaces unless
    ``deregister_on_new_revision`` is false (``keep_old_revisions: true``;
    internal/service/batch/job_definition.go in hashicorp/terraform-provider-aws), so an older
    ACTIVE revision was registered some other way, or kept before the file stopped keeping
    them: jobs can still be submitted to it with its old settings."""
    checks = []
    for ctx in desired.job_definitions:
        newest = latest_active(live, ctx["name"])
        if ctx["deregister_on_new_revision"] is False or newest is None:
            continue
        key = batchform_key(ctx) or ctx["label"]
        for jd in live.job_definitions or []:
            older = int(jd["revision"]) < int(newest["revision"])
            if jd["jobDefinitionName"] != ctx["name"] or not older:
                continue
            if jd.get("status", "ACTIVE") != "ACTIVE":
                continue
            name = f"{jd['jobDefinitionName']}:{jd['revision']}"
            check = ResourceCheck(JD, f"{key} (older revision)", name)
            check.differ(
                "",
                None,
                name,
                Kind.UNMANAGED,
                f"still ACTIVE below the live revision {newest['revision']}: submissions can "
                "name it; deregister it, or set keep_old_revisions: true to keep revisions",
            )
            checks.append(check)
    return checks


# --- multi-node, multi-container and EKS job definitions (second release) -------------------


def compare_properties(
    check: ResourceCheck, live: Live, ctx: JobDefinitionEntry, actual: dict[str, Any]
) -> None:
    """``nodeProperties``, ``ecsProperties`` and ``eksProperties``: each container is compared
    like ``containerProperties`` (same normalisation), named by its node range or container."""
    if ctx["node_properties"] is not None:
        _compare_nodes(check, live.resolve(ctx["node_properties"]), actual.get("nodeProperties"))
    if ctx["ecs_properties"] is not None:
        _compare_ecs(check, live.resolve(ctx["ecs_properties"]), actual.get("ecsProperties"))
    if ctx["eks_properties"] is not None:
        _compare_eks(check, ctx["eks_properties"], actual.get("eksProperties"))


def _compare_nodes(check: ResourceCheck, want: dict[str, Any], got: Any) -> None:
    if not isinstance(got, dict):
        check.compare("nodeProperties", "set", None)
        return
    for name in ("numNodes", "mainNode"):
        check.compare(f"nodeProperties.{name}", want[name], got.get(name))
    ranges = got.get("nodeRangeProperties") or []
    for i, wanted in enumerate(want["nodeRangeProperties"]):
        prefix = f"nodeProperties.nodeRangeProperties[{i}]"
        found = ranges[i] if i < len(ranges) else {}
        check.compare(f"{prefix}.targetNodes", wanted["targetNodes"], found.get("targetNodes"))
        compare_container(
            check, wanted["container"], found.get("container") or {}, prefix + ".container"
        )
    if len(ranges) > len(want["nodeRangeProperties"]):
        check.compare(
            "nodeProperties.nodeRangeProperties",
            len(want["nodeRangeProperties"]),
            len(ranges),
        )


def _compare_ecs(check: ResourceCheck, want: dict[str, Any], got: Any) -> None:
    tasks = got.get("taskProperties") if isinstance(got, dict) else None
    if not tasks:
        check.compare("ecsProperties", "set", None)
        return
    wanted_task, task = want["taskProperties"][0], tasks[0]
    prefix = "ecsProperties.taskProperties[0]"
    for key in sorted(set(wanted_task) | set(task)):
        if key == "containers":
            continue
        if key not in wanted_task and task[key] in (None, [], {}):
            continue
        check.compare(f"{prefix}.{key}", wanted_task.get(key), task.get(key))
    by_name = {c.get("name"): c for c in task.get("containers") or []}
    for container in wanted_task["containers"]:
        name = container["name"]
        compare_container(check, container, by_name.pop(name, {}), f"{prefix}.containers[{name}]")
    for name in sorted(str(n) for n in by_name):
        check.compare(f"{prefix}.containers[{name}]", None, "present")


_EKS_SECURITY = {
    "privileged": "privileged",
    "read_only_root_file_system": "readOnlyRootFilesystem",
    "run_as_user": "runAsUser",
    "run_as_group": "runAsGroup",
}


def _eks_api_container(block: Mapping[str, Any]) -> dict[str, Any]:
    """A planned ``containers`` block in the API's names (what DescribeJobDefinitions
    returns), empty parts left out."""
    out: dict[str, Any] = {"image": block["image"]}
    for name in ("name", "command"):
        if block.get(name):
            out[name] = block[name]
    if block.get("env"):
        out["env"] = sorted(block["env"], key=lambda e: e["name"])
    resources = {k: v for k, v in (block.get("resources") or {}).items() if v}
    if resources:
        out["resources"] = resources
    security = {_EKS_SECURITY[k]: v for k, v in (block.get("security_context") or {}).items()}
    if security:
        out["securityContext"] = security
    return out


def _compare_eks(check: ResourceCheck, want: EksPropertiesEntry, got: Any) -> None:
    pod = got.get("podProperties") if isinstance(got, dict) else None
    if not isinstance(pod, dict):
        check.compare("eksProperties", "set", None)
        return
    prefix = "eksProperties.podProperties"
    check.compare(f"{prefix}.hostNetwork", want["host_network"], pod.get("hostNetwork", True))
    check.compare(
        f"{prefix}.serviceAccountName",
        want["service_account_name"],
        pod.get("serviceAccountName"),
    )
    containers = pod.get("containers") or []
    for i, block in enumerate(want["containers"]):
        wanted = _eks_api_container(block)
        found = containers[i] if i < len(containers) else {}
        for key in sorted(wanted):
            value = _without_defaults(wanted[key], found.get(key))
            if key == "env" and isinstance(value, list):
                value = sorted(value, key=lambda e: e.get("name", ""))
            check.compare(f"{prefix}.containers[{i}].{key}", wanted[key], value)


def _without_defaults(wanted: Any, actual: Any) -> Any:
    """``actual`` without the members ``wanted`` does not set whose value is a default
    (``false``, empty): the provider sends every boolean of a 5.x block, so
    ``securityContext`` comes back with ``privileged: false`` and ``runAsNonRoot: false``
    that the file never set."""
    if not isinstance(wanted, dict) or not isinstance(actual, dict):
        return actual
    return {k: v for k, v in actual.items() if k in wanted or v not in (False, None, "", [], {})}


def check_job_definitions(live: Live, desired: Desired) -> list[ResourceCheck]:
    checks = [check_job_definition(live, desired, ctx) for ctx in desired.job_definitions]
    checks += older_active_revisions(live, desired)
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
