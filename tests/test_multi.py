"""Multi-node, multi-container and EKS jobs, EKS and UNMANAGED compute (BF540-BF559).

Rule cases follow ``test_operations.py``: a bad case is the good file with one line changed and
marked ``#!``; the finding must stand on that line with the rule's code. Then the model's
"missing key" for a plain job, the checks that now judge node ranges and summed tasks, and the
generated Terraform (parsed back with python-hcl2). The examples that use all of it,
``configs/ml-training.yaml`` and ``configs/eks.yaml``, are applied on moto by
``tests/test_verify_e2e.py``; the moto gaps are asserted in ``test_moto_gaps_of_the_examples``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from batchform.build import analyze, analyze_text, render_environment
from batchform.diagnostics import Level
from batchform.hcl import Expr
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import verify_gaps
from batchform.sandbox.standins import (
    MOTO_REFUSES_ECS_PROPERTIES,
    refused_jobs,
    without_refused_jobs,
)
from tests.harness.small_env import blocks, unquote

MARK = "#!"
CLUSTER = "arn:aws:eks:us-west-2:123456789012:cluster/research"
EKS_LINE = f'eks: {{cluster: "{CLUSTER}", namespace: batch}}'
SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:t"
ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
compute_environments:
  ec2: {type: EC2, allocation_strategy: BEST_FIT_PROGRESSIVE, max_vcpus: 256, instance_types: [c6i]}
  spot: {type: SPOT, allocation_strategy: SPOT_CAPACITY_OPTIMIZED, max_vcpus: 64}
  fargate: {type: FARGATE, max_vcpus: 16}
  eks:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 64
    eks: {cluster: "arn:aws:eks:us-west-2:123456789012:cluster/research", namespace: batch}
  legacy:
    type: UNMANAGED
job_queues:
  main: {priority: 10, compute_environments: [ec2]}
  cheap: {priority: 5, compute_environments: [spot]}
  serverless: {priority: 5, compute_environments: [fargate]}
  pods: {priority: 5, compute_environments: [eks]}
  legacy: {priority: 1, compute_environments: [legacy]}
job_definitions:
  mpi:
    type: multinode
    image: example/mpi:1
    command: [mpirun, sim]
    vcpus: 4
    memory: 8 GiB
    nodes:
      count: 4
      main: 0
      ranges:
        - {nodes: "0", memory: 4 GiB}
        - {nodes: "1:", vcpus: 16, memory: 30 GiB}
  pipeline:
    platform: FARGATE
    containers:
      main:
        image: example/app:1
        vcpus: 1
        memory: 2 GiB
        depends_on: {setup: SUCCESS, sidecar: START}
      setup:
        image: example/setup:1
        essential: false
        vcpus: 0.5
        memory: 1 GiB
      sidecar:
        image: example/proxy:1
        essential: false
        vcpus: 0.5
        memory: 1 GiB
  pod:
    platform: EKS
    image: example/tool:3
    command: [tool]
    vcpus: 2
    memory: 4 GiB
    service_account: batch-jobs
    user: "1000"
schedules:
  nightly-mpi: {job_definition: mpi, queue: main, cron: "0 2 * * ? *"}
"""


def _ours(text: str) -> list[tuple[str, int | None, Level]]:
    analysis = analyze_text(text, "t.yaml")
    return [(d.code, d.line, d.level) for d in analysis.diagnostics if "BF540" <= d.code <= "BF559"]


def _marked_line(text: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if MARK in line]
    assert len(lines) == 1, "a bad case marks exactly one line"
    return lines[0]


def _edit(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, f"{new}  {MARK}", 1)


RANGE = '        - {nodes: "1:", vcpus: 16, memory: 30 GiB}'


def _range(nodes: str) -> str:
    return _edit(RANGE, RANGE.replace('"1:"', f'"{nodes}"'))


