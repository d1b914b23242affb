"""docs/coming-from-other-tools.md names only keys the environment file has.

The page maps each input of the terraform-aws-batch module and each property of the CDK Batch
constructs to a batchform key. A key that does not exist (a typo, a renamed key, a key the page
promised and the model never got) sends a reader to write a file that fails with BF101, so
every key path in the page's "batchform key" column is resolved against the JSON Schema of the
model (``batchform schema``), and a value written with it (``type: UNMANAGED``) must be one the
schema allows. A setting the page maps to no key ("—") must say why in its notes.

The page also promises completeness: every input of the module version it cites and every
property of the CDK props types must have a row (the names are copied below from those sources).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchform.build import analyze_text
from batchform.schema import environment_schema

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "coming-from-other-tools.md"
LINK = "coming-from-other-tools.md"

SCHEMA = environment_schema()
DEFS: dict[str, Any] = SCHEMA.get("$defs", {})
TOP_LEVEL = set(SCHEMA["properties"])
CODE = re.compile(r"`([^`]+)`")
SEGMENT = re.compile(r"^(<[a-z]+>|[a-z_][a-z0-9_]*)(\[\])?$")


def _alternatives(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``node`` with ``$ref`` followed and ``anyOf``/``oneOf``/``allOf`` branches spread out."""
    if "$ref" in node:
        yield from _alternatives(DEFS[node["$ref"].rsplit("/", 1)[1]])
        return
    branches = [b for key in ("anyOf", "oneOf", "allOf") for b in node.get(key, [])]
    if not branches:
        yield node
    for branch in branches:
        yield from _alternatives(branch)


def _step(node: dict[str, Any], segment: str) -> list[dict[str, Any]]:
    """The schemas one path segment leads to from ``node`` (none: the segment does not exist)."""
    match = SEGMENT.match(segment)
    if match is None:
        return []
    name, is_list = match.groups()
    found: list[dict[str, Any]] = []
    for alt in _alternatives(node):
        if name.startswith("<"):
            children = (
                [alt["additionalProperties"]]
                if isinstance(alt.get("additionalProperties"), dict)
                else list(alt.get("patternProperties", {}).values())
            )
        else:
            children = [alt["properties"][name]] if name in alt.get("properties", {}) else []
        for child in children:
            if not is_list:
                found.append(child)
                continue
            found.extend(a["items"] for a in _alternatives(child) if "items" in a)
    return found


def _branch_accepts(alt: dict[str, Any], value: str) -> bool:
    if "enum" in alt or "const" in alt:
        return value in alt.get("enum", [alt.get("const")])
    types = alt.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "string" in types:
        return True
    if {"number", "integer"} & set(types):
        return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
    return "boolean" in types and value in ("true", "false")


def _accepts(node: dict[str, Any], value: str) -> bool:
    """Whether a key whose schema is ``node`` accepts ``value`` as written on the page (a
    ``null`` branch accepts no text, so ``platform: EKS`` is refused while ``platform`` is
    ``EC2 | FARGATE | null``)."""
    return any(_branch_accepts(alt, value.strip('"')) for alt in _alternatives(node))


def resolves(path: str) -> bool:
    """``compute_environments.<key>.eks.cluster`` or ``....type: UNMANAGED`` exists."""
    dotted, _, value = path.partition(": ")
    nodes: list[dict[str, Any]] = [SCHEMA]
    for segment in dotted.split("."):
        nodes = [child for node in nodes for child in _step(node, segment)]
        if not nodes:
            return False
    return not value or any(_accepts(node, value) for node in nodes)


