"""Synthetic environment files for the benchmarks: any number of job definitions, with compute
environments and queues scaled along (capped at the AWS per-region limits of 50 each).

Why synthetic: the bundled examples hold 2-3 job definitions, far too few to show how the
compiler and the verifier grow. The generated files exercise the same features the examples do
(created VPC with a NAT gateway, generated IAM roles, EC2 / SPOT / FARGATE compute environments,
queues with ordered compute environments, EC2 and Fargate job definitions with parameters,
environment, retry rules and some least-privilege job roles) and must validate with no errors and
no warnings: ``tests/test_bench_smoke.py`` keeps them valid.

Everything is deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

MAX_PER_REGION = 50
"""AWS quota for compute environments and for job queues per region."""

REGION = "us-west-2"

_CE_KINDS = ("ec2", "spot", "fargate")


def scaled_count(job_definitions: int) -> int:
    """Compute environments (and queues) for ``job_definitions``: one per 20 job definitions,
    at least 3 (one of each kind), at most the per-region quota."""
    return max(3, min(MAX_PER_REGION, job_definitions // 20))


def _compute_environment(kind: str) -> dict[str, Any]:
    if kind == "ec2":
        return {
            "type": "EC2",
            "allocation_strategy": "BEST_FIT_PROGRESSIVE",
            "max_vcpus": 256,
            "instance_types": ["c6i", "m6i"],
        }
    if kind == "spot":
        return {
            "type": "SPOT",
            "allocation_strategy": "SPOT_CAPACITY_OPTIMIZED",
            "bid_percentage": 60,
            "max_vcpus": 512,
            "instance_types": ["c6i", "m6i", "r6i"],
        }
    return {"type": "FARGATE", "max_vcpus": 128}


def _job_definition(index: int) -> dict[str, Any]:
    job: dict[str, Any] = {
        "image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/tool-{index % 37}:1.{index % 11}",
        "command": ["run", "--input", "Ref::input", "--threads", str(1 + index % 8)],
        "parameters": {"input": f"s3://bench-inputs/{index}/data.csv"},
        "environment": {"STAGE": f"stage-{index % 5}", "INDEX": str(index)},
    }
    if index % 4 == 3:
        job.update(platform="FARGATE", vcpus=1, memory="2 GiB", assign_public_ip=False)
    else:
        job.update(vcpus=1 + index % 8, memory=f"{2 + index % 15} GiB")
    if index % 10 == 0:
        job["job_role"] = {"s3_read": [f"bench-inputs-{index}"], "s3_write": ["bench-results"]}
    if index % 3 == 0:
        job["retry"] = {
            "attempts": 3,
            "on_exit": [
                {"status_reason": "Host EC2*", "action": "RETRY"},
                {"reason": "*", "action": "EXIT"},
            ],
        }
    return job


def environment(
    job_definitions: int,
    compute_environments: int | None = None,
    job_queues: int | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The environment file as data: ``job_definitions`` job definitions and (by default
    :func:`scaled_count`) as many compute environments and queues."""
    n_ce = compute_environments or scaled_count(job_definitions)
    n_q = job_queues or n_ce
    if not 3 <= n_ce <= MAX_PER_REGION or not 1 <= n_q <= MAX_PER_REGION:
        raise ValueError("3-50 compute environments and 1-50 queues")
    ces = {f"ce-{i:02d}": _compute_environment(_CE_KINDS[i % 3]) for i in range(n_ce)}
    by_kind: dict[str, list[str]] = {"ec2": [], "fargate": []}
    for i, key in enumerate(ces):
        by_kind["fargate" if _CE_KINDS[i % 3] == "fargate" else "ec2"].append(key)
    queues: dict[str, Any] = {}
    keys = list(ces)
    for i in range(n_q):
        first = keys[i % n_ce]
        group = by_kind["fargate" if ces[first]["type"] == "FARGATE" else "ec2"]
        second = group[(group.index(first) + 1) % len(group)]
        order = [first] if second == first else [first, second]
        queues[f"q-{i:02d}"] = {"priority": (i * 10) % 1001, "compute_environments": order}
    return {
        "version": 1,
        "name": name or f"bench-{job_definitions}",
        "region": REGION,
        "tags": {"team": "benchmarks"},
        "network": {
            "vpc": {
                "create": {
                    "cidr": "10.42.0.0/16",
                    "availability_zones": [f"{REGION}a", f"{REGION}b"],
                    "nat_gateways": "single",
                }
            },
            "security_groups": {
                "batch": {"description": "Batch compute instances and tasks", "egress": "all"}
            },
        },
        "iam": {
            "service_role": "service-linked",
            "instance_role": "generated",
            "spot_fleet_role": "generated",
            "execution_role": "generated",
        },
        "compute_environments": ces,
        "job_queues": queues,
        "job_defaults": {"timeout": "1h", "log_retention_days": 14, "propagate_tags": True},
        "job_definitions": {f"job-{i:04d}": _job_definition(i) for i in range(job_definitions)},
    }


def environment_yaml(job_definitions: int, **kwargs: Any) -> str:
    """:func:`environment` as the YAML text a user would write (block style, key order kept)."""
    data = environment(job_definitions, **kwargs)
    header = f"# Generated by benchmarks/genenv.py: {job_definitions} job definitions.\n"
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("job_definitions", type=int)
    parser.add_argument("--compute-environments", type=int)
    parser.add_argument("--job-queues", type=int)
    parser.add_argument("--name")
    args = parser.parse_args(argv)
    sys.stdout.write(
        environment_yaml(
            args.job_definitions,
            compute_environments=args.compute_environments,
            job_queues=args.job_queues,
            name=args.name,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