BAD: dict[str, tuple[str, str]] = {
    "multinode-without-nodes": (
        "BF540",
        GOOD.replace(
            "    nodes:\n      count: 4\n      main: 0\n      ranges:\n"
            '        - {nodes: "0", memory: 4 GiB}\n'
            '        - {nodes: "1:", vcpus: 16, memory: 30 GiB}\n',
            "",
        ).replace("    type: multinode", f"    type: multinode  {MARK}"),
    ),
    "range-syntax": ("BF541", _range("1-3")),
    "range-past-count": ("BF541", _range("1:4")),
    "range-backwards": ("BF541", _range("3:1")),
    "range-overlap": ("BF542", _range(":3")),
    "main-outside": ("BF543", _edit("      main: 0", "      main: 4")),
    "multinode-fargate": (
        "BF544",
        _edit("    type: multinode", "    type: multinode\n    platform: FARGATE").replace(
            f"multinode\n    platform: FARGATE  {MARK}", f"multinode\n    platform: FARGATE  {MARK}"
        ),
    ),
    "multinode-scheduled-on-spot": (
        "BF545",
        _edit(
            'nightly-mpi: {job_definition: mpi, queue: main, cron: "0 2 * * ? *"}',
            'nightly-mpi: {job_definition: mpi, queue: cheap, cron: "0 2 * * ? *"}',
        ),
    ),
    "multinode-array": (
        "BF545",
        _edit(
            'nightly-mpi: {job_definition: mpi, queue: main, cron: "0 2 * * ? *"}',
            'nightly-mpi: {job_definition: mpi, queue: main, cron: "0 2 * * ? *", array_size: 4}',
        ),
    ),
    "no-essential": (
        "BF547",
        GOOD.replace(
            "        depends_on: {setup: SUCCESS, sidecar: START}",
            "        depends_on: {setup: SUCCESS, sidecar: START}\n        essential: false",
        ).replace("    containers:", f"    containers:  {MARK}"),
    ),
    "unknown-dependency": (
        "BF548",
        _edit(
            "depends_on: {setup: SUCCESS, sidecar: START}",
            "depends_on: {setup: SUCCESS, sidecr: START}",
        ),
    ),
    "healthy": (
        "BF550",
        _edit(
            "depends_on: {setup: SUCCESS, sidecar: START}",
            "depends_on: {setup: SUCCESS, sidecar: HEALTHY}",
        ),
    ),
    "success-on-essential": (
        "BF551",
        GOOD.replace(
            "        image: example/setup:1\n        essential: false",
            "        image: example/setup:1\n        essential: true",
        ).replace(
            "depends_on: {setup: SUCCESS, sidecar: START}",
            f"depends_on: {{setup: SUCCESS, sidecar: START}}  {MARK}",
        ),
    ),
    "job-level-image": (
        "BF552",
        _edit(
            "    platform: FARGATE\n    containers:",
            "    platform: FARGATE\n    image: example/app:1\n    containers:",
        ).replace(
            f"    platform: FARGATE\n    image: example/app:1\n    containers:  {MARK}",
            f"    platform: FARGATE\n    image: example/app:1  {MARK}\n    containers:",
        ),
    ),
    "queue-mixes-eks": (
        "BF553",
        _edit(
            "pods: {priority: 5, compute_environments: [eks]}",
            "pods: {priority: 5, compute_environments: [eks, ec2]}",
        ),
    ),
    "too-many-ranges": (
        "BF554",
        GOOD.replace(
            "      count: 4\n      main: 0\n      ranges:\n"
            '        - {nodes: "0", memory: 4 GiB}\n'
            '        - {nodes: "1:", vcpus: 16, memory: 30 GiB}\n',
            "      count: 6\n      main: 0\n      ranges:\n"
            + "".join(f'        - {{nodes: "{i}"}}\n' for i in range(5))
            + f'        - {{nodes: "5"}}  {MARK}\n',
        ),
    ),
    "cluster-not-arn": (
        "BF555",
        _edit(
            EKS_LINE,
            "eks: {cluster: research, namespace: batch}",
        ),
    ),
    "cluster-other-region": (
        "BF555",
        _edit(
            EKS_LINE,
            EKS_LINE.replace("us-west-2", "eu-west-1"),
        ),
    ),
    "namespace": (
        "BF555",
        _edit(
            EKS_LINE,
            EKS_LINE.replace("namespace: batch", "namespace: Batch_Jobs"),
        ),
    ),
    "eks-on-fargate": (
        "BF556",
        GOOD.replace(
            "  eks:\n    type: EC2\n    allocation_strategy: BEST_FIT_PROGRESSIVE",
            f"  eks:\n    type: FARGATE  {MARK}",
        ),
    ),
    "unmanaged-max-vcpus": (
        "BF557",
        _edit("    type: UNMANAGED", "    type: UNMANAGED\n    max_vcpus: 16").replace(
            f"UNMANAGED\n    max_vcpus: 16  {MARK}", f"UNMANAGED\n    max_vcpus: 16  {MARK}"
        ),
    ),
    "eks-secrets": (
        "BF558",
        _edit(
            "    service_account: batch-jobs",
            f"    service_account: batch-jobs\n    secrets: {{T: {SECRET}}}",
        ),
    ),
    "eks-user-name": ("BF558", _edit('    user: "1000"', "    user: batch")),
    "service-account-off-eks": (
        "BF558",
        _edit(
            "    command: [mpirun, sim]",
            "    command: [mpirun, sim]\n    service_account: batch-jobs",
        ),
    ),
    "range-without-memory": (
        "BF559",
        GOOD.replace(
            "    vcpus: 4\n    memory: 8 GiB\n    nodes:", "    vcpus: 4\n    nodes:"
        ).replace(
            '        - {nodes: "1:", vcpus: 16, memory: 30 GiB}',
            f'        - {{nodes: "1:", vcpus: 16}}  {MARK}',
        ),
    ),
}