def _table_rows() -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every row of a table whose second column is "batchform key"."""
    in_table = False
    for number, line in enumerate(PAGE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if cells[1:2] == ["batchform key"]:
            in_table = True
        elif in_table and not set(line) <= set("|-"):
            yield number, cells


def key_paths(cell: str) -> list[str]:
    """The key paths written in a "batchform key" cell: code spans whose first part is a
    top-level key of the file (``EC2``, ``sg-`` ids and the like are values, not paths)."""
    paths = []
    for code in CODE.findall(cell):
        first = re.split(r"[.\[:]", code, maxsplit=1)[0]
        if first in TOP_LEVEL:
            paths.append(code)
    return paths


ROWS = list(_table_rows())
PATHS = sorted({(path, number) for number, cells in ROWS for path in key_paths(cells[1])})


def test_the_page_has_its_tables() -> None:
    assert len(ROWS) > 250, "the tables were not found; the parser no longer matches the page"
    assert len(PATHS) > 250


@pytest.mark.parametrize(("path", "line"), PATHS, ids=[p for p, _ in PATHS])
def test_every_key_the_page_names_exists(path: str, line: int) -> None:
    assert resolves(path), (
        f"docs/coming-from-other-tools.md:{line}: `{path}` is no key of the environment file"
    )


def test_every_row_has_three_cells_and_every_omission_says_why() -> None:
    for line, cells in ROWS:
        assert len(cells) == 3, f"docs/coming-from-other-tools.md:{line}: {cells}"
        peer, key, notes = cells
        assert peer and key, f"docs/coming-from-other-tools.md:{line}: an empty cell"
        if key == "—":
            assert notes, f"docs/coming-from-other-tools.md:{line}: `{peer}` has no key and no why"


def test_the_resolver_tells_keys_from_typos() -> None:
    """The checks above rely on it: known keys resolve, near misses and wrong values do not."""
    assert resolves("compute_environments.<key>.instance_types")
    assert resolves("job_definitions.<key>.retry.on_exit[].status_reason")
    assert resolves("job_definitions.<key>.ulimits.<name>.soft")
    assert resolves("job_queues.<key>.time_limit_actions[].after")
    assert resolves("compute_environments.<key>.type: SPOT")
    assert not resolves("compute_environments.<key>.instance_type")
    assert not resolves("job_definitions.<key>.retry.on_exit.status_reason")
    assert not resolves("job_definitions.<key>.ulimits.<name>.soft_limit")
    assert not resolves("compute_environments.<key>.type: SPOTTY")
    assert resolves("job_definitions.<key>.platform: FARGATE")
    assert not resolves("job_definitions.<key>.platform: BATCH")
    assert resolves('job_definitions.<key>.retry.on_exit[].exit_code: "*"')


@pytest.mark.parametrize("page", ["README.md", "docs/environment.md"])
def test_the_page_is_linked(page: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    assert f"]({'docs/' if page == 'README.md' else ''}{LINK})" in text


# Each input of terraform-aws-batch v3.1.0 (variables.tf, commit 93a3e2ec1ab0) with the keys of
# its nested object types, and each property of the aws-cdk-lib 2.276.0 aws_batch props types
# (aws-batch/lib/*.d.ts): the page promises to list every one of them.
MODULE_INPUTS: dict[str, tuple[str, ...]] = {
    "create": (),
    "region": (),
    "tags": (),
    "compute_environments": (
        "allocation_strategy",
        "bid_percentage",
        "compute_resources",
        "desired_vcpus",
        "ec2_configuration",
        "ec2_key_pair",
        "eks_cluster_arn",
        "eks_configuration",
        "image_id_override",
        "image_type",
        "instance_role",
        "instance_types",
        "job_execution_timeout_minutes",
        "kubernetes_namespace",
        "launch_template",
        "launch_template_id",
        "launch_template_name",
        "max_vcpus",
        "min_vcpus",
        "name",
        "name_prefix",
        "placement_group",
        "security_group_ids",
        "service_role",
        "spot_iam_fleet_role",
        "state",
        "subnets",
        "tags",
        "terminate_jobs_on_update",
        "type",
        "update_policy",
        "version",
    ),
    "create_instance_iam_role": (),
    "instance_iam_role_name": (),
    "instance_iam_role_use_name_prefix": (),
    "instance_iam_role_path": (),
    "instance_iam_role_description": (),
    "instance_iam_role_permissions_boundary": (),
    "instance_iam_role_additional_policies": (),
    "instance_iam_role_tags": (),
    "create_service_iam_role": (),
    "service_iam_role_name": (),
    "service_iam_role_use_name_prefix": (),
    "service_iam_role_path": (),
    "service_iam_role_description": (),
    "service_iam_role_permissions_boundary": (),
    "service_iam_role_additional_policies": (),
    "service_iam_role_tags": (),
    "create_spot_fleet_iam_role": (),
    "spot_fleet_iam_role_name": (),
    "spot_fleet_iam_role_use_name_prefix": (),
    "spot_fleet_iam_role_path": (),
    "spot_fleet_iam_role_description": (),
    "spot_fleet_iam_role_permissions_boundary": (),
    "spot_fleet_iam_role_additional_policies": (),
    "spot_fleet_iam_role_tags": (),
    "create_job_queues": (),
    "job_queues": (
        "action",
        "compute_environment_key",
        "compute_environment_order",
        "compute_reservation",
        "create",
        "create_scheduling_policy",
        "delete",
        "fair_share_policy",
        "job_state_time_limit_action",
        "max_time_seconds",
        "name",
        "order",
        "priority",
        "reason",
        "scheduling_policy_arn",
        "share_decay_seconds",
        "share_distribution",
        "share_identifier",
        "state",
        "tags",
        "timeouts",
        "update",
        "weight_factor",
    ),
    "job_definitions": (
        "action",
        "args",
        "attempt_duration_seconds",
        "attempts",
        "command",
        "container_properties",
        "containers",
        "deregister_on_new_revision",
        "dns_policy",
        "ecs_properties",
        "eks_properties",
        "empty_dir",
        "env",
        "evaluate_on_exit",
        "host_network",
        "host_path",
        "image",
        "image_pull_policy",
        "image_pull_secrets",
        "init_containers",
        "labels",
        "limits",
        "medium",
        "metadata",
        "mount_path",
        "name",
        "node_properties",
        "on_exit_code",
        "on_reason",
        "on_status_reason",
        "optional",
        "parameters",
        "path",
        "platform_capabilities",
        "pod_properties",
        "privileged",
        "propagate_tags",
        "read_only",
        "read_only_root_file_system",
        "requests",
        "resources",
        "retry_strategy",
        "run_as_group",
        "run_as_non_root",
        "run_as_user",
        "scheduling_priority",
        "secret",
        "secret_name",
        "security_context",
        "service_account_name",
        "share_process_namespace",
        "size_limit",
        "tags",
        "timeout",
        "type",
        "volume_mounts",
        "volumes",
    ),
}
CDK_PROPERTIES: dict[str, tuple[str, ...]] = {
    "ComputeEnvironmentProps": ("computeEnvironmentName", "serviceRole", "enabled"),
    "ConsumableResourceProps": ("consumableResourceName", "resourceType", "totalQuantity", "tags"),
    "SecretVersionInfo": ("versionId", "versionStage"),
    "EcsVolumeOptions": ("name", "containerPath", "readonly"),
    "EfsVolumeOptions": (
        "fileSystem",
        "rootDirectory",
        "enableTransitEncryption",
        "transitEncryptionPort",
        "accessPointId",
        "useJobRole",
    ),
    "HostVolumeOptions": ("hostPath",),
    "EcsContainerDefinitionProps": (
        "image",
        "cpu",
        "memory",
        "command",
        "environment",
        "executionRole",
        "jobRole",
        "linuxParameters",
        "logging",
        "readonlyRootFilesystem",
        "secrets",
        "user",
        "volumes",
        "enableExecuteCommand",
    ),
    "Ulimit": ("hardLimit", "name", "softLimit"),
    "EcsEc2ContainerDefinitionProps": ("privileged", "ulimits", "gpu"),
    "EcsFargateContainerDefinitionProps": (
        "assignPublicIp",
        "fargatePlatformVersion",
        "ephemeralStorageSize",
        "fargateCpuArchitecture",
        "fargateOperatingSystemFamily",
    ),
    "EcsJobDefinitionProps": ("container", "propagateTags"),
    "EksContainerDefinitionProps": (
        "image",
        "args",
        "command",
        "env",
        "imagePullPolicy",
        "name",
        "memoryLimit",
        "memoryReservation",
        "cpuLimit",
        "cpuReservation",
        "gpuLimit",
        "gpuReservation",
        "privileged",
        "readonlyRootFilesystem",
        "runAsGroup",
        "runAsRoot",
        "runAsUser",
        "volumes",
    ),
    "EksVolumeOptions": ("name", "mountPath", "readonly"),
    "EmptyDirVolumeOptions": ("medium", "sizeLimit"),
    "HostPathVolumeOptions": ("hostPath",),
    "SecretPathVolumeOptions": ("secretName", "optional"),
    "EksJobDefinitionProps": ("container", "dnsPolicy", "useHostNetwork", "serviceAccount"),
    "JobDefinitionProps": (
        "jobDefinitionName",
        "parameters",
        "retryAttempts",
        "retryStrategies",
        "schedulingPriority",
        "timeout",
        "skipDeregisterOnUpdate",
    ),
    "CustomReason": ("onExitCode", "onStatusReason", "onReason"),
    "JobQueueProps": (
        "computeEnvironments",
        "priority",
        "jobQueueName",
        "enabled",
        "schedulingPolicy",
        "jobStateTimeLimitActions",
    ),
    "OrderedComputeEnvironment": ("computeEnvironment", "order"),
    "JobStateTimeLimitAction": ("action", "maxTime", "reason", "state"),
    "LinuxParametersProps": ("initProcessEnabled", "sharedMemorySize", "maxSwap", "swappiness"),
    "Device": ("containerPath", "hostPath", "permissions"),
    "Tmpfs": ("containerPath", "size", "mountOptions"),
    "ManagedComputeEnvironmentProps": (
        "maxvCpus",
        "replaceComputeEnvironment",
        "spot",
        "updateTimeout",
        "terminateOnUpdate",
        "vpc",
        "securityGroups",
        "vpcSubnets",
        "updateToLatestImageVersion",
    ),
    "EcsMachineImage": ("image", "imageType"),
    "EksMachineImage": ("image", "imageType"),
    "ManagedEc2ComputeEnvironmentProps": ("instanceTypes", "instanceClasses"),
    "ManagedEc2EcsComputeEnvironmentProps": (
        "defaultInstanceClasses",
        "useOptimalInstanceClasses",
        "images",
        "allocationStrategy",
        "spotBidPercentage",
        "spotFleetRole",
        "instanceRole",
        "launchTemplate",
        "minvCpus",
        "placementGroup",
    ),
    "ManagedEc2EksComputeEnvironmentProps": (
        "kubernetesNamespace",
        "eksCluster",
        "defaultInstanceClasses",
        "useOptimalInstanceClasses",
        "images",
        "allocationStrategy",
        "spotBidPercentage",
        "instanceRole",
        "launchTemplate",
        "minvCpus",
        "placementGroup",
    ),
    "MultiNodeContainer": ("startNode", "endNode", "container"),
    "MultiNodeJobDefinitionProps": ("instanceType", "containers", "mainNode", "propagateTags"),
    "Share": ("shareIdentifier", "weightFactor"),
    "FairshareSchedulingPolicyProps": ("computeReservation", "shareDecay", "shares"),
    "UnmanagedComputeEnvironmentProps": ("unmanagedvCpus",),
}


def _first_column_words(start: str, end: str) -> set[str]:
    """Identifiers written in code in the first column of the rows between two headings."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split(start, 1)[1].split(end, 1)[0]
    words: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            for code in CODE.findall(line.strip("|").split(" | ")[0]):
                words.update(re.findall(r"\w+", code))
    return words


