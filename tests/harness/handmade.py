"""AWS Batch environments made by hand through boto3, as a team without batchform has them:
untagged by batchform, names chosen by people, shapes batchform would not generate. What
``batchform import`` is tested on (tests/test_import.py, tests/test_import_e2e.py).

``client(service)`` gives a boto3 client: of ``moto.mock_aws`` in the fast tests, of the
session's moto server in the end-to-end ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Client = Callable[[str], Any]

SERVICE_LINKED_PATH = "/aws-service-role/batch.amazonaws.com/"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "batch.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass
class Made:
    """Names and ids of what was made, for the assertions."""

    vpc: str = ""
    subnets: list[str] = field(default_factory=list)
    security_group: str = ""
    queues: list[str] = field(default_factory=list)
    compute_environments: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    job_definitions: list[str] = field(default_factory=list)
    launch_template: str = ""
    instance_profile: str = ""


def service_linked_role(client: Client) -> str:
    """``AWSServiceRoleForBatch``, which real AWS creates on first use and moto does not."""
    iam = client("iam")
    try:
        return str(iam.get_role(RoleName="AWSServiceRoleForBatch")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName="AWSServiceRoleForBatch",
            Path=SERVICE_LINKED_PATH,
            AssumeRolePolicyDocument=TRUST,
        )
        return str(role["Role"]["Arn"])


def network(client: Client, made: Made, cidr: str = "10.42.0.0/16") -> None:
    """An existing VPC with two subnets and one security group."""
    ec2 = client("ec2")
    made.vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    base = cidr.split(".")
    for index, zone in enumerate(("a", "b")):
        block = f"{base[0]}.{base[1]}.{index + 1}.0/24"
        region = ec2.meta.region_name
        subnet = ec2.create_subnet(
            VpcId=made.vpc, CidrBlock=block, AvailabilityZone=f"{region}{zone}"
        )
        made.subnets.append(subnet["Subnet"]["SubnetId"])
    group = ec2.create_security_group(
        GroupName="batch-workers", Description="Batch workers", VpcId=made.vpc
    )
    made.security_group = group["GroupId"]
    # a default route to an internet gateway: tasks reach ECR, ECS and CloudWatch Logs
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=made.vpc)
    table = ec2.create_route_table(VpcId=made.vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    for subnet in made.subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
        # public subnets: instances get public IPv4 addresses to use the gateway
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})


def fargate_fair_share(client: Client, made: Made, queues: int = 3) -> None:
    """Fargate and Fargate Spot compute environments in an existing VPC, one fair-share policy,
    and several queues over them."""
    batch = client("batch")
    role = service_linked_role(client)
    arns = []
    for name, kind in (
        ("analytics-fargate", "FARGATE"),
        ("analytics-fargate-spot", "FARGATE_SPOT"),
    ):
        ce = batch.create_compute_environment(
            computeEnvironmentName=name,
            type="MANAGED",
            state="ENABLED",
            serviceRole=role,
            computeResources={
                "type": kind,
                "maxvCpus": 64,
                "subnets": list(made.subnets),
                "securityGroupIds": [made.security_group],
            },
        )
        arns.append(ce["computeEnvironmentArn"])
        made.compute_environments.append(name)
    policy = batch.create_scheduling_policy(
        name="analytics-fair",
        fairsharePolicy={
            "shareDecaySeconds": 3600,
            "computeReservation": 10,
            "shareDistribution": [
                {"shareIdentifier": "teamA", "weightFactor": 1.0},
                {"shareIdentifier": "teamB", "weightFactor": 0.5},
            ],
        },
    )
    made.policies.append("analytics-fair")
    for index in range(queues):
        name = f"analytics-q{index}"
        batch.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=10 * (index + 1),
            computeEnvironmentOrder=[
                {"order": 1, "computeEnvironment": arns[1]},
                {"order": 2, "computeEnvironment": arns[0]},
            ],
            schedulingPolicyArn=policy["arn"],
        )
        made.queues.append(name)


def container(index: int, fargate: bool) -> dict[str, Any]:
    """A job's container: image, command, resources, environment, a secret, volumes and an
    awslogs configuration into a team's own log group."""
    props: dict[str, Any] = {
        "image": f"public.ecr.aws/docker/library/python:3.{10 + index % 3}",
        "command": ["python", "-m", f"jobs.step{index}", "Ref::day"],
        "resourceRequirements": [
            {"type": "VCPU", "value": "0.5" if fargate else "2"},
            {"type": "MEMORY", "value": "1024" if fargate else "4096"},
        ],
        "environment": [{"name": "STEP", "value": str(index)}],
        "secrets": [
            {
                "name": "DB_PASSWORD",
                "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
            }
        ],
        "executionRoleArn": f"arn:aws:iam::123456789012:role/{EXECUTION_ROLE}",
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/teams/analytics",
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": f"step{index}",
            },
        },
    }
    if fargate:
        props["networkConfiguration"] = {"assignPublicIp": "DISABLED"}
        props["fargatePlatformConfiguration"] = {"platformVersion": "LATEST"}
    else:
        props["volumes"] = [{"name": "vol-0", "host": {"sourcePath": "/scratch"}}]
        props["mountPoints"] = [
            {"sourceVolume": "vol-0", "containerPath": "/scratch", "readOnly": False}
        ]
    return props