def test_the_good_file_is_clean() -> None:
    analysis = analyze_text(GOOD, "t.yaml")
    assert [d for d in analysis.diagnostics if d.level != Level.INFO] == []


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_case_is_reported_on_its_line(case: str) -> None:
    code, text = BAD[case]
    found = _ours(text)
    assert (code, _marked_line(text)) in [(c, line) for c, line, _ in found], found
    # and no other check crashes on it (BF443 once measured the absent node properties)
    crashed = [d.message for d in analyze_text(text, "t.yaml").diagnostics if d.code == "BF000"]
    assert crashed == []


def test_a_cycle_is_reported_once_with_its_path() -> None:
    text = GOOD.replace(
        "        image: example/proxy:1\n",
        "        image: example/proxy:1\n        depends_on: {main: START}\n",
    )
    analysis = analyze_text(text, "t.yaml")
    cycles = [d for d in analysis.diagnostics if d.code == "BF549"]
    assert len(cycles) == 1
    assert "main -> sidecar -> main" in cycles[0].message


def test_a_node_in_no_range_is_named() -> None:
    text = GOOD.replace('{nodes: "1:", vcpus: 16', '{nodes: "1:2", vcpus: 16')
    found = [d for d in analyze_text(text, "t.yaml").diagnostics if d.code == "BF542"]
    assert [d.message.split(" of job")[0] for d in found] == ["node 3"]


def test_no_queue_for_a_multinode_job_is_a_warning() -> None:
    text = GOOD.replace(
        "main: {priority: 10, compute_environments: [ec2]}",
        "main: {priority: 10, compute_environments: [spot]}",
    ).replace("queue: main", "queue: serverless")
    found = [
        (d.code, d.level) for d in analyze_text(text, "t.yaml").diagnostics if d.code == "BF546"
    ]
    assert found == [("BF546", Level.WARNING)]


# --- the model: which keys a job needs where --------------------------------------------------


def test_a_plain_job_without_image_is_a_located_missing_key() -> None:
    text = GOOD.replace("    image: example/tool:3\n", "")
    analysis = analyze_text(text, "t.yaml")
    assert analysis.env is None
    missing = [(d.code, d.message, d.line) for d in analysis.diagnostics]
    pod_line = text.splitlines().index("  pod:") + 1
    assert ("BF102", "missing required key 'image'", pod_line) in missing


def test_a_missing_key_is_reported_beside_the_jobs_other_errors() -> None:
    text = GOOD.replace("    image: example/tool:3\n", "").replace(
        "    vcpus: 2\n    memory: 4 GiB\n    service_account",
        "    vcpus: lots\n    memory: 4 GiB\n    service_account",
    )
    codes = {d.code for d in analyze_text(text, "t.yaml").diagnostics}
    assert codes == {"BF102", "BF103"}


def test_a_managed_ce_without_max_vcpus_is_a_missing_key_but_unmanaged_needs_none() -> None:
    text = GOOD.replace("  fargate: {type: FARGATE, max_vcpus: 16}", "  fargate: {type: FARGATE}")
    messages = [d.message for d in analyze_text(text, "t.yaml").diagnostics]
    assert "missing required key 'max_vcpus'" in messages


# --- checks that now see node ranges and summed tasks -----------------------------------------


def test_fargate_size_is_the_sum_over_containers() -> None:
    # 1 + 0.5 + 0.5 vCPU with 2 + 1 + 1 GiB is 2 vCPU / 4096 MiB: a Fargate size
    assert "BF423" not in {d.code for d in analyze_text(GOOD, "t.yaml").diagnostics}
    text = GOOD.replace(
        "        vcpus: 1\n        memory: 2 GiB\n        depends_on",
        "        vcpus: 1.5\n        memory: 2 GiB\n        depends_on",
    )
    found = [d for d in analyze_text(text, "t.yaml").diagnostics if d.code == "BF423"]
    assert [d.message for d in found] == [
        "Fargate job definition 'pipeline' (its containers together) asks for 2.5 vCPUs"
    ]


