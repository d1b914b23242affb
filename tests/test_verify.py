"""``batchform verify`` without Terraform: resources created directly through boto3 in moto,
a fake Batch API that enforces the 100-per-call limits (to count describe calls), and the
report renderings. The end-to-end drift tests after a real ``terraform apply`` are in
``test_verify_e2e.py``.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar

import boto3
import botocore.session
import jsonschema
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from batchform import naming
from batchform.build import analyze_text
from batchform.model import Environment
from batchform.report.verify import format_text
from batchform.sandbox.emulator import MotoServer, free_port, moto_server
from batchform.verify import Clients, gather, verify
from batchform.verify import batch as batch_checks
from batchform.verify.batch import normalise_container
from batchform.verify.clients import (
    IAM_POLICY_ACTIONS,
    SERVICES,
    ReadOnlyViolation,
    is_read_only,
    make_clients,
    use_plain_json,
)
from batchform.verify.command import VerifyOptions, run
from batchform.verify.desired import Desired
from batchform.verify.gather import ROLE_CALLS_AT_ONCE, role_calls, role_reads
from batchform.verify.infra import subnet_egress
from batchform.verify.live import Live
from batchform.verify.result import Report, ResourceCheck, Status
from tests.harness import aws

REGION = "us-west-2"
SERVICE_PREFIX = {"batch": "batch", "ec2": "ec2", "iam": "iam", "logs": "logs", "ssm": "ssm"}

UNIT_ENV = """\
version: 1
name: unit
region: us-west-2
tags: {{team: genomics}}
network:
  vpc:
    existing: {{vpc_id: {vpc}, private_subnets: [{subnet}]}}
  security_groups:
    batch: {{description: Batch instances}}
scheduling_policies:
  fair:
    share_decay: 1h
    shares:
      - {{identifier: labA, weight: 1.0}}
job_definitions:
  hello:
    image: public.ecr.aws/docker/library/busybox:1.36
    command: [echo, Ref::who]
    parameters: {{who: world}}
    vcpus: 1
    memory: 512
    environment: {{B_VAR: "2", A_VAR: "1"}}
    retry: {{attempts: 2}}
    timeout: 10m
    log_retention_days: 14
