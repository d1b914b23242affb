"""What batchform knows about EC2 instance types: syntax, architecture, GPUs, sizes.

Compute environment rules (one architecture per environment, image types that do not run on
some families), the plan (which ECS image type a GPU environment needs) and queue rules (all
environments of a queue share an architecture) all ask the same questions about instance type
names, so the answers live here, backed by the small table ``compiler/data/instance_types.json``.
The table covers common families only: a family missing from it is "unknown", never an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

Architecture = Literal["x86_64", "arm64"]

OPTIMAL = "optimal"
DEFAULT_X86_64 = "default_x86_64"
DEFAULT_ARM64 = "default_arm64"
SPECIAL_TYPES: dict[str, Architecture] = {
    # AWS picks from current x86_64 C, M and R families for "optimal".
    OPTIMAL: "x86_64",
    DEFAULT_X86_64: "x86_64",
    DEFAULT_ARM64: "arm64",
}

# A family (``c6i``, ``p4d``, ``u-6tb1``) optionally followed by ``.<size>`` (``4xlarge``,
# ``metal-24xl``): lowercase letters first, at least one digit in the family.
_INSTANCE_TYPE = re.compile(
    r"^(?P<family>[a-z][a-z0-9-]*[0-9][a-z0-9-]*)(?:\.(?P<size>[a-z0-9-]+))?\Z"
)
# Accelerated families AWS names g* (graphics) and p* (parallel): all carry GPUs.
_GPU_FAMILY = re.compile(r"^[gp][0-9]")


@dataclass(frozen=True)
class Size:
    vcpus: int
    memory_mib: int
    gpus: int = 0


@dataclass(frozen=True)
class Family:
    name: str
    architecture: Architecture
    nvidia: bool
    sizes: dict[str, Size]


@cache
def families() -> dict[str, Family]:
    """The families of ``compiler/data/instance_types.json``, by name."""
    text = resources.files("compiler").joinpath("data/instance_types.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(text)["families"]
    return {
        name: Family(
            name=name,
            architecture=entry["architecture"],
            nvidia=entry.get("accelerator") == "nvidia",
            sizes={size: Size(**spec) for size, spec in entry["sizes"].items()},
        )
        for name, entry in raw.items()
    }


def is_special(instance_type: str) -> bool:
    """``optimal``, ``default_x86_64`` or ``default_arm64``: AWS chooses the types."""
    return instance_type in SPECIAL_TYPES


def parse(instance_type: str) -> tuple[str, str | None] | None:
    """``("c6i", "4xlarge")`` for ``c6i.4xlarge``, ``("c6i", None)`` for a family, ``None`` for
    text that is not an instance type name (special names included)."""
    match = _INSTANCE_TYPE.match(instance_type)
    if match is None:
        return None
    return match["family"], match["size"]


def is_valid_syntax(instance_type: str) -> bool:
    return is_special(instance_type) or parse(instance_type) is not None


def family_of(instance_type: str) -> str | None:
    parsed = parse(instance_type)
    return parsed[0] if parsed else None


def known_family(instance_type: str) -> Family | None:
    family = family_of(instance_type)
    return families().get(family) if family else None


def architecture(instance_type: str) -> Architecture | None:
    """The CPU architecture of a type or family, ``None`` when batchform does not know it."""
    if instance_type in SPECIAL_TYPES:
        return SPECIAL_TYPES[instance_type]
    family = known_family(instance_type)
    return family.architecture if family else None


def is_gpu(instance_type: str) -> bool:
    """True for NVIDIA GPU families: from the table, else by AWS's g*/p* naming."""
    family = known_family(instance_type)
    if family is not None:
        return family.nvidia
    name = family_of(instance_type)
    return bool(name and _GPU_FAMILY.match(name))


def architectures(instance_types: list[str]) -> set[Architecture]:
    """The architectures known for a list of types (unknown families contribute nothing)."""
    found = {architecture(t) for t in instance_types}
    return {a for a in found if a is not None}