def test_every_module_input_is_on_the_page() -> None:
    words = _first_column_words("\n## terraform-aws-batch", "\n## AWS CDK")
    missing = [
        f"{variable}.{key}" if key else variable
        for variable, nested in MODULE_INPUTS.items()
        for key in ("", *nested)
        if (key or variable) not in words
    ]
    assert missing == []


def test_every_cdk_property_is_on_the_page() -> None:
    words = _first_column_words("\n## AWS CDK", "\n## What batchform adds")
    missing = [
        f"{props}.{name}"
        for props, names in CDK_PROPERTIES.items()
        for name in names
        if name not in words
    ]
    assert missing == []


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_relative_links_resolve() -> None:
    """Links to other pages and to sections (``#eks_properties``) lead somewhere."""
    text = PAGE.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith("https://"):
            continue
        file_part, _, anchor = target.partition("#")
        page = (PAGE.parent / file_part).resolve() if file_part else PAGE
        assert page.exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
            assert anchor in {_anchor(h) for h in headings}, target


def test_the_worked_example_validates_without_a_finding() -> None:
    """The page says the module's Fargate example, translated, validates without a warning."""
    (block,) = re.findall(r"^```yaml\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.M | re.S)
    analysis = analyze_text(block, PAGE.name)
    assert analysis.env is not None
    assert [f"{d.code} {d.message}" for d in analysis.diagnostics] == []
