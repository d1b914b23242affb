"""The compute side of the generated module: what a user reads in launch_templates.tf and
compute_environments.tf, and what instances receive as user data."""

from __future__ import annotations

import base64
import email
import json
import re
import shutil
import subprocess
from email.message import Message
from pathlib import Path
from typing import Any

import hcl2
import pytest

from batchform import derive
from batchform.build import analyze, analyze_text, render_environment
from batchform.model import Environment
from batchform.plan import compute
from batchform.render import render_template
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import moto_copy
from tests.harness import terraform as tf

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
EXAMPLES = ("genomics", "gpu", "fargate")

BASE = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
  security_groups:
    batch: {description: Batch hosts}
"""


def env_of(text: str) -> Environment:
    analysis = analyze_text(text, "demo.yaml")
    assert analysis.env is not None, analysis.diagnostics
    return analysis.env


def example(name: str) -> Environment:
    analysis = analyze(CONFIGS / f"{name}.yaml")
    assert analysis.env is not None, analysis.diagnostics
    return analysis.env


def rendered(env: Environment) -> dict[str, str]:
    """Only this module's files, rendered exactly as ``batchform compile`` writes them."""
    return {
        name: render_template(name, {"header": "# test", **context})
        for name, context in compute.plan(env).items()
    }


def plain(value: Any) -> Any:
    """python-hcl2 output without its quoting of string literals and its block markers."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def parsed(env: Environment, name: str) -> dict[str, Any]:
    """One rendered file, parsed by python-hcl2."""
    doc: dict[str, Any] = plain(hcl2.loads(rendered(env)[name]))
    return doc


def resources(env: Environment, kind: str) -> dict[str, dict[str, Any]]:
    file = "launch_templates.tf" if kind == "aws_launch_template" else "compute_environments.tf"
    out: dict[str, dict[str, Any]] = {}
    for block in parsed(env, file).get("resource", []):
        for label, body in block.get(kind, {}).items():
            out[label] = body
    return out


def only(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(blocks) == 1, blocks
    return blocks[0]


def user_data_of(text: str, label: str) -> str:
    """The user data string of one launch template as Terraform would decode the HCL literal."""
    block = text.split(f'resource "aws_launch_template" "{label}"', 1)[1]
    match = re.search(r'^\s*user_data\s*=\s*base64encode\((".*")\)$', block, re.M)
    assert match, block
    literal = json.loads(match.group(1))  # HCL string escapes are JSON's, plus $${ and %%{
    return literal.replace("$${", "${").replace("%%{", "%{")


def mime(env: Environment, label: str) -> Message:
    message = email.message_from_string(user_data_of(rendered(env)["launch_templates.tf"], label))
    assert message.is_multipart()
    return message


# --- compute environments --------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_desired_vcpus_is_never_generated(name: str) -> None:
    files = render_environment(example(name), f"{name}.yaml")
    assert not any("desired_vcpus" in text for text in files.values())


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_ce_is_created_from_a_name_prefix_before_the_old_one_is_destroyed(
    name: str,
) -> None:
    env = example(name)
    ces = resources(env, "aws_batch_compute_environment")
    assert sorted(ces) == sorted(k.replace("-", "_") for k in env.compute_environments)
    for key in env.compute_environments:
        body = ces[key.replace("-", "_")]
        assert body["compute_environment_name_prefix"] == f"{env.name}-{key}-"
        assert "compute_environment_name" not in body
        assert only(body["lifecycle"])["create_before_destroy"] is True
        assert body["type"] == "MANAGED"
        assert body["tags"] == {"batchform:environment": env.name, "batchform:key": key}


def test_ces_pin_the_launch_template_to_its_latest_numeric_version() -> None:
    ces = resources(example("genomics"), "aws_batch_compute_environment")
    for label in ("spot", "ondemand"):
        template = only(only(ces[label]["compute_resources"])["launch_template"])
        assert template == {
            "launch_template_id": "${aws_launch_template.scratch_1tb.id}",
            "version": "${aws_launch_template.scratch_1tb.latest_version}",
        }


@pytest.mark.parametrize("name", EXAMPLES)
def test_fargate_ces_carry_no_ec2_only_settings(name: str) -> None:
    env = example(name)
    ces = resources(env, "aws_batch_compute_environment")
    fargate = [k for k, ce in env.compute_environments.items() if ce.is_fargate]
    for key in fargate:
        resources_block = only(ces[key.replace("-", "_")]["compute_resources"])
        assert set(resources_block) == {"type", "max_vcpus", "subnets", "security_group_ids"}


def test_fargate_example_uses_the_given_subnet_ids() -> None:
    ces = resources(example("fargate"), "aws_batch_compute_environment")
    spot = only(ces["fargate_spot"]["compute_resources"])
    assert spot["type"] == "FARGATE_SPOT"
    assert spot["subnets"] == ["subnet-0f99e88d77c66b551", "subnet-0f99e88d77c66b552"]
    on_demand = only(ces["fargate"]["compute_resources"])
    assert on_demand["subnets"] == [
        "subnet-0f99e88d77c66b551",
        "subnet-0f99e88d77c66b552",
        "subnet-0f99e88d77c66b553",
    ]


def test_ec2_ce_settings() -> None:
    env = example("genomics")
    spot = only(resources(env, "aws_batch_compute_environment")["spot"]["compute_resources"])
    assert spot["type"] == "SPOT"
    assert spot["allocation_strategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert spot["bid_percentage"] == 60
    assert (spot["min_vcpus"], spot["max_vcpus"]) == (0, 1024)
    assert spot["instance_type"] == ["c6i", "m6i", "r6i"]
    assert spot["instance_role"] == "${aws_iam_instance_profile.ecs_instance.arn}"
    assert spot["security_group_ids"] == ["${aws_security_group.batch.id}"]
    assert spot["subnets"] == [
        "${aws_subnet.private_us_west_2a.id}",
        "${aws_subnet.private_us_west_2b.id}",
    ]
    # instances get the environment's tags too: provider default_tags never reach them
    assert spot["tags"] == {
        "batchform:environment": "genomics-prod",
        "batchform:key": "spot",
        "cost-center": "4711",
        "role": "batch-worker",
        "team": "genomics",
    }
    # SPOT_PRICE_CAPACITY_OPTIMIZED needs no spot fleet role
    assert "spot_iam_fleet_role" not in spot


def test_optimal_is_the_default_instance_type_and_strategy_is_left_to_aws() -> None:
    env = env_of(BASE + "compute_environments:\n  ce: {type: EC2, max_vcpus: 8}\n")
    body = only(resources(env, "aws_batch_compute_environment")["ce"]["compute_resources"])
    assert body["instance_type"] == ["optimal"]
    assert "allocation_strategy" not in body
    assert "bid_percentage" not in body


def test_service_role_is_omitted_for_the_service_linked_role_and_set_otherwise() -> None:
    ce = "compute_environments:\n  ce: {type: EC2, max_vcpus: 8}\n"
    default = resources(env_of(BASE + ce), "aws_batch_compute_environment")["ce"]
    assert "service_role" not in default
    generated = env_of(BASE + "iam: {service_role: generated}\n" + ce)
    body = resources(generated, "aws_batch_compute_environment")["ce"]
    assert body["service_role"] == "${aws_iam_role.batch_service.arn}"
    assert body["depends_on"] == [
        "${aws_iam_role_policy_attachment.batch_service}",
        "${aws_iam_role_policy_attachment.ecs_instance}",
    ]
    arn = "arn:aws:iam::123456789012:role/batch"
    given = env_of(BASE + f"iam: {{service_role: '{arn}'}}\n" + ce)
    assert resources(given, "aws_batch_compute_environment")["ce"]["service_role"] == arn


def test_spot_fleet_role_only_on_spot_ces_that_need_one() -> None:
    env = env_of(
        BASE
        + "compute_environments:\n"
        + "  bestfit: {type: SPOT, max_vcpus: 8, allocation_strategy: BEST_FIT}\n"
        + "  priced: {type: SPOT, max_vcpus: 8, allocation_strategy: SPOT_CAPACITY_OPTIMIZED}\n"
        + "  ondemand: {type: EC2, max_vcpus: 8}\n"
    )
    ces = resources(env, "aws_batch_compute_environment")
    bestfit = only(ces["bestfit"]["compute_resources"])
    assert bestfit["spot_iam_fleet_role"] == "${aws_iam_role.spot_fleet.arn}"
    assert "spot_iam_fleet_role" not in only(ces["priced"]["compute_resources"])
    assert "spot_iam_fleet_role" not in only(ces["ondemand"]["compute_resources"])


def test_update_policy_minutes_round_up() -> None:
    env = env_of(
        BASE
        + "compute_environments:\n"
        + "  ce:\n    type: EC2\n    max_vcpus: 8\n"
        + "    update_policy: {terminate_jobs_on_update: true, job_execution_timeout: 90s}\n"
    )
    body = resources(env, "aws_batch_compute_environment")["ce"]
    assert only(body["update_policy"]) == {
        "job_execution_timeout_minutes": 2,
        "terminate_jobs_on_update": True,
    }


def test_key_pair_and_placement_group_reach_the_ce() -> None:
    body = only(
        resources(example("gpu"), "aws_batch_compute_environment")["g5"]["compute_resources"]
    )
    assert body["ec2_key_pair"] == "vision-ops"
    assert body["placement_group"] == "vision-training"


# --- machine images --------------------------------------------------------------------------


def test_pinned_gpu_ami_overrides_the_image_with_the_nvidia_image_type() -> None:
    ces = resources(example("gpu"), "aws_batch_compute_environment")
    g5 = only(ces["g5"]["compute_resources"])
    assert g5["ec2_configuration"] == [
        {"image_type": "ECS_AL2023_NVIDIA", "image_id_override": "ami-0a1b2c3d4e5f67890"}
    ]
    overflow = only(ces["g4dn_overflow"]["compute_resources"])
    assert overflow["ec2_configuration"] == [{"image_type": "ECS_AL2023_NVIDIA"}]


def test_ssm_parameter_ami_is_read_in_compute_environments_tf() -> None:
    env = example("genomics")
    doc = parsed(env, "compute_environments.tf")
    data = only(doc["data"])["aws_ssm_parameter"]["ami_latest_ecs"]
    assert data["name"] == "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    spot = only(resources(env, "aws_batch_compute_environment")["spot"]["compute_resources"])
    assert spot["ec2_configuration"] == [
        {
            "image_type": "ECS_AL2023",
            "image_id_override": "${data.aws_ssm_parameter.ami_latest_ecs.insecure_value}",
        }
    ]


def test_ces_without_an_ami_state_their_image_type_explicitly() -> None:
    env = env_of(
        BASE
        + "compute_environments:\n"
        + "  cpu: {type: EC2, max_vcpus: 8, instance_types: [c6i]}\n"
        + "  gpu: {type: EC2, max_vcpus: 8, instance_types: [g5, p4d]}\n"
        + "  mixed: {type: EC2, max_vcpus: 8, instance_types: [c6i, g5.xlarge]}\n"
    )
    ces = resources(env, "aws_batch_compute_environment")
    image_types = {
        label: [e["image_type"] for e in only(body["compute_resources"])["ec2_configuration"]]
        for label, body in ces.items()
    }
    assert image_types == {
        "cpu": ["ECS_AL2023"],
        "gpu": ["ECS_AL2023_NVIDIA"],
        "mixed": ["ECS_AL2023", "ECS_AL2023_NVIDIA"],
    }


def test_unused_ssm_amis_are_not_looked_up() -> None:
    env = env_of(
        BASE
        + "amis:\n  spare: {ssm_parameter: /aws/service/ecs/x}\n"
        + "compute_environments:\n  ce: {type: EC2, max_vcpus: 8}\n"
    )
    assert "data" not in parsed(env, "compute_environments.tf")


# --- launch templates ------------------------------------------------------------------------


def test_launch_template_volumes_metadata_and_tags() -> None:
    env = example("genomics")
    lt = resources(env, "aws_launch_template")["scratch_1tb"]
    assert lt["name"] == "genomics-prod-scratch-1tb"
    assert lt["update_default_version"] is True
    root, scratch = lt["block_device_mappings"]
    assert root["device_name"] == "/dev/xvda"
    assert only(root["ebs"]) == {
        "delete_on_termination": True,
        "encrypted": True,
        "volume_size": 50,
        "volume_type": "gp3",
    }
    assert scratch["device_name"] == "/dev/xvdb"
    assert only(scratch["ebs"]) == {
        "delete_on_termination": True,
        "encrypted": True,
        "iops": 6000,
        "throughput": 500,
        "volume_size": 1024,
        "volume_type": "gp3",
    }
    assert only(lt["metadata_options"]) == {
        "http_endpoint": "enabled",
        "http_put_response_hop_limit": 1,
        "http_tokens": "required",
    }
    specs = {s["resource_type"]: s["tags"] for s in lt["tag_specifications"]}
    assert specs["volume"] == {
        "batchform:environment": "genomics-prod",
        "batchform:key": "scratch-1tb",
        "cost-center": "4711",
        "team": "genomics",
    }
    assert specs["instance"]["team"] == "genomics"
    assert lt["tags"] == {"batchform:environment": "genomics-prod", "batchform:key": "scratch-1tb"}


def test_imds_optional_and_unencrypted_volumes_are_written_as_asked() -> None:
    env = env_of(
        BASE
        + "launch_templates:\n  lt:\n    encrypted: false\n    imdsv2: optional\n"
        + "    root_volume: {size: 40 GiB}\n"
    )
    lt = resources(env, "aws_launch_template")["lt"]
    assert only(lt["metadata_options"])["http_tokens"] == "optional"
    assert only(lt["block_device_mappings"][0]["ebs"])["encrypted"] is False
    assert "user_data" not in lt


def test_imds_hop_limit_is_1_unless_the_file_opts_in() -> None:
    """Hop limit 1 keeps IMDS (and the instance role's credentials) away from job containers,
    which sit one network hop behind the instance; jobs get their job role's credentials from
    the ECS agent instead (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/
    task-iam-roles.html). ``imds_hop_limit: 2`` is written as asked (BF471 warns)."""
    lt_text = "launch_templates:\n  lt:\n    root_volume: {size: 40 GiB}\n"
    default = resources(env_of(BASE + lt_text), "aws_launch_template")["lt"]
    assert only(default["metadata_options"])["http_put_response_hop_limit"] == 1
    opted_in = resources(env_of(BASE + lt_text + "    imds_hop_limit: 2\n"), "aws_launch_template")[
        "lt"
    ]
    assert only(opted_in["metadata_options"])["http_put_response_hop_limit"] == 2


def test_user_data_is_mime_multipart_with_the_scratch_mount_and_the_users_part() -> None:
    message = mime(example("genomics"), "scratch_1tb")
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_boundary() == derive.MIME_BOUNDARY
    scratch, user = message.get_payload()
    assert isinstance(scratch, Message) and isinstance(user, Message)
    assert scratch.get_content_type() == "text/x-shellscript"
    script = scratch.get_payload()
    assert script.startswith("#!/bin/bash\n")
    assert "DEVICE_NAME=/dev/xvdb" in script
    assert "MOUNT_PATH=/scratch" in script
    assert "FS_TYPE=xfs" in script
    assert f"SIZE_BYTES={1024**4}" in script
    assert 'mkfs -t "$FS_TYPE" "$device"' in script
    assert "defaults,nofail" in script
    assert "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" in script  # Nitro renaming
    assert user.get_content_type() == "text/x-shellscript"
    assert 'echo "ECS_ENABLE_CONTAINER_METADATA=true" >> /etc/ecs/ecs.config' in user.get_payload()


def test_gpu_scratch_is_ext4_and_user_part_keeps_its_own_interpreter_line() -> None:
    scratch, user = mime(example("gpu"), "gpu_scratch").get_payload()
    assert isinstance(scratch, Message) and isinstance(user, Message)
    assert "FS_TYPE=ext4" in scratch.get_payload()
    assert user.get_payload().startswith("#!/bin/bash\n# keep pulled images")
    assert user.get_payload().count("#!/bin/bash") == 1


def test_user_text_is_escaped_not_interpolated_and_shell_gets_an_interpreter() -> None:
    env = env_of(
        BASE
        + "launch_templates:\n  lt:\n    user_data: |\n"
        + '      echo "${HOME} %{x} \\"quoted\\"" > /tmp/out\n'
    )
    text = rendered(env)["launch_templates.tf"]
    assert "$${HOME}" in text and "%%{x}" in text
    (only_part,) = mime(env, "lt").get_payload()
    assert isinstance(only_part, Message)
    assert only_part.get_payload() == ('#!/bin/bash\necho "${HOME} %{x} \\"quoted\\"" > /tmp/out\n')


def test_cloud_config_user_data_stays_cloud_config() -> None:
    env = env_of(
        BASE + "launch_templates:\n  lt:\n    user_data: |\n      #cloud-config\n      runcmd: []\n"
    )
    (part,) = mime(env, "lt").get_payload()
    assert isinstance(part, Message)
    assert part.get_content_type() == "text/cloud-config"


def test_scratch_values_are_shell_quoted() -> None:
    volume = example("genomics").launch_templates["scratch-1tb"].scratch_volume
    assert volume is not None
    odd = volume.model_copy(update={"mount_path": "/data dir/$(reboot)"})
    assert "MOUNT_PATH='/data dir/$(reboot)'" in derive.scratch_script(odd)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_scratch_script_is_valid_bash() -> None:
    volume = example("gpu").launch_templates["gpu-scratch"].scratch_volume
    assert volume is not None
    result = subprocess.run(
        ["bash", "-n"], input=derive.scratch_script(volume), text=True, capture_output=True
    )
    assert result.returncode == 0, result.stderr


# --- files -----------------------------------------------------------------------------------


def test_empty_sections_produce_no_files() -> None:
    assert compute.plan(env_of(BASE)) == {}
    with_ce = compute.plan(
        env_of(BASE + "compute_environments:\n  f: {type: FARGATE, max_vcpus: 4}\n")
    )
    assert set(with_ce) == {"compute_environments.tf"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_output_is_deterministic(name: str) -> None:
    assert rendered(example(name)) == rendered(example(name))


def test_helpers_the_verifier_shares() -> None:
    env = example("gpu")
    g5 = env.compute_environments["g5"]
    assert derive.expected_instance_types(g5) == ["g5"]
    assert derive.expected_instance_types(example("fargate").compute_environments["fargate"]) == []
    assert derive.update_policy_minutes(7200) == 120
    assert derive.compute_resource_tags(env, "g5")["workload"] == "training"


# --- end to end on moto ----------------------------------------------------------------------

E2E_CONFIG = """\
version: 1
name: e2e
region: us-west-2
network:
  vpc:
    create:
      cidr: 10.0.0.0/16
      availability_zones: [us-west-2a]
      nat_gateways: none
  security_groups:
    batch: {description: Batch hosts}
amis:
  ecs:
    ssm_parameter: /aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id
launch_templates:
  scratch:
    root_volume: {size: 40 GiB}
    scratch_volume: {size: 200 GiB, iops: 4000, throughput: 250}
    user_data: |
      echo "ECS_ENABLE_CONTAINER_METADATA=true" >> /etc/ecs/ecs.config
iam:
  spot_fleet_role: generated
compute_environments:
  ondemand:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [c6i]
    ami: ecs
    launch_template: scratch
    subnets: public
    update_policy: {terminate_jobs_on_update: false, job_execution_timeout: 30m}
  spot:
    type: SPOT
    allocation_strategy: BEST_FIT
    bid_percentage: 50
    max_vcpus: 16
    instance_types: [m6i]
    launch_template: scratch
    subnets: public
  fargate:
    type: FARGATE
    max_vcpus: 4
    subnets: public
"""


@pytest.mark.e2e
def test_compute_applies_on_moto_without_drift(
    tmp_path: Path,
    terraform_cli: tf.TerraformCLI,
    moto: MotoServer,
    batch_service_linked_role: str,
) -> None:
    """The whole module applies; a second plan is empty; AWS holds the pinned template
    version, the image override from SSM, and MIME user data."""
    env = env_of(E2E_CONFIG)
    for name, text in render_environment(env, "e2e.yaml").items():
        (tmp_path / name).write_text(text)
    with moto_copy(tmp_path, moto.url, region="us-west-2") as module:
        tf.init(module, moto.env())
        tf.apply(module, moto.env())
        result = tf.plan(module, moto.env())
        assert result.returncode == 0, result.stdout[-4000:]

    ec2 = moto.client("ec2", "us-west-2")
    (template,) = ec2.describe_launch_templates(LaunchTemplateNames=["e2e-scratch"])[
        "LaunchTemplates"
    ]
    ces = moto.client("batch", "us-west-2").describe_compute_environments()["computeEnvironments"]
    by_key = {ce["tags"]["batchform:key"]: ce for ce in ces}
    assert sorted(by_key) == ["fargate", "ondemand", "spot"]
    for key, ce in by_key.items():
        assert ce["computeEnvironmentName"].startswith(f"e2e-{key}-")
    ondemand = by_key["ondemand"]["computeResources"]
    assert ondemand["launchTemplate"]["version"] == str(template["LatestVersionNumber"])
    (config,) = ondemand["ec2Configuration"]
    assert config["imageType"] == "ECS_AL2023"
    assert config["imageIdOverride"].startswith("ami-")
    assert "spotIamFleetRole" in by_key["spot"]["computeResources"]
    assert "instanceRole" not in by_key["fargate"]["computeResources"]

    version = ec2.describe_launch_template_versions(LaunchTemplateName="e2e-scratch")[
        "LaunchTemplateVersions"
    ][-1]["LaunchTemplateData"]
    message = email.message_from_bytes(base64.b64decode(version["UserData"]))
    assert message.is_multipart()
    assert len(message.get_payload()) == 2
    assert version["MetadataOptions"]["HttpTokens"] == "required"


# --- replace_triggered_by, placement groups, availability zones ------------------------------

SPOT_LT = """\
launch_templates:
  boot: {user_data: "echo hi"}
compute_environments:
  progressive:
    type: SPOT
    allocation_strategy: SPOT_CAPACITY_OPTIMIZED
    max_vcpus: 8
    launch_template: boot
  price:
    type: SPOT
    allocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED
    max_vcpus: 8
    launch_template: boot
  plain:
    type: EC2
    max_vcpus: 8
"""


def _lifecycle(ce: dict[str, Any]) -> dict[str, Any]:
    return only(ce["lifecycle"])


def test_ces_provider_5_cannot_update_are_replaced_by_a_new_template_version() -> None:
    """``isUpdatableComputeEnvironment`` (provider 5.x, internal/service/batch/
    compute_environment.go): only the service-linked role with BEST_FIT_PROGRESSIVE or
    SPOT_CAPACITY_OPTIMIZED is updated in place. Every other CE with a launch template is
    replaced when the template's latest_version changes (issues #37440, #39470)."""
    ces = resources(env_of(BASE + SPOT_LT), "aws_batch_compute_environment")
    trigger = ["${aws_launch_template.boot.latest_version}"]
    assert "replace_triggered_by" not in _lifecycle(ces["progressive"])
    assert _lifecycle(ces["price"])["replace_triggered_by"] == trigger
    assert "replace_triggered_by" not in _lifecycle(ces["plain"])  # no template: nothing unknown
    for ce in ces.values():
        assert _lifecycle(ce)["create_before_destroy"] is True
    # A custom service role makes every CE non-updatable, whatever its strategy.
    generated_role = BASE + "iam: {service_role: generated}\n" + SPOT_LT
    ces = resources(env_of(generated_role), "aws_batch_compute_environment")
    assert _lifecycle(ces["progressive"])["replace_triggered_by"] == trigger
    # The service-linked role named by ARN is still the service-linked role.
    slr = (
        "arn:aws:iam::123456789012:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
    )
    ces = resources(
        env_of(BASE + f"iam: {{service_role: '{slr}'}}\n" + SPOT_LT),
        "aws_batch_compute_environment",
    )
    assert "replace_triggered_by" not in _lifecycle(ces["progressive"])


@pytest.mark.parametrize(
    ("aws_provider", "replaced"),
    [
        ("~> 6.0", True),  # admits 6.0-6.9, which still replace it
        (">= 6.7.0, < 7.0.0", True),
        ("~> 6.10", False),
        ("= 6.10.0", False),
    ],
)
def test_provider_6_10_updates_a_price_capacity_ce_in_place(
    aws_provider: str, replaced: bool
) -> None:
    """Provider 6.10.0 counts SPOT_PRICE_CAPACITY_OPTIMIZED as updatable (CHANGELOG.md, 6.10.0:
    "Allow in-place updates of compute environments that have the SPOT_PRICE_CAPACITY_OPTIMIZED
    strategy", #40148). A constraint that admits no older release gets no replace trigger, so a
    new template version is an in-place update; one that admits an older release keeps it, since
    `terraform init` may pick that release."""
    text = BASE + f"terraform: {{aws_provider: '{aws_provider}'}}\n" + SPOT_LT
    ces = resources(env_of(text), "aws_batch_compute_environment")
    trigger = ["${aws_launch_template.boot.latest_version}"]
    assert (_lifecycle(ces["price"]).get("replace_triggered_by") == trigger) is replaced
    assert "replace_triggered_by" not in _lifecycle(ces["progressive"])


@pytest.mark.parametrize(("aws_provider", "trigger"), [("~> 6.7", True), ("~> 6.8", False)])
def test_provider_6_8_plans_the_replacement_for_an_unknown_version_itself(
    aws_provider: str, trigger: bool
) -> None:
    """A CE no provider updates in place (a generated service role): from 6.8.0 the provider
    replaces it when the template's new version is unknown at plan time (CHANGELOG.md 6.8.0:
    "Fix `inconsistent final plan` error when `compute_resource.launch_template.version` is
    unknown during an update", #43337), so the compiler's replace_triggered_by is not needed."""
    text = (
        BASE
        + f"terraform: {{aws_provider: '{aws_provider}'}}\n"
        + "iam: {service_role: generated}\n"
        + SPOT_LT
    )
    ces = resources(env_of(text), "aws_batch_compute_environment")
    for key in ("progressive", "price"):
        assert ("replace_triggered_by" in _lifecycle(ces[key])) is trigger, key


PLACED = """\
compute_environments:
  mpi:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 64
    instance_types: [c6in]
    placement_group: {strategy: cluster}
    availability_zones: [us-west-2b]
  spread:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 8
    placement_group: {strategy: spread}
  named:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 8
    placement_group: team-cluster
    availability_zones: [us-west-2a]
"""


def test_placement_groups_are_created_or_named_and_zones_narrow_the_subnets() -> None:
    env = env_of(BASE + PLACED)
    groups = resources(env, "aws_placement_group")
    assert set(groups) == {"mpi", "spread"}
    assert groups["mpi"]["name"] == "demo-mpi-cluster"
    assert groups["mpi"]["strategy"] == "cluster"
    assert groups["spread"]["strategy"] == "spread"
    assert groups["mpi"]["tags"]["batchform:environment"] == "demo"
    ces = resources(env, "aws_batch_compute_environment")
    mpi = only(ces["mpi"]["compute_resources"])
    assert mpi["placement_group"] == "${aws_placement_group.mpi.name}"
    assert mpi["subnets"] == ["${aws_subnet.private_us_west_2b.id}"]
    named = only(ces["named"]["compute_resources"])
    assert named["placement_group"] == "team-cluster"
    assert named["subnets"] == ["${aws_subnet.private_us_west_2a.id}"]
    spread = only(ces["spread"]["compute_resources"])
    assert len(spread["subnets"]) == 2  # every zone of the VPC


@pytest.mark.terraform
def test_placement_groups_and_triggers_pass_terraform_validate(
    tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    """The placement group resources and the replace_triggered_by lists are valid Terraform
    (moto cannot deploy a placement group, see below)."""
    env = env_of(BASE + SPOT_LT + PLACED.removeprefix("compute_environments:\n"))
    for name, text in render_environment(env, "placed.yaml").items():
        (tmp_path / name).write_text(text)
    tf.fmt_check(tmp_path)
    tf.init(tmp_path, backend=False)
    tf.validate(tmp_path)


@pytest.mark.xfail(
    strict=True, reason="moto 5.2.5 does not implement EC2 CreatePlacementGroup (moto gap)"
)
def test_the_emulator_creates_placement_groups(moto: MotoServer) -> None:
    """Why no end-to-end test deploys ``placement_group: {strategy: ...}``: the emulator lacks
    the API. When a moto release adds it, this test passes, fails as XPASS, and an apply test
    should replace it."""
    ec2 = moto.client("ec2", "us-west-2")
    ec2.create_placement_group(GroupName="demo-mpi-cluster", Strategy="cluster")
    groups = ec2.describe_placement_groups(GroupNames=["demo-mpi-cluster"])["PlacementGroups"]
    assert groups[0]["Strategy"] == "cluster"