def test_a_node_range_that_fits_no_instance_is_reported_at_the_range() -> None:
    # without the UNMANAGED CE, whose instances batchform cannot know (fit is then unknown)
    text = GOOD.replace(
        '{nodes: "1:", vcpus: 16, memory: 30 GiB}', '{nodes: "1:", vcpus: 16, memory: 1000 GiB}'
    ).replace("  legacy: {priority: 1, compute_environments: [legacy]}\n", "")
    analysis = analyze_text(text, "t.yaml")
    found = [d for d in analysis.diagnostics if d.code == "BF480"]
    assert len(found) == 1
    assert found[0].message.startswith(
        "node range '1:' of job definition 'mpi' asks for 1024000 MiB"
    )
    assert (
        found[0].line
        == text.splitlines().index('        - {nodes: "1:", vcpus: 16, memory: 1000 GiB}') + 1
    )


def test_an_ec2_range_with_fractional_vcpus_is_reported_at_the_range() -> None:
    text = GOOD.replace('{nodes: "0", memory: 4 GiB}', '{nodes: "0", vcpus: 0.5}')
    found = [d for d in analyze_text(text, "t.yaml").diagnostics if d.code == "BF420"]
    assert [d.line for d in found] == [
        text.splitlines().index('        - {nodes: "0", vcpus: 0.5}') + 1
    ]


def test_eks_jobs_take_fractional_vcpus() -> None:
    text = GOOD.replace(
        "    vcpus: 2\n    memory: 4 GiB\n    service_account",
        "    vcpus: 0.5\n    memory: 4 GiB\n    service_account",
    )
    assert "BF420" not in {d.code for d in analyze_text(text, "t.yaml").diagnostics}


def test_an_eks_job_on_an_ecs_queue_is_refused_by_its_schedule() -> None:
    text = GOOD + '  pod-nightly: {job_definition: pod, queue: main, cron: "0 3 * * ? *"}\n'
    found = [d.message for d in analyze_text(text, "t.yaml").diagnostics if d.code == "BF507"]
    assert found == [
        "job definition 'pod' runs on EKS, but queue 'main' has no EKS compute environment: "
        "the job would stay RUNNABLE"
    ]


# --- the generated Terraform -------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    analysis = analyze_text(GOOD, "t.yaml")
    assert analysis.env is not None
    return render_environment(analysis.env, "t.yaml")


def _jsonencoded(value: Any) -> Any:
    text = unquote(value)
    assert isinstance(text, str) and text.startswith("${jsonencode(")
    return text


def test_a_multinode_job_has_node_properties_with_the_job_keys_as_defaults(
    rendered: dict[str, str],
) -> None:
    from batchform import derive

    env = analyze_text(GOOD, "t.yaml").env
    assert env is not None
    props = derive.node_properties(env, "mpi")
    assert props["numNodes"] == 4 and props["mainNode"] == 0
    first, rest = props["nodeRangeProperties"]
    assert first["targetNodes"] == "0" and rest["targetNodes"] == "1:"
    assert first["container"]["image"] == rest["container"]["image"] == "example/mpi:1"
    assert first["container"]["command"] == ["mpirun", "sim"]
    assert first["container"]["resourceRequirements"] == [
        {"type": "VCPU", "value": "4"},
        {"type": "MEMORY", "value": "4096"},
    ]
    assert rest["container"]["resourceRequirements"][0] == {"type": "VCPU", "value": "16"}
    job = blocks(rendered["job_definitions.tf"])["aws_batch_job_definition"]["mpi"]
    assert unquote(job["type"]) == "multinode"
    assert "node_properties" in job and "container_properties" not in job
    assert unquote(job["platform_capabilities"]) == ["EC2"]


def test_a_multi_container_job_has_ecs_properties(rendered: dict[str, str]) -> None:
    from batchform import derive

    env = analyze_text(GOOD, "t.yaml").env
    assert env is not None
    task = derive.ecs_properties(env, "pipeline")["taskProperties"][0]
    assert [c["name"] for c in task["containers"]] == ["main", "setup", "sidecar"]
    main = task["containers"][0]
    assert main["essential"] is True
    assert main["dependsOn"] == [
        {"condition": "SUCCESS", "containerName": "setup"},
        {"condition": "START", "containerName": "sidecar"},
    ]
    assert task["platformVersion"] == "LATEST"
    assert task["networkConfiguration"] == {"assignPublicIp": "DISABLED"}
    assert "executionRoleArn" in task
    job = blocks(rendered["job_definitions.tf"])["aws_batch_job_definition"]["pipeline"]
    assert "ecs_properties" in job and "container_properties" not in job
    assert unquote(job["platform_capabilities"]) == ["FARGATE"]


