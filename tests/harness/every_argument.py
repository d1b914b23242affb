"""The bundled examples and one file that uses every optional argument the templates know,
compiled: what the tests of emitted arguments read (tests/test_requirements.py for the provider
floor, tests/test_provider_schema.py for the provider schemas).

The examples are split by the provider major their constraint admits: only provider 5 output
can be run here (the filesystem mirror holds hashicorp/aws 5.x), so Terraform-driven tests take
:data:`PROVIDER5_CONFIGS`; provider 6 output (:data:`PROVIDER6_CONFIGS`) is held to the
extracted 6.x schemas instead (tests/test_provider_schema.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from batchform import requirements
from batchform.build import analyze, analyze_text, render_environment, source_label
from batchform.diagnostics import Level

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@cache
def provider_major_of(config: Path) -> int:
    """The provider major the example's output is written for (its bases merged)."""
    analysis = analyze(config)
    assert analysis.env is not None, analysis.diagnostics
    return requirements.provider_major(analysis.env.terraform.aws_provider)


PROVIDER5_CONFIGS = [c for c in CONFIGS if provider_major_of(c) == 5]
PROVIDER6_CONFIGS = [c for c in CONFIGS if provider_major_of(c) == 6]

# Every optional argument the Batch templates know, in one file.
EVERYTHING = """\
version: 1
name: everything
region: us-west-2
terraform:
  backend:
    s3: {bucket: b, key: k.tfstate, region: us-west-2}
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
  security_groups:
    batch: {description: Batch hosts}
launch_templates:
  disk: {root_volume: {size: 50 GiB}}
compute_environments:
  spot:
    type: SPOT
    allocation_strategy: SPOT_CAPACITY_OPTIMIZED
    bid_percentage: 50
    max_vcpus: 64
    instance_types: [m6i]
    launch_template: disk
    update_policy: {job_execution_timeout: 1h}
    ec2_key_pair: ops
scheduling_policies:
  fair: {shares: [{identifier: labA}]}
job_queues:
  main:
    priority: 1
    compute_environments: [spot]
    scheduling_policy: fair
    time_limit_actions:
      - {reason: "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", after: 10m}
job_definitions:
  work:
    image: public.ecr.aws/docker/library/busybox:1.36
    command: [echo, Ref::x]
    parameters: {x: "1"}
    vcpus: 1
    memory: 1 GiB
    timeout: 1h
    scheduling_priority: 5
    retry:
      attempts: 2
      on_exit: [{status_reason: "Host EC2*", action: RETRY}, {reason: "*", action: EXIT}]
"""


def _rendered(configs: list[Path]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for config in configs:
        analysis = analyze(config)
        assert analysis.env is not None, analysis.diagnostics
        out[config.name] = render_environment(analysis.env, source_label(analysis))
    return out


@cache
def rendered_examples() -> dict[str, dict[str, str]]:
    """``{source file name: {generated file: text}}`` for every provider 5 example and
    EVERYTHING: the output the real provider 5 binary can check."""
    out = _rendered(PROVIDER5_CONFIGS)
    analysis = analyze_text(EVERYTHING, "everything.yaml")
    assert analysis.env is not None, analysis.diagnostics
    assert not [d for d in analysis.diagnostics if d.level == Level.ERROR]
    out["everything.yaml"] = render_environment(analysis.env, "everything.yaml")
    return out


@cache
def rendered_provider6_examples() -> dict[str, dict[str, str]]:
    """The examples written for provider 6, compiled as committed."""
    return _rendered(PROVIDER6_CONFIGS)


__all__ = [
    "CONFIGS",
    "EVERYTHING",
    "PROVIDER5_CONFIGS",
    "PROVIDER6_CONFIGS",
    "provider_major_of",
    "rendered_examples",
    "rendered_provider6_examples",
]
