"""Regenerate ``compiler/batchform/data/instance_types.json`` from EC2's own instance type data.

Run offline from the repository root (moto, a dev dependency, ships the data)::

    .venv/bin/python -m batchform.data.generate_instance_types

Sources, both EC2 API answers recorded by moto (``moto/ec2/resources/``):

- ``instance_types.json.gz``: ``DescribeInstanceTypes`` for every type: vCPUs
  (``VCpuInfo.DefaultVCpus``), memory (``MemoryInfo.SizeInMiB``), architectures
  (``ProcessorInfo.SupportedArchitectures``) and GPUs (``GpuInfo.Gpus``);
- ``instance_type_offerings/region/<region>.json.gz`` and ``.../availability-zone/...``:
  ``DescribeInstanceTypeOfferings`` per region and per availability zone.

Only what the checks need is kept, so the package data stays small (about 100 KB): per family
its architecture, whether its GPUs are NVIDIA's (the only GPUs AWS Batch schedules), and
``[vCPUs, MiB, NVIDIA GPUs]`` per size; per region the types it does *not* offer (a whole
family is written as its name) and, per zone, the types of the region that zone lacks.

A few families EC2 still accepts are missing from moto's snapshot; :data:`SUPPLEMENT` keeps
them (sizes from the EC2 instance type documentation) with no offerings data, so batchform
checks their sizes but never calls them "not offered".
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("instance_types.json")

# Architectures as AWS Batch and ECS images know them (mac types only exist as dedicated hosts
# and never run Batch jobs; they are kept for completeness under their CPU architecture).
ARCHITECTURES = {"x86_64": "x86_64", "i386": "x86_64", "arm64": "arm64"}
ARCHITECTURES_MAC = {"x86_64_mac": "x86_64", "arm64_mac": "arm64"}

# family -> (architecture, nvidia, {size: [vcpus, memory MiB, gpus]})
SUPPLEMENT: dict[str, tuple[str, bool, dict[str, list[int]]]] = {
    "g3": (
        "x86_64",
        True,
        {"4xlarge": [16, 124928, 1], "8xlarge": [32, 249856, 2], "16xlarge": [64, 499712, 4]},
    ),
    "g3s": ("x86_64", True, {"xlarge": [4, 31232, 1]}),
    "p3": (
        "x86_64",
        True,
        {"2xlarge": [8, 62464, 1], "8xlarge": [32, 249856, 4], "16xlarge": [64, 499712, 8]},
    ),
}


def moto_resources() -> Path:
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("moto is not installed (pip install -e '.[dev]'); it ships the data")
    return Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources"


def _load(path: Path) -> Any:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _split(instance_type: str) -> tuple[str, str]:
    family, size = instance_type.split(".", 1)
    return family, size


def _architecture(entry: dict[str, Any]) -> str:
    found = entry["ProcessorInfo"]["SupportedArchitectures"]
    for name in found:
        if name in ARCHITECTURES:
            return ARCHITECTURES[name]
    return ARCHITECTURES_MAC[found[0]]


def _nvidia_gpus(entry: dict[str, Any]) -> int:
    gpus = entry.get("GpuInfo", {}).get("Gpus", [])
    return sum(int(g["Count"]) for g in gpus if g.get("Manufacturer") == "NVIDIA")


def families(types: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(types):
        entry = types[name]
        family, size = _split(name)
        gpus = _nvidia_gpus(entry)
        record = out.setdefault(
            family, {"architecture": _architecture(entry), "nvidia": False, "sizes": {}}
        )
        record["nvidia"] = record["nvidia"] or gpus > 0
        record["sizes"][size] = [
            int(entry["VCpuInfo"]["DefaultVCpus"]),
            int(entry["MemoryInfo"]["SizeInMiB"]),
            gpus,
        ]
    for family, (architecture, nvidia, sizes) in SUPPLEMENT.items():
        if family not in out:
            out[family] = {
                "architecture": architecture,
                "nvidia": nvidia,
                "sizes": sizes,
                "offerings": "unknown",
            }
    for record in out.values():
        record["sizes"] = dict(sorted(record["sizes"].items(), key=lambda kv: (kv[1], kv[0])))
    return dict(sorted(out.items()))


def _compress(missing: set[str], universe: set[str]) -> list[str]:
    """Types as a sorted list, a family whose every size (in ``universe``) is listed as just its
    name."""
    by_family: dict[str, set[str]] = defaultdict(set)
    for t in missing:
        by_family[_split(t)[0]].add(t)
    out: list[str] = []
    for family, listed in sorted(by_family.items()):
        whole = {t for t in universe if _split(t)[0] == family}
        out.extend([family] if listed == whole else sorted(listed))
    return out


def offerings(resources: Path, all_types: set[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    region_dir = resources / "instance_type_offerings" / "region"
    zone_dir = resources / "instance_type_offerings" / "availability-zone"
    for path in sorted(region_dir.glob("*.json.gz")):
        region = path.name.removesuffix(".json.gz")
        offered = {o["InstanceType"] for o in _load(path)} & all_types
        by_zone: dict[str, set[str]] = defaultdict(set)
        zone_file = zone_dir / path.name
        if zone_file.exists():
            for o in _load(zone_file):
                by_zone[o["Location"]].add(o["InstanceType"])
        out[region] = {
            "not_offered": _compress(all_types - offered, all_types),
            "zones": {
                zone: _compress(offered - types, offered) for zone, types in sorted(by_zone.items())
            },
        }
    return out


def render(data: dict[str, Any]) -> str:
    """JSON with one family and one region per line: small, and reviewable as a diff."""

    def section(key: str, last: bool) -> list[str]:
        entries = [
            f"  {json.dumps(name)}: {json.dumps(record, separators=(',', ':'))}"
            for name, record in data[key].items()
        ]
        return [f' "{key}": {{', ",\n".join(entries), " }" if last else " },"]

    lines = [
        "{",
        f' "_comment": {json.dumps(data["_comment"])},',
        f' "source": {json.dumps(data["source"])},',
        *section("families", last=False),
        *section("regions", last=True),
        "}",
    ]
    return "\n".join(lines) + "\n"


def build(resources: Path) -> str:
    types: dict[str, Any] = _load(resources / "instance_types.json.gz")
    data = {
        "_comment": (
            "Generated by `python -m batchform.data.generate_instance_types` from EC2 "
            "DescribeInstanceTypes and DescribeInstanceTypeOfferings data (as shipped by "
            "moto); do not edit. sizes: [vCPUs, memory MiB, NVIDIA GPUs]. regions: types a "
            "region does not offer (a family name = every size), and per zone the region's "
            "types that zone lacks."
        ),
        "source": f"moto {_moto_version(resources)}",
        "families": families(types),
        "regions": offerings(resources, set(types)),
    }
    return render(data)


def _moto_version(resources: Path) -> str:
    from importlib import metadata

    try:
        return metadata.version("moto")
    except metadata.PackageNotFoundError:
        return str(resources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--moto-resources", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = build(args.moto_resources or moto_resources())
    if args.check:
        current = args.output.read_text("utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: rerun without --check", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