def test_an_eks_job_has_eks_properties_blocks(rendered: dict[str, str]) -> None:
    job = blocks(rendered["job_definitions.tf"])["aws_batch_job_definition"]["pod"]
    assert "platform_capabilities" not in job and "container_properties" not in job
    pod = unquote(job["eks_properties"][0]["pod_properties"][0])
    assert pod["service_account_name"] == "batch-jobs"
    assert pod["host_network"] is True
    container = pod["containers"][0]
    assert container["image"] == "example/tool:3"
    assert container["resources"][0]["limits"] == {"cpu": "2", "memory": "4096Mi"}
    assert container["security_context"][0] == {"run_as_user": 1000}
    assert "aws_cloudwatch_log_group" not in rendered["logs.tf"].split("job_pod")[0][-60:]
    assert '"job_pod"' not in rendered["logs.tf"]


def test_eks_and_unmanaged_compute_environments(rendered: dict[str, str]) -> None:
    ces = blocks(rendered["compute_environments.tf"])["aws_batch_compute_environment"]
    eks = ces["eks"]
    assert eks["eks_configuration"] == [
        {
            "eks_cluster_arn": "arn:aws:eks:us-west-2:123456789012:cluster/research",
            "kubernetes_namespace": "batch",
        }
    ]
    assert eks["compute_resources"][0]["ec2_configuration"] == [{"image_type": "EKS_AL2023"}]
    legacy = ces["legacy"]
    assert unquote(legacy["type"]) == "UNMANAGED"
    assert "compute_resources" not in legacy


def test_the_examples_match_the_provider_schema_blocks() -> None:
    """The provider 5.x schema takes eks_properties and eks_configuration as blocks and
    node_properties / ecs_properties as JSON strings (terraform providers schema -json of
    hashicorp/aws 5.100.0): ``tests/test_provider_schema.py`` checks every example against it;
    here, that the new examples hold each new argument at least once."""
    text = "".join(
        (ROOT / "generated" / name / "job_definitions.tf").read_text(encoding="utf-8")
        for name in ("ml-training", "research-eks")
    )
    for argument in (
        "node_properties = jsonencode(",
        "ecs_properties = jsonencode(",
        "eks_properties {",
    ):
        assert argument in text, argument
    ces = (ROOT / "generated" / "research-eks" / "compute_environments.tf").read_text("utf-8")
    assert "eks_configuration {" in ces and 'type                            = "UNMANAGED"' in ces


# --- moto gaps of the examples -------------------------------------------------------------------


def test_moto_gaps_of_the_examples() -> None:
    """Exactly the attributes moto 5.2.5 cannot store, per example (the e2e tests hold verify
    and the re-plan to these and nothing else)."""
    ml = analyze(ROOT / "configs" / "ml-training.yaml").env
    eks = analyze(ROOT / "configs" / "eks.yaml").env
    assert ml is not None and eks is not None
    assert set(verify_gaps(ml)) == {("job_definitions.mpi-sim", "nodeProperties")}
    assert set(verify_gaps(eks)) == {
        (f"compute_environments.{ce}", f"eksConfiguration.{attribute}")
        for ce in ("eks-ondemand", "eks-spot")
        for attribute in ("eksClusterArn", "kubernetesNamespace")
    }
    assert refused_jobs(ml) == ["preprocess"] and refused_jobs(eks) == []
    kept, unchecked = without_refused_jobs(ml)
    assert "preprocess" not in kept.job_definitions and len(unchecked) == 1


def test_json_documents_are_valid_json_for_jsonencode(rendered: dict[str, str]) -> None:
    from batchform import derive

    env = analyze_text(GOOD, "t.yaml").env
    assert env is not None
    for key in ("mpi", "pipeline"):
        name, document = derive.properties_document(env, key)
        json.dumps(document, default=str)
        assert name in ("nodeProperties", "ecsProperties")


def _plain_json(value: Any) -> Any:
    """A properties document with each Terraform reference replaced by an ARN-shaped string,
    as AWS would receive it after apply."""
    if isinstance(value, dict):
        return {k: _plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v) for v in value]
    if isinstance(value, Expr):
        return "arn:aws:iam::123456789012:role/stand-in"
    return value


@pytest.mark.e2e
@pytest.mark.xfail(strict=True, raises=ClientError, reason=MOTO_REFUSES_ECS_PROPERTIES)
def test_moto_registers_the_multi_container_job_of_the_example(moto_session: MotoServer) -> None:
    """The one part of configs/ml-training.yaml the e2e deployment leaves out
    (tests/harness/deploy.py, as the sandbox does): moto refuses ecsProperties. The day moto
    stores them this fails, and the exclusion can go."""
    from batchform import derive

    env = analyze(ROOT / "configs" / "ml-training.yaml").env
    assert env is not None
    batch = moto_session.client("batch", region=env.region)
    batch.register_job_definition(
        jobDefinitionName="ml-training-preprocess-moto-probe",
        type="container",
        platformCapabilities=["FARGATE"],
        ecsProperties=_plain_json(derive.ecs_properties(env, "preprocess")),
    )


