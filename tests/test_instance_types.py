"""The instance table: generated from EC2's own data, complete, small, and what the rules read.

``compiler/batchform/data/instance_types.json`` is written by ``python -m
batchform.data.generate_instance_types`` from the ``DescribeInstanceTypes`` and
``DescribeInstanceTypeOfferings`` answers moto ships (``moto/ec2/resources/``); these tests
regenerate it offline and compare, so nobody edits it by hand.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from batchform import instance_types
from batchform.data import generate_instance_types as generator

COMMITTED = Path(generator.__file__).with_name("instance_types.json")


def test_committed_table_is_what_the_generator_writes() -> None:
    assert COMMITTED.read_text("utf-8") == generator.build(generator.moto_resources()), (
        "compiler/batchform/data/instance_types.json is stale or hand-edited: run "
        "`python -m batchform.data.generate_instance_types`"
    )


def test_every_family_ec2_lists_is_known() -> None:
    with gzip.open(generator.moto_resources() / "instance_types.json.gz", "rt") as handle:
        listed = {name.split(".", 1)[0] for name in json.load(handle)}
    assert len(listed) >= 189
    assert listed <= set(instance_types.families())
    # families EC2 accepts that moto's snapshot lacks stay known (BF312 names p3 and g3)
    assert {"p3", "g3", "g3s"} <= set(instance_types.families())


def test_package_data_stays_small() -> None:
    assert COMMITTED.stat().st_size < 300_000


def test_sizes_match_ec2() -> None:
    # DescribeInstanceTypes: p4d.24xlarge has 96 vCPUs, 1152 GiB and 8 NVIDIA A100 GPUs;
    # Inferentia accelerators are not GPUs AWS Batch schedules
    families = instance_types.families()
    assert families["p4d"].sizes["24xlarge"] == instance_types.Size(96, 1179648, 8)
    assert families["p4d"].nvidia and not families["inf2"].nvidia
    assert families["inf2"].sizes["xlarge"].gpus == 0
    assert families["m7g"].architecture == "arm64"
    assert families["c5"].sizes["large"] == instance_types.Size(2, 4096, 0)


def test_offerings_by_region_and_zone() -> None:
    west = instance_types.region_offerings("us-west-2")
    assert west is not None
    assert west.offers("m6i") and west.offers("m6i.xlarge")
    assert not west.offers("hpc7g") and not west.offers("hpc7g.16xlarge")
    assert west.offers("g5.xlarge") and not west.offers("g5.xlarge", "us-west-2d")
    assert west.offers("g5.xlarge", "us-west-2a")
    assert instance_types.region_offerings("xx-nowhere-1") is None