EXECUTION_ROLE = "analytics-execution"
TASKS_TRUST = TRUST.replace("batch.amazonaws.com", "ecs-tasks.amazonaws.com")


def job_definitions(client: Client, made: Made, count: int = 32, fargate: bool = True) -> None:
    """``count`` job definitions with retries, a timeout, parameters, secrets and volumes (a
    second revision of the first, so the latest ACTIVE one is what counts), and the execution
    role they name."""
    batch = client("batch")
    client("iam").create_role(RoleName=EXECUTION_ROLE, AssumeRolePolicyDocument=TASKS_TRUST)
    for index in range(count):
        name = f"analytics-step{index:02d}"
        for revision in (1, 2) if index == 0 else (1,):
            kwargs: dict[str, Any] = {
                "jobDefinitionName": name,
                "type": "container",
                "parameters": {"day": "today" if revision == 2 else "yesterday"},
                "containerProperties": container(index, fargate),
                "retryStrategy": {
                    "attempts": 3,
                    "evaluateOnExit": [
                        {"onExitCode": "137", "action": "RETRY"},
                        {"onReason": "*", "action": "EXIT"},
                    ],
                },
                "timeout": {"attemptDurationSeconds": 7200},
                "propagateTags": True,
            }
            kwargs["platformCapabilities"] = ["FARGATE" if fargate else "EC2"]
            batch.register_job_definition(**kwargs)
        made.job_definitions.append(name)


def ec2_spot_with_launch_template(client: Client, made: Made) -> None:
    """EC2 and SPOT compute environments on a launch template and an instance profile, and
    one queue over both."""
    ec2, iam, batch = client("ec2"), client("iam"), client("batch")
    role = service_linked_role(client)
    template = ec2.create_launch_template(
        LaunchTemplateName="render-nodes",
        LaunchTemplateData={
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 100, "VolumeType": "gp3"}}
            ]
        },
    )
    made.launch_template = template["LaunchTemplate"]["LaunchTemplateId"]
    iam.create_role(RoleName="render-instance", AssumeRolePolicyDocument=TRUST)
    profile = iam.create_instance_profile(InstanceProfileName="render-instance")
    iam.add_role_to_instance_profile(
        InstanceProfileName="render-instance", RoleName="render-instance"
    )
    made.instance_profile = profile["InstanceProfile"]["Arn"]
    arns = []
    for name, kind, strategy in (
        ("render-ondemand", "EC2", "BEST_FIT_PROGRESSIVE"),
        ("render-spot", "SPOT", "SPOT_CAPACITY_OPTIMIZED"),
    ):
        ce = batch.create_compute_environment(
            computeEnvironmentName=name,
            type="MANAGED",
            state="ENABLED",
            serviceRole=role,
            computeResources={
                "type": kind,
                "allocationStrategy": strategy,
                "minvCpus": 0,
                "maxvCpus": 256,
                "instanceTypes": ["c6i", "m6i"],
                "subnets": list(made.subnets),
                "securityGroupIds": [made.security_group],
                "instanceRole": made.instance_profile,
                "launchTemplate": {"launchTemplateId": made.launch_template, "version": "1"},
                "ec2Configuration": [{"imageType": "ECS_AL2023"}],
            },
        )
        arns.append(ce["computeEnvironmentArn"])
        made.compute_environments.append(name)
    batch.create_job_queue(
        jobQueueName="render",
        state="ENABLED",
        priority=5,
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": arns[1]},
            {"order": 2, "computeEnvironment": arns[0]},
        ],
    )
    made.queues.append("render")