# --- diff: what replaces a resource ---------------------------------------------------------------


def _diff_actions(old_text: str, new_text: str) -> dict[str, str]:
    from batchform.diff import diff_environments

    old = analyze_text(old_text, "t.yaml").env
    new = analyze_text(new_text, "t.yaml").env
    assert old is not None and new is not None
    return {c.address: c.action for c in diff_environments(old, new).changes}


def test_a_new_namespace_replaces_the_eks_compute_environment() -> None:
    """eks_configuration and its arguments are ForceNew
    (internal/service/batch/compute_environment.go): even an updatable CE is replaced."""
    new = GOOD.replace("namespace: batch}", "namespace: batch-2}")
    found = _diff_actions(GOOD, new)
    assert found["aws_batch_compute_environment.eks"] == "replace"


def test_a_new_node_range_is_a_new_job_definition_revision() -> None:
    new = GOOD.replace('{nodes: "0", memory: 4 GiB}', '{nodes: "0", memory: 6 GiB}')
    found = _diff_actions(GOOD, new)
    assert found["aws_batch_job_definition.mpi"] in ("update", "replace")
    # the new revision's ARN reaches the schedule that submits it and the scheduler's policy
    assert found == {
        "aws_batch_job_definition.mpi": found["aws_batch_job_definition.mpi"],
        "aws_scheduler_schedule.nightly_mpi": "update",
        "aws_iam_role_policy.scheduler_submit": "update",
    }


# --- verify: each new attribute compared, normalised as containerProperties are ---------------


def _job_check(key: str, edit: Any) -> list[str]:
    """The attributes verify reports for job ``key`` of GOOD when AWS holds the planned
    document changed by ``edit`` (references stand in as ARN-shaped strings on both sides)."""
    import copy

    from batchform.plan import build_plan
    from batchform.verify import batch as batch_checks
    from batchform.verify.result import ResourceCheck

    env = analyze_text(GOOD, "t.yaml").env
    assert env is not None
    files = build_plan(env, "t.yaml").files
    ctx = next(j for j in files["job_definitions.tf"]["jobs"] if j["label"] == key)
    planned = _plain_json(
        {
            "nodeProperties": ctx["node_properties"],
            "ecsProperties": ctx["ecs_properties"],
        }
    )
    actual = copy.deepcopy({k: v for k, v in planned.items() if v is not None})
    if ctx["eks_properties"] is not None:
        block = ctx["eks_properties"]["containers"][0]
        actual["eksProperties"] = {
            "podProperties": {
                "hostNetwork": True,
                "serviceAccountName": ctx["eks_properties"]["service_account_name"],
                "containers": [
                    {
                        "name": "main",
                        "image": block["image"],
                        "command": block.get("command"),
                        "resources": block["resources"],
                        # the provider sends every boolean of the block
                        "securityContext": {
                            "runAsUser": 1000,
                            "privileged": False,
                            "runAsNonRoot": False,
                        },
                    }
                ],
            }
        }
    edit(actual)

    class _Live:
        @staticmethod
        def resolve(value: Any) -> Any:
            return _plain_json(value)

    check = ResourceCheck("job_definitions", key)
    batch_checks.compare_properties(check, _Live(), ctx, actual)  # type: ignore[arg-type]
    return [d.attribute for d in check.differences]


def _nothing(actual: dict[str, Any]) -> None:
    pass


@pytest.mark.parametrize("key", ["mpi", "pipeline", "pod"])
def test_verify_finds_no_drift_in_what_was_planned(key: str) -> None:
    assert _job_check(key, _nothing) == []


def test_verify_names_a_changed_node_range() -> None:
    def edit(actual: dict[str, Any]) -> None:
        ranges = actual["nodeProperties"]["nodeRangeProperties"]
        ranges[1]["targetNodes"] = "1:2"
        ranges[0]["container"]["image"] = "example/mpi:2"

    assert _job_check("mpi", edit) == [
        "nodeProperties.nodeRangeProperties[0].container.image",
        "nodeProperties.nodeRangeProperties[1].targetNodes",
    ]


