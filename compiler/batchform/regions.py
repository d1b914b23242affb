"""What batchform knows about AWS regions: their names, partitions and availability zones.

Read from data that ships with batchform or its dependencies, once, on the first question:
``compiler/batchform/data/availability_zones.json`` (zone names per region) and botocore's
``data/endpoints.json`` (every region of every partition; boto3, a dependency, brings botocore).
Checks, plan and verify ask the same questions, so the answers live here.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any


def region_partition(region: str) -> str:
    """The ARN partition of a region: ``aws``, ``aws-cn``, ``aws-us-gov``, ``aws-iso``..."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


@cache
def known_zones() -> tuple[str, dict[str, tuple[str, ...]]]:
    """(as of, {region: availability zones}) from
    ``compiler/batchform/data/availability_zones.json``."""
    text = resources.files("batchform.data").joinpath("availability_zones.json").read_text("utf-8")
    table = json.loads(text)
    return table["as_of"], {r: tuple(zones) for r, zones in table["regions"].items()}


def _botocore_endpoints() -> dict[str, Any]:
    """botocore's ``data/endpoints.json``, read as a file: importing botocore's loaders costs
    half a second, which every ``validate`` would pay."""
    spec = importlib.util.find_spec("botocore")
    for location in (spec.submodule_search_locations or []) if spec else []:
        data = Path(location) / "data"
        if (data / "endpoints.json").is_file():
            return dict(json.loads((data / "endpoints.json").read_text("utf-8")))
        if (data / "endpoints.json.gz").is_file():
            return dict(json.loads(gzip.decompress((data / "endpoints.json.gz").read_bytes())))
    return {}


@cache
def known_regions() -> frozenset[str]:
    """Every region botocore's ``endpoints.json`` lists in any partition (boto3, a dependency,
    brings botocore), plus the regions of compiler/batchform/data/availability_zones.json."""
    data = _botocore_endpoints()
    regions = {r for p in data.get("partitions", []) for r in p.get("regions", {})}
    regions |= set(known_zones()[1])
    return frozenset(regions)