"""


def checked_env(text: str) -> Environment:
    analysis = analyze_text(text, "unit.yaml")
    assert not analysis.failed(), [d.message for d in analysis.diagnostics]
    assert analysis.env is not None
    return analysis.env


def clients_for(server: MotoServer, config: Config | None = None) -> Clients:
    session = server.session()
    made = {s: session.client(s, endpoint_url=server.url, config=config) for s in SERVICES}
    return Clients(**made)


# --- a small environment deployed with boto3 -------------------------------------------------


def deploy_unit(server: MotoServer, text: str = UNIT_ENV) -> Environment:
    """The network (an existing VPC), the scheduling policy, the roles, log groups and job
    definitions of ``text`` (``UNIT_ENV`` by default), created the way the generated Terraform
    would create them."""
    ec2 = server.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    env = checked_env(text.format(vpc=vpc, subnet=subnet))
    desired = Desired(env)
    for sg in desired.security_groups:
        group = ec2.create_security_group(
            GroupName=sg["name"],
            Description=sg["description"],
            VpcId=vpc,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [
                        {"Key": k, "Value": v} for k, v in desired.expected_tags(sg["tags"]).items()
                    ],
                }
            ],
        )
        del group
    batch = server.client("batch")
    for policy in desired.scheduling_policies:
        batch.create_scheduling_policy(
            name=policy["name"],
            fairsharePolicy={
                "shareDecaySeconds": policy["share_decay_seconds"],
                "computeReservation": policy["compute_reservation"],
                "shareDistribution": [
                    {"shareIdentifier": s["share_identifier"], "weightFactor": s["weight_factor"]}
                    for s in policy["shares"]
                ],
            },
            tags=desired.expected_tags(policy["tags"]),
        )
    logs = server.client("logs")
    values: aws.Values = {}
    aws.create_roles(env, server, values)
    log_groups, job_definitions = aws.job_contexts(env)
    for group in log_groups:
        aws.create_log_group(logs, env, group, values)
    for job in job_definitions:
        request = aws.job_definition_request(env, job, values)
        server.client("batch").register_job_definition(**request)
    return env


def register(
    server: MotoServer, env: Environment, key: str, keep_previous: bool = False, **container: Any
) -> dict[str, Any]:
    """Register a new revision of job definition ``key`` as the compiler writes it
    (``container`` overrides) and, as the provider does on update unless
    ``deregister_on_new_revision`` is false, deregister the revision it replaces."""
    log_groups, _ = aws.job_contexts(env)
    values = {f"aws_cloudwatch_log_group.{g['label']}.name": g["name"] for g in log_groups}
    context = aws.job_context(env, key)
    batch = server.client("batch")
    previous = batch.describe_job_definitions(jobDefinitionName=context["name"], status="ACTIVE")
    request = aws.job_definition_request(env, context, values, **container)
    registered = dict(batch.register_job_definition(**request))
    for old in [] if keep_previous else previous["jobDefinitions"]:
        batch.deregister_job_definition(jobDefinition=old["jobDefinitionArn"])
    return registered


def differences(report: Report) -> set[tuple[str, str]]:
    return {(r.title, d.attribute) for r in report.resources for d in r.differences}


@pytest.fixture
def unit(moto: MotoServer) -> tuple[MotoServer, Environment]:
    return moto, deploy_unit(moto)


def test_a_deployed_environment_is_in_sync(unit: tuple[MotoServer, Environment]) -> None:
    server, env = unit
    report = verify(env, clients_for(server))
    assert differences(report) == set(), format_text(report)
    assert report.exit_code == 0
    hello = report.find("job_definitions", "hello")
    assert hello is not None and hello.name == "unit-hello:1"
    assert "containerProperties.image" in hello.checked


def test_variable_order_empty_lists_and_aws_defaults_are_not_drift(
    unit: tuple[MotoServer, Environment],
) -> None:
    """A revision registered with variables in another order, explicit empty lists and values
    AWS fills in by itself means the same container: no drift."""
    server, env = unit
    register(
        server,
        env,
        "hello",
        environment=[{"name": "B_VAR", "value": "2"}, {"name": "A_VAR", "value": "1"}],
        volumes=[],
        mountPoints=[],
        ulimits=[],
        privileged=False,
    )
    report = verify(env, clients_for(server))
    assert report.exit_code == 0, format_text(report)
    assert report.find("job_definitions", "hello").name == "unit-hello:2"  # type: ignore[union-attr]


def test_a_new_revision_with_another_image_is_drift(unit: tuple[MotoServer, Environment]) -> None:
    server, env = unit
    register(server, env, "hello", image="public.ecr.aws/docker/library/busybox:latest")
    report = verify(env, clients_for(server))
    assert report.exit_code == 2
    assert differences(report) == {("job_definitions.hello", "containerProperties.image")}
    hello = report.find("job_definitions", "hello")
    assert hello is not None and hello.name == "unit-hello:2"
    assert hello.differences[0].actual == "public.ecr.aws/docker/library/busybox:latest"


def test_an_older_revision_left_active_is_reported_unless_revisions_are_kept(
    unit: tuple[MotoServer, Environment],
) -> None:
    """On update the provider deregisters the revision it replaces unless
    deregister_on_new_revision is false (internal/service/batch/job_definition.go): an older
    ACTIVE revision was registered around Terraform (or kept before the file stopped keeping
    them), and jobs can still be submitted to it. With keep_old_revisions it is expected."""
    server, env = unit
    register(server, env, "hello", keep_previous=True)
    report = verify(env, clients_for(server))
    assert report.exit_code == 2
    assert differences(report) == {("job_definitions.hello (older revision)", "")}
    older = report.find("job_definitions", "hello (older revision)")
    assert older is not None and older.name == "unit-hello:1"
    assert older.status == Status.UNMANAGED
    assert "keep_old_revisions" in (older.differences[0].reason or "")
    assert report.find("job_definitions", "hello").name == "unit-hello:2"  # type: ignore[union-attr]

    kept = env.model_copy(
        update={
            "job_definitions": {
                k: j.model_copy(update={"keep_old_revisions": True})
                for k, j in env.job_definitions.items()
            }
        }
    )
    report = verify(kept, clients_for(server))
    assert report.exit_code == 0, format_text(report)


def test_a_deregistered_job_definition_is_missing(unit: tuple[MotoServer, Environment]) -> None:
    server, env = unit
    batch = server.client("batch")
    arn = batch.describe_job_definitions(jobDefinitionName="unit-hello")["jobDefinitions"][0]
    batch.deregister_job_definition(jobDefinition=arn["jobDefinitionArn"])
    report = verify(env, clients_for(server))
    assert report.exit_code == 2
    assert report.find("job_definitions", "hello").status == Status.MISSING  # type: ignore[union-attr]


def test_changed_shares_and_tags_name_the_attribute(unit: tuple[MotoServer, Environment]) -> None:
    server, env = unit
    batch = server.client("batch")
    arn = batch.list_scheduling_policies()["schedulingPolicies"][0]["arn"]
    batch.update_scheduling_policy(
        arn=arn,
        fairsharePolicy={
            "shareDecaySeconds": 3600,
            "computeReservation": 0,
            "shareDistribution": [{"shareIdentifier": "labA", "weightFactor": 0.5}],
        },
    )
    batch.tag_resource(resourceArn=arn, tags={"team": "physics"})
    report = verify(env, clients_for(server))
    assert differences(report) == {
        ("scheduling_policies.fair", "fairsharePolicy.shareDistribution"),
        ("scheduling_policies.fair", "tags.team"),
    }
    text = format_text(report)
    assert "tags.team" in text and "genomics" in text and "physics" in text


def test_a_tagged_resource_the_file_does_not_declare_is_reported(
    unit: tuple[MotoServer, Environment],
) -> None:
    server, env = unit
    server.client("batch").create_scheduling_policy(
        name="unit-legacy",
        tags={naming.TAG_ENVIRONMENT: "unit", naming.TAG_KEY: "legacy"},
    )
    server.client("batch").create_scheduling_policy(name="unit-unrelated")  # no batchform tags
    report = verify(env, clients_for(server))
    legacy = report.find("scheduling_policies", "legacy")
    assert legacy is not None and legacy.status == Status.UNMANAGED
    assert report.find("scheduling_policies", "unrelated") is None
    assert report.exit_code == 2


def test_nothing_deployed_reports_every_resource_missing(moto: MotoServer) -> None:
    ec2 = moto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    env = checked_env(UNIT_ENV.format(vpc=vpc, subnet=subnet))
    report = verify(env, clients_for(moto))
    assert report.exit_code == 2
    missing = {r.title for r in report.resources if r.status == Status.MISSING}
    assert missing == {
        "job_definitions.hello",
        "log_groups.hello",
        "scheduling_policies.fair",
        "security_groups.batch",
    }


def test_verify_sarif_written_by_the_command_points_at_each_missing_key(
    moto: MotoServer, tmp_path: Any
) -> None:
    """``verify --format sarif -o FILE`` on an empty account: one result per missing
    resource, each at the line of its key in the file, and the log valid SARIF 2.1.0."""
    ec2 = moto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    config = tmp_path / "unit.yaml"
    config.write_text(UNIT_ENV.format(vpc=vpc, subnet=subnet))
    output = tmp_path / "reports" / "verify.sarif"
    out, err = io.StringIO(), io.StringIO()
    options = VerifyOptions(config=str(config), format="sarif", output=str(output))
    assert run(options, out, err, clients_for(moto)) == 2
    assert out.getvalue() == f"drift found: report written to {output}\n"
    log = json.loads(output.read_text())
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    lines = UNIT_ENV.splitlines()
    located = {}
    for result in log["runs"][0]["results"]:
        assert result["ruleId"] == "verify/missing" and result["level"] == "error"
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"].endswith("unit.yaml")
        name = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        located[name] = lines[physical["region"]["startLine"] - 1].strip()
    assert located["unit.job_definitions.hello"] == "hello:"
    assert located["unit.scheduling_policies.fair"] == "fair:"
    assert located["unit.security_groups.batch"].startswith("batch:")


# --- read-only ---------------------------------------------------------------------------------


def test_every_call_is_read_only_and_allowed_by_the_printed_policy(
    unit: tuple[MotoServer, Environment],
) -> None:
    server, env = unit
    clients = clients_for(server)
    called: list[tuple[str, str]] = []
    for service in SERVICES:
        client = getattr(clients, service)
        client.meta.events.register(
            "before-call",
            lambda model, service=service, **_: called.append((service, model.name)),
        )
    verify(env, clients)
    assert called, "verify made no AWS call at all"
    writes = [op for _, op in called if not is_read_only(op)]
    assert writes == []
    actions = {f"{SERVICE_PREFIX[s]}:{op}" for s, op in called}
    assert actions <= set(IAM_POLICY_ACTIONS), actions - set(IAM_POLICY_ACTIONS)


def test_clients_refuse_a_write_before_it_is_sent(moto: MotoServer) -> None:
    clients = make_clients(region=REGION, endpoint_url=moto.url)
    with pytest.raises(ReadOnlyViolation, match="CreateSchedulingPolicy"):
        clients.batch.create_scheduling_policy(name="should-not-exist")
    assert moto.client("batch").list_scheduling_policies()["schedulingPolicies"] == []


def test_print_iam_policy_lists_only_read_actions(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(VerifyOptions(config=None, print_iam_policy=True)) == 0
    policy = json.loads(capsys.readouterr().out)
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == list(IAM_POLICY_ACTIONS)
    assert all(is_read_only(a.split(":", 1)[1]) for a in statement["Action"])
    assert not any("*" in a for a in statement["Action"])


# --- incomplete checks -------------------------------------------------------------------------


def deny(client: Any, operation: str) -> None:
    """Make ``client`` answer ``operation`` the way AWS answers a caller without permission."""

    def handler(model: Any, **_: Any) -> Any:
        if model.name != operation:
            return None
        http = AWSResponse("https://aws.invalid/", 400, {}, None)
        parsed = {
            "Error": {
                "Code": "AccessDeniedException",
                "Message": f"User: arn:aws:iam::123456789012:user/ci is not authorized to "
                f"perform: {operation}",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return http, parsed

    client.meta.events.register_first("before-call", handler)


def test_access_denied_makes_the_check_incomplete_not_missing(
    unit: tuple[MotoServer, Environment], tmp_path: Any
) -> None:
    server, env = unit
    clients = clients_for(server)
    deny(clients.logs, "DescribeLogGroups")
    report = verify(env, clients)
    assert report.exit_code == 1
    assert report.incomplete == [
        "logs:DescribeLogGroups failed: AccessDeniedException: User: "
        "arn:aws:iam::123456789012:user/ci is not authorized to perform: DescribeLogGroups"
    ]
    logs = report.find("log_groups", "hello")
    assert logs is not None and logs.status == Status.UNCHECKED and not logs.differences
    assert report.find("job_definitions", "hello").status == Status.IN_SYNC  # type: ignore[union-attr]

    config = tmp_path / "unit.yaml"
    vpc = env.network.vpc.existing
    assert vpc is not None
    config.write_text(UNIT_ENV.format(vpc=vpc.vpc_id, subnet=vpc.private_subnets[0]))
    out, err = io.StringIO(), io.StringIO()
    assert run(VerifyOptions(config=str(config)), out, err, clients) == 1
    assert "INCOMPLETE" in out.getvalue() and "AccessDeniedException" in out.getvalue()
    assert "Traceback" not in out.getvalue() + err.getvalue()
    assert err.getvalue() == ""  # not a terminal: no progress output


def test_an_endpoint_that_dies_mid_run_makes_the_check_incomplete() -> None:
    """A private moto server answers exactly one call and is then stopped; every other call
    waits for that. The rest of the run reports what it could not read (later calls to a dead
    service are not even attempted) and exits 1; nothing is reported missing."""
    fast = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1)
    first = threading.Lock()
    stopped = threading.Event()
    answered: list[str] = []
    with ExitStack() as stack:
        server = stack.enter_context(moto_server())
        env = deploy_unit(server)
        clients = clients_for(server, fast)

        def one_call_then_wait(model: Any, **_: Any) -> None:
            if first.acquire(blocking=False):
                answered.append(model.name)
                return
            stopped.wait(timeout=60)

        def stop_server(**_: Any) -> None:
            if not stopped.is_set():
                stack.close()
                stopped.set()

        for service in SERVICES:
            events = getattr(clients, service).meta.events
            events.register("before-call", one_call_then_wait)
            events.register("after-call", stop_server)
        report = verify(env, clients)
    assert report.exit_code == 1
    assert len(answered) == 1
    assert any("unreachable" in item for item in report.incomplete)
    statuses = {r.title: r.status for r in report.resources}
    assert set(statuses.values()) <= {Status.UNCHECKED, Status.IN_SYNC}, format_text(report)
    assert list(statuses.values()).count(Status.UNCHECKED) >= len(statuses) - 1


def test_an_endpoint_that_never_answers_exits_1_with_a_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    fast = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    clients = Clients(**{s: session.client(s, endpoint_url=url, config=fast) for s in SERVICES})
    env = checked_env(
        UNIT_ENV.format(vpc="vpc-0123456789abcdef0", subnet="subnet-0123456789abcdef0")
    )
    report = verify(env, clients)
    assert report.exit_code == 1
    assert report.resources and all(r.status == Status.UNCHECKED for r in report.resources)
    assert any(
        item.startswith(
            "batch:DescribeComputeEnvironments failed: the batch endpoint is unreachable"
        )
        for item in report.incomplete
    )


# --- describe call budget ----------------------------------------------------------------------

PAGE_LIMIT = 100


class FakeBatch:
    """Answers the Batch describe/list calls like AWS: pages of at most 100, at most 100 names
    or ARNs per call (more is a ``ClientException``), unknown names simply absent."""

    LISTS: ClassVar[dict[str, tuple[str, str | None, str]]] = {
        "DescribeComputeEnvironments": (
            "computeEnvironments",
            "computeEnvironments",
            "computeEnvironmentName",
        ),
        "DescribeJobQueues": ("jobQueues", "jobQueues", "jobQueueName"),
        "DescribeJobDefinitions": ("jobDefinitions", "jobDefinitions", "jobDefinitionName"),
        "ListSchedulingPolicies": ("schedulingPolicies", None, "arn"),
    }

    def __init__(self, data: dict[str, list[dict[str, Any]]]):
        self.data = data
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        self.calls[model.name] += 1
        body = json.loads(params.get("body") or b"{}")
        http = AWSResponse("https://batch.invalid/", 200, {}, None)
        if model.name == "DescribeSchedulingPolicies":
            assert len(body["arns"]) <= PAGE_LIMIT
            found = [p for p in self.data["DescribeSchedulingPolicies"] if p["arn"] in body["arns"]]
            return http, {"schedulingPolicies": found}
        result_key, names_key, name_field = self.LISTS[model.name]
        items = self.data[model.name]
        if names_key and body.get(names_key):
            assert len(body[names_key]) <= PAGE_LIMIT, "more than 100 names in one call"
            items = [i for i in items if i[name_field] in body[names_key]]
        if body.get("status"):
            items = [i for i in items if i.get("status") == body["status"]]
        if body.get("jobDefinitionName"):
            items = [i for i in items if i["jobDefinitionName"] == body["jobDefinitionName"]]
        size = body.get("maxResults") or PAGE_LIMIT
        assert size <= PAGE_LIMIT
        start = int(body.get("nextToken") or 0)
        page: dict[str, Any] = {result_key: items[start : start + size]}
        if start + size < len(items):
            page["nextToken"] = str(start + size)
        return http, page


def big_environment(ces: int, queues: int, job_definitions: int) -> str:
    lines = [
        "version: 1",
        "name: big",
        "region: us-west-2",
        "network:",
        "  vpc:",
        "    existing:",
        "      vpc_id: vpc-0123456789abcdef0",
        "      private_subnets: [subnet-0123456789abcdef0]",
        "  security_groups:",
        "    tasks: {description: Fargate tasks}",
        "compute_environments:",
    ]
    lines += [f"  ce{i}: {{type: FARGATE, max_vcpus: 16}}" for i in range(ces)]
    lines.append("job_queues:")
    lines += [
        f"  q{i}: {{priority: {i}, compute_environments: [ce{i % ces}]}}" for i in range(queues)
    ]
    lines.append("job_definitions:")
    lines += [
        f"  job{i}: {{image: busybox, command: [echo, '{i}'], vcpus: 1, memory: 512}}"
        for i in range(job_definitions)
    ]
    return "\n".join(lines) + "\n"


def fake_deployment(env: Environment) -> dict[str, list[dict[str, Any]]]:
    arn = f"arn:aws:batch:{REGION}:123456789012"
    tags = {naming.TAG_ENVIRONMENT: env.name}
    ce_names = {
        k: f"{naming.ce_name_prefix(env.name, k)}{'2' * 26}" for k in env.compute_environments
    }
    ces = [
        {
            "computeEnvironmentName": ce_names[k],
            "computeEnvironmentArn": f"{arn}:compute-environment/{ce_names[k]}",
            "tags": {**tags, naming.TAG_KEY: k},
            "state": "ENABLED",
            "status": "VALID",
        }
        for k in env.compute_environments
    ]
    queues = [
        {
            "jobQueueName": naming.aws_name(env.name, k),
            "jobQueueArn": f"{arn}:job-queue/{naming.aws_name(env.name, k)}",
            "tags": {**tags, naming.TAG_KEY: k},
            "state": "ENABLED",
            "status": "VALID",
            "priority": 0,
        }
        for k in env.job_queues
    ]
    definitions = [
        {
            "jobDefinitionName": naming.aws_name(env.name, k),
            "jobDefinitionArn": f"{arn}:job-definition/{naming.aws_name(env.name, k)}:{rev}",
            "revision": rev,
            "status": status,
            "type": "container",
            "tags": {**tags, naming.TAG_KEY: k},
            "containerProperties": {"image": "busybox"},
        }
        for k in env.job_definitions
        for rev, status in ((1, "INACTIVE"), (2, "ACTIVE"))
    ]
    return {
        "DescribeComputeEnvironments": ces,
        "DescribeJobQueues": queues,
        "DescribeJobDefinitions": definitions,
        "ListSchedulingPolicies": [],
        "DescribeSchedulingPolicies": [],
    }


def test_batch_describe_calls_are_the_fewest_the_100_name_limit_allows(moto: MotoServer) -> None:
    """250 job definitions (each with an older INACTIVE revision), 30 queues and 30 compute
    environments: one call for all compute environments, one for all queues, and
    ceil(250 / 100) = 3 for the job definitions, where describing by name would take 250."""
    env = checked_env(big_environment(ces=30, queues=30, job_definitions=250))
    fake = FakeBatch(fake_deployment(env))
    clients = clients_for(moto)
    clients.batch.meta.events.register_first("before-call.batch", fake)
    report = verify(env, clients)
    assert fake.calls["DescribeComputeEnvironments"] == math.ceil(30 / PAGE_LIMIT) == 1
    assert fake.calls["DescribeJobQueues"] == math.ceil(30 / PAGE_LIMIT) == 1
    assert fake.calls["DescribeJobDefinitions"] == math.ceil(250 / PAGE_LIMIT) == 3
    assert fake.calls["ListSchedulingPolicies"] == 1
    assert fake.calls["DescribeSchedulingPolicies"] == 0  # nothing of ours to describe
    found = [r for r in report.resources if r.kind == "job_definitions" and r.name]
    assert len(found) == 250 and all(r.name and r.name.endswith(":2") for r in found)


# --- container normalisation ------------------------------------------------------------------


def test_normalised_container_ignores_order_empties_and_number_types() -> None:
    ours = {
        "image": "x",
        "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "resourceRequirements": [
            {"type": "VCPU", "value": "1"},
            {"type": "MEMORY", "value": "512"},
        ],
        "mountPoints": [{"sourceVolume": "v", "containerPath": "/d"}],
    }
    aws = {
        "image": "x",
        "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
        "resourceRequirements": [{"value": "512", "type": "MEMORY"}, {"value": 1, "type": "VCPU"}],
        "mountPoints": [{"sourceVolume": "v", "containerPath": "/d", "readOnly": False}],
        "volumes": [],
        "ulimits": [],
        "secrets": [],
        "linuxParameters": {"devices": [], "tmpfs": []},
    }
    assert normalise_container(ours) == normalise_container(aws)
    assert normalise_container({**aws, "image": "y"}) != normalise_container(ours)


def test_a_file_with_errors_is_not_verified(tmp_path: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\n")
    out, err = io.StringIO(), io.StringIO()
    assert run(VerifyOptions(config=str(bad)), out, err) == 1
    assert "not verified" in err.getvalue()


def test_a_check_that_crashes_is_reported_not_checked(
    unit: tuple[MotoServer, Environment], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, env = unit

    def broken(*_: Any) -> list[ResourceCheck]:
        raise KeyError("peer")

    monkeypatch.setitem(batch_checks.CHECKS, "scheduling_policies", broken)
    report = verify(env, clients_for(server))
    assert report.exit_code == 1
    crashed = report.find("scheduling_policies", "*")
    assert crashed is not None and "KeyError('peer')" in crashed.unchecked[0]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_stderr_only_on_a_terminal(tmp_path: Any) -> None:
    config = tmp_path / "unit.yaml"
    config.write_text(
        UNIT_ENV.format(vpc="vpc-0123456789abcdef0", subnet="subnet-0123456789abcdef0")
    )
    url = f"http://127.0.0.1:{free_port()}"
    fast = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    clients = Clients(**{s: session.client(s, endpoint_url=url, config=fast) for s in SERVICES})
    out, err = io.StringIO(), Terminal()
    assert run(VerifyOptions(config=str(config), format="json"), out, err, clients) == 1
    assert "verify: " in err.getvalue() and err.getvalue().endswith("\r\033[K")
    assert json.loads(out.getvalue())["result"] == "INCOMPLETE"  # stdout stays pure JSON


# --- network health ----------------------------------------------------------------------------


def network(route: dict[str, str] | None, **live: Any) -> tuple[Live, dict[str, Any]]:
    subnet = {"SubnetId": "subnet-1", "VpcId": "vpc-1", "MapPublicIpOnLaunch": False}
    routes = [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}]
    if route is not None:
        routes.append({"DestinationCidrBlock": "0.0.0.0/0", **route})
    table = {
        "VpcId": "vpc-1",
        "Associations": [{"SubnetId": "subnet-1"}],
        "Routes": routes,
    }
    state = Live(route_tables=[table], subnets={"subnet-1": subnet}, **live)
    return state, subnet


def test_a_private_subnet_reaches_out_through_an_available_nat_gateway() -> None:
    ok, subnet = network(
        {"NatGatewayId": "nat-1"}, nat_gateways=[{"NatGatewayId": "nat-1", "State": "available"}]
    )
    assert subnet_egress(ok, subnet, fargate=False, region=REGION) is None
    gone, subnet = network(
        {"NatGatewayId": "nat-1"}, nat_gateways=[{"NatGatewayId": "nat-1", "State": "deleted"}]
    )
    assert subnet_egress(gone, subnet, fargate=False, region=REGION) == (
        "its default route points at NAT gateway nat-1, which is deleted"
    )


def test_a_subnet_without_a_route_needs_the_vpc_endpoints() -> None:
    services = ["ecr.api", "ecr.dkr", "logs"]
    endpoints = [
        {"VpcId": "vpc-1", "ServiceName": f"com.amazonaws.{REGION}.{s}", "State": "available"}
        for s in services
    ]
    some, subnet = network(None, vpc_endpoints=endpoints)
    problem = subnet_egress(some, subnet, fargate=True, region=REGION)
    assert problem is not None and problem.endswith("no VPC endpoints for s3")
    endpoints.append({"VpcId": "vpc-1", "ServiceName": f"com.amazonaws.{REGION}.s3"})
    everything, subnet = network(None, vpc_endpoints=endpoints)
    assert subnet_egress(everything, subnet, fargate=True, region=REGION) is None
    ec2_problem = subnet_egress(everything, subnet, fargate=False, region=REGION)
    assert ec2_problem is not None and ec2_problem.endswith("ecs, ecs-agent, ecs-telemetry")


def test_an_internet_gateway_route_needs_public_addresses_for_instances() -> None:
    state, subnet = network(
        {"GatewayId": "igw-1"}, internet_gateways=[{"InternetGatewayId": "igw-1"}]
    )
    problem = subnet_egress(state, subnet, fargate=False, region=REGION)
    assert problem is not None and "does not give instances public IPv4 addresses" in problem
    assert subnet_egress(state, subnet, fargate=True, region=REGION) is None
    subnet["MapPublicIpOnLaunch"] = True
    assert subnet_egress(state, subnet, fargate=False, region=REGION) is None


# --- IAM roles: each read on its own, or all in one listing --------------------------------------


def with_job_roles(count: int) -> str:
    """``UNIT_ENV`` plus ``count`` job definitions, each with a generated job role that has an
    inline policy: two per-role IAM calls each (``GetRole``, ``ListRolePolicies``)."""
    jobs = "".join(
        f"  job{i}:\n"
        "    image: public.ecr.aws/docker/library/busybox:1.36\n"
        "    vcpus: 1\n"
        "    memory: 512\n"
        f"    job_role: {{{{s3_read: [inputs-{i}]}}}}\n"
        for i in range(count)
    )
    return UNIT_ENV + jobs


def record_iam_calls(clients: Clients) -> list[str]:
    """The IAM operations ``clients`` will call, in order, whatever answers them (a
    ``before-parameter-build`` hook runs for every call, before any ``before-call`` hook such
    as :func:`deny`'s can answer it)."""
    called: list[str] = []
    clients.iam.meta.events.register(
        "before-parameter-build",
        lambda model, **_: called.append(model.name),
        unique_id="test-iam-calls",
    )
    return called


def role_checks(report: Report) -> dict[str, tuple[Status, list[str]]]:
    return {
        r.title: (r.status, sorted(d.attribute for d in r.differences))
        for r in report.resources
        if r.kind == "iam_roles"
    }


def test_a_few_roles_are_read_one_by_one(moto: MotoServer) -> None:
    env = deploy_unit(moto, with_job_roles(2))
    clients = clients_for(moto)
    called = record_iam_calls(clients)
    report = verify(env, clients)
    assert report.exit_code == 0, format_text(report)
    assert sorted(called) == ["GetRole", "GetRole", "ListRolePolicies", "ListRolePolicies"]


def test_many_roles_are_read_in_one_listing(moto: MotoServer) -> None:
    """11 job roles would need 22 per-role calls, past ``ROLE_CALLS_AT_ONCE``: one
    ``GetAccountAuthorizationDetails`` reads them all, and every role is still compared."""
    env = deploy_unit(moto, with_job_roles(11))
    assert role_calls(role_reads(Desired(env))) == 22 > ROLE_CALLS_AT_ONCE
    clients = clients_for(moto)
    called = record_iam_calls(clients)
    report = verify(env, clients)
    assert called == ["GetAccountAuthorizationDetails"]
    assert "iam:GetAccountAuthorizationDetails" in IAM_POLICY_ACTIONS
    assert report.exit_code == 0, format_text(report)
    roles = [r for r in report.resources if r.kind == "iam_roles"]
    assert len(roles) == 11
    for role in roles:
        assert role.status == Status.IN_SYNC
        assert {"AssumeRolePolicyDocument.Principal.Service", "RolePolicies.s3"} <= set(
            role.checked
        ), role.checked


def test_the_listing_finds_the_same_drift_as_per_role_reads(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = deploy_unit(moto, with_job_roles(11))
    iam = moto.client("iam")
    desired = Desired(env)
    roles = {desired.role_purpose(r): str(r["name"]) for r in desired.roles}
    name = {i: roles[f"job-job{i}"] for i in range(4)}
    iam.delete_role_policy(RoleName=name[0], PolicyName="s3")
    iam.tag_role(RoleName=name[1], Tags=[{"Key": "team", "Value": "physics"}])
    iam.delete_role_policy(RoleName=name[2], PolicyName="s3")
    iam.delete_role(RoleName=name[2])
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.update_assume_role_policy(RoleName=name[3], PolicyDocument=json.dumps(trust))
    listed = verify(env, clients_for(moto))
    monkeypatch.setattr(gather, "ROLE_CALLS_AT_ONCE", 1000)
    clients = clients_for(moto)
    called = record_iam_calls(clients)
    one_by_one = verify(env, clients)
    assert "GetAccountAuthorizationDetails" not in called and called.count("GetRole") == 11
    assert role_checks(listed) == role_checks(one_by_one)
    assert {t: v for t, v in role_checks(listed).items() if v[0] != Status.IN_SYNC} == {
        "iam_roles.job-job0": (Status.DRIFT, ["RolePolicies.s3"]),
        "iam_roles.job-job1": (Status.DRIFT, ["tags.team"]),
        "iam_roles.job-job2": (Status.MISSING, [""]),
        "iam_roles.job-job3": (Status.DRIFT, ["AssumeRolePolicyDocument.Principal.Service"]),
    }
    assert listed.exit_code == one_by_one.exit_code == 2


def test_a_denied_listing_falls_back_to_per_role_reads(moto: MotoServer) -> None:
    """A policy without ``iam:GetAccountAuthorizationDetails`` (made before verify asked for
    it) still verifies every role, with the per-role calls, and the run is complete."""
    env = deploy_unit(moto, with_job_roles(11))
    clients = clients_for(moto)
    deny(clients.iam, "GetAccountAuthorizationDetails")
    called = record_iam_calls(clients)
    report = verify(env, clients)
    assert report.exit_code == 0, format_text(report)
    assert report.incomplete == []
    assert called[0] == "GetAccountAuthorizationDetails"
    assert sorted(called[1:]) == ["GetRole"] * 11 + ["ListRolePolicies"] * 11


def test_clients_load_the_same_service_models_and_search_path_as_botocore(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """verify's clients decode botocore's model files into plain dicts (faster than
    botocore's ``OrderedDict``s): same operations and shapes, same ``AWS_DATA_PATH``."""
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    clients = make_clients(region=REGION, endpoint_url="http://127.0.0.1:9")
    reference = botocore.session.Session()
    for service in ("ec2", "iam"):
        ours = getattr(clients, service).meta.service_model
        theirs = reference.get_service_model(service)
        assert ours.operation_names == theirs.operation_names
        assert list(ours.shape_names) == list(theirs.shape_names)
        operation = "DescribeSubnets" if service == "ec2" else "GetAccountAuthorizationDetails"
        assert (
            ours.operation_model(operation).output_shape.members.keys()
            == theirs.operation_model(operation).output_shape.members.keys()
        )
    session = botocore.session.Session()
    use_plain_json(session)
    assert str(tmp_path) in session.get_component("data_loader").search_paths


def test_the_live_indexes_follow_the_listing_they_were_built_from() -> None:
    """``Live.revisions`` and ``Live.tagged_compute_environments`` are built once per listing;
    a listing replaced (a second gather) or grown is indexed again, never answered stale."""
    live = Live(job_definitions=[{"jobDefinitionName": "unit-a", "revision": 1}])
    assert [jd["revision"] for jd in live.revisions("unit-a")] == [1]
    live.job_definitions = [{"jobDefinitionName": "unit-a", "revision": 2}]
    assert [jd["revision"] for jd in live.revisions("unit-a")] == [2]
    live.job_definitions.append({"jobDefinitionName": "unit-a", "revision": 3})
    assert [jd["revision"] for jd in live.revisions("unit-a")] == [2, 3]
    assert live.revisions("unit-b") == []
    tags = {naming.TAG_ENVIRONMENT: "unit", naming.TAG_KEY: "ec2"}
    live.compute_environments = [
        {"computeEnvironmentName": "unit-ec2-1", "tags": tags},
        {"computeEnvironmentName": "other", "tags": {naming.TAG_ENVIRONMENT: "unit"}},
    ]
    found = live.tagged_compute_environments("unit", "ec2")
    assert [ce["computeEnvironmentName"] for ce in found] == ["unit-ec2-1"]
    assert [
        c["computeEnvironmentName"] for c in live.tagged_compute_environments("unit", None)
    ] == ["other"]