def test_verify_names_a_changed_or_extra_container() -> None:
    def edit(actual: dict[str, Any]) -> None:
        task = actual["ecsProperties"]["taskProperties"][0]
        task["containers"][2]["essential"] = True
        task["containers"].append({"name": "intruder", "image": "x"})

    assert _job_check("pipeline", edit) == [
        "ecsProperties.taskProperties[0].containers[sidecar].essential",
        "ecsProperties.taskProperties[0].containers[intruder]",
    ]


def test_verify_names_a_changed_pod() -> None:
    def edit(actual: dict[str, Any]) -> None:
        pod = actual["eksProperties"]["podProperties"]
        pod["serviceAccountName"] = "default"
        pod["containers"][0]["securityContext"]["privileged"] = True

    assert _job_check("pod", edit) == [
        "eksProperties.podProperties.serviceAccountName",
        "eksProperties.podProperties.containers[0].securityContext",
    ]


def test_propagate_tags_never_reaches_an_eks_job() -> None:
    """AWS refuses propagateTags on EKS job definitions (RegisterJobDefinition): the job's own
    key is BF558, a job_defaults one is left out of the EKS job."""
    own = GOOD.replace(
        "    service_account: batch-jobs",
        "    service_account: batch-jobs\n    propagate_tags: true",
    )
    assert "BF558" in {d.code for d in analyze_text(own, "t.yaml").diagnostics}
    inherited = GOOD.replace(
        "job_definitions:\n", "job_defaults:\n  propagate_tags: true\njob_definitions:\n"
    )
    analysis = analyze_text(inherited, "t.yaml")
    assert analysis.env is not None
    jobs = blocks(render_environment(analysis.env, "t.yaml")["job_definitions.tf"])
    assert jobs["aws_batch_job_definition"]["pod"]["propagate_tags"] is False
    assert jobs["aws_batch_job_definition"]["mpi"]["propagate_tags"] is True


def test_a_huge_node_count_is_judged_without_walking_the_nodes() -> None:
    """Hostile input: 2**31 - 1 nodes with one open range is judged by interval arithmetic
    (a walk over the nodes would not finish), and a gap in such a job is named as a span."""
    big = GOOD.replace("      count: 4", "      count: 2147483647")
    codes = {d.code for d in analyze_text(big, "t.yaml").diagnostics}
    assert "BF542" not in codes
    gap = big.replace('{nodes: "1:", vcpus: 16', '{nodes: "1:99", vcpus: 16')
    found = [d.message for d in analyze_text(gap, "t.yaml").diagnostics if d.code == "BF542"]
    assert found == [
        "nodes 100 to 2147483646 of job definition 'mpi' are in no node range, so AWS has no "
        "container to run there"
    ]


def test_a_long_dependency_chain_is_checked_without_a_crash() -> None:
    """Hostile input: 3000 containers in one chain and a cycle back to the first; the cycle
    check walks it without recursion (no BF000 "a check crashed")."""
    names = [f"c{i}" for i in range(3000)]
    lines = ["  chain:", "    platform: EC2", "    containers:"]
    for i, name in enumerate(names):
        after = names[(i + 1) % len(names)]
        lines += [
            f"      {name}:",
            "        image: example/app:1",
            "        vcpus: 1",
            "        memory: 1 GiB",
            f"        depends_on: {{{after}: START}}",
        ]
    # the job goes last under job_definitions, just before the schedules section
    text = GOOD.replace("schedules:\n", "\n".join(lines) + "\nschedules:\n", 1)
    codes = [d.code for d in analyze_text(text, "t.yaml").diagnostics]
    assert "BF000" not in codes
    assert codes.count("BF549") == 1 and "BF547" in codes  # the cycle, and over 10 containers


def test_the_readme_submits_each_job_where_it_can_run() -> None:
    """The generated README's submit-job lines: the GPU job on the GPU queue (not the
    higher-priority Graviton one), the multi-node job on On-Demand EC2, the multi-container job
    on Fargate; and the EKS cluster's prerequisites listed once per step."""
    ml = (ROOT / "generated" / "ml-training" / "README.md").read_text(encoding="utf-8")
    assert "--job-queue ml-training-gpu --job-definition ml-training-finetune" in ml
    assert "--job-queue ml-training-mpi --job-definition ml-training-mpi-sim" in ml
    assert "--job-queue ml-training-preprocess --job-definition ml-training-preprocess" in ml
    eks = (ROOT / "generated" / "research-eks" / "README.md").read_text(encoding="utf-8")
    assert "--job-queue research-eks-eks --job-definition research-eks-tool" in eks
    assert eks.count("AWSServiceRoleForBatch") == 1 and "EC2_LINUX" in eks


def test_an_unmanaged_only_environment_makes_no_instance_role_or_security_group() -> None:
    """An UNMANAGED CE's instances are its owner's: batchform generates neither the ECS
    instance role and profile nor the `<name>-batch` security group for it, and asks for no
    security group (BF207 is for managed CEs)."""
    text = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
compute_environments:
  legacy: {type: UNMANAGED}
job_queues:
  legacy: {priority: 1, compute_environments: [legacy]}
job_definitions:
  hello: {image: busybox, vcpus: 1, memory: 512}
"""
    analysis = analyze_text(text, "t.yaml")
    assert analysis.env is not None
    assert [d.code for d in analysis.diagnostics if d.level != Level.INFO] == []
    files = render_environment(analysis.env, "t.yaml")
    assert "iam.tf" not in files and "security_groups.tf" not in files
    ce = blocks(files["compute_environments.tf"])["aws_batch_compute_environment"]["legacy"]
    assert "depends_on" not in ce and "compute_resources" not in ce


def test_a_container_log_secret_gives_an_ec2_task_its_execution_role() -> None:
    """The ECS agent reads a log driver's secret options with the execution role, as it reads
    the containers' secrets (Batch User Guide, "Specifying sensitive data"): a multi-container
    EC2 task whose only secret is a container's splunk token still needs the role, and the
    role's policy may read exactly that secret."""
    from batchform.derive import ecs_properties
    from batchform.plan import iam

    text = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
compute_environments:
  ec2: {type: EC2, allocation_strategy: BEST_FIT_PROGRESSIVE, max_vcpus: 16, instance_types: [c6i]}
job_queues:
  main: {priority: 1, compute_environments: [ec2]}
job_definitions:
  pair:
    containers:
      app: {image: busybox, vcpus: 1, memory: 1 GiB}
      shipper:
        image: busybox
        vcpus: 1
        memory: 1 GiB
        essential: false
        log:
          driver: splunk
          options: {splunk-url: "https://splunk.example.com:8088"}
          secret_options: {splunk-token: SECRET}
""".replace("SECRET", SECRET)
    analysis = analyze_text(text, "pair.yaml")
    assert analysis.env is not None, analysis.diagnostics
    task = ecs_properties(analysis.env, "pair")["taskProperties"][0]
    assert str(task["executionRoleArn"]) == "aws_iam_role.execution.arn"
    policy = iam.execution_secrets_policy(analysis.env)
    assert policy is not None and SECRET in str(policy)


def test_nodes_of_an_eks_compute_environment_get_the_eks_node_policies() -> None:
    """An EKS node joins the cluster, runs the VPC CNI and pulls images with its instance role
    (https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html); the role batchform
    generates carries those policies only when a compute environment joins an EKS cluster."""
    from batchform.plan import iam

    def attached(text: str) -> list[str]:
        analysis = analyze_text(text, "eks.yaml")
        assert analysis.env is not None, analysis.diagnostics
        roles = iam.plan(analysis.env)["iam.tf"]["roles"]
        instance = next(r for r in roles if r["label"] == "ecs_instance")
        return [a["label"] for a in instance["managed_policy_attachments"]]

    eks = attached(GOOD)
    assert eks[:3] == [
        "ecs_instance_AmazonEKSWorkerNodePolicy",
        "ecs_instance_AmazonEKS_CNI_Policy",
        "ecs_instance_AmazonEC2ContainerRegistryReadOnly",
    ]
    without = GOOD.replace(f"    {EKS_LINE}\n", "")
    assert without != GOOD
    assert not any("EKS" in label for label in attached(without))


def test_verify_reports_a_detached_eks_node_policy() -> None:
    """The EKS node policies are AWS managed, written as a template of the partition: verify
    matches them by name and reports one detached out of band."""
    from batchform.plan import build_plan
    from batchform.verify.fetch import RoleInfo
    from batchform.verify.infra import _role_options
    from batchform.verify.result import ResourceCheck

    analysis = analyze_text(GOOD, "eks.yaml")
    assert analysis.env is not None
    roles = build_plan(analysis.env, "eks.yaml").files["iam.tf"]["roles"]
    ctx = next(r for r in roles if r["label"] == "ecs_instance")
    arn = "arn:aws:iam::aws:policy/"
    names = (
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    )
    attached = tuple(arn + n for n in names)
    check = ResourceCheck("role", "ecs-instance", "r")
    _role_options(check, ctx, RoleInfo("r", "arn", {}, attached, (), {}, "/", None))
    assert check.differences == []
    check = ResourceCheck("role", "ecs-instance", "r")
    _role_options(check, ctx, RoleInfo("r", "arn", {}, attached[1:], (), {}, "/", None))
    assert [d.attribute for d in check.differences] == [
        "AttachedPolicies.AmazonEKSWorkerNodePolicy"
    ]
