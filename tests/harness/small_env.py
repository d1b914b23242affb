"""A small environment written as YAML text, edited per test, checked and rendered.

``BASE`` is a created VPC with NAT, one security group and one EC2 compute environment: enough
for the network, security group, IAM, EFS and KMS tests to add what they are about, either as
YAML text appended at the top level or as an overlay merged the way the rule pages' examples are
(``batchform.merge``: mappings merge, lists and scalars replace, ``None`` removes the key).
Assertions then read diagnostics, the checked model, or the rendered HCL parsed back with
python-hcl2 (:func:`blocks`).
"""

from __future__ import annotations

import textwrap
from typing import Any

import hcl2
import yaml

from batchform.build import Analysis, analyze_text, render_environment
from batchform.diagnostics import Level
from batchform.merge import merge
from batchform.model import Environment
from tests.harness.yaml_files import read_yaml

SOURCE_NAME = "demo.yaml"

BASE = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create:
      cidr: 10.20.0.0/16
      availability_zones: [us-west-2a, us-west-2b]
      nat_gateways: single
  security_groups:
    batch:
      description: Batch compute instances
compute_environments:
  ondemand:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [m6i]
"""


def analysis(extra: str = "", replace: dict[str, Any] | None = None) -> Analysis:
    """``BASE`` with ``extra`` YAML appended (new top-level keys) and ``replace`` merged in
    (a ``None`` value removes the key)."""
    data = read_yaml(BASE + textwrap.dedent(extra))
    if replace:
        data = merge(data, replace)
    return analyze_text(yaml.safe_dump(data, sort_keys=False), SOURCE_NAME)


def checked(extra: str = "", replace: dict[str, Any] | None = None) -> Environment:
    """A checked environment; fails the test on any error, listing them."""
    result = analysis(extra, replace)
    errors = [d for d in result.diagnostics if d.level == Level.ERROR]
    assert result.env is not None and not errors, [f"{d.code} {d.message}" for d in errors]
    return result.env


def codes(extra: str = "", replace: dict[str, Any] | None = None) -> set[str]:
    """Every diagnostic code the edited ``BASE`` gets."""
    return {d.code for d in analysis(extra, replace).diagnostics}


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` that contains ``needle``: where a
    located diagnostic about that line must point."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the test file")


def unquote(value: Any) -> Any:
    """python-hcl2's value with the quotes of its strings (and its block markers) removed."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


def blocks(text: str, kind: str = "resource") -> dict[str, dict[str, dict[str, Any]]]:
    """``{type: {label: body}}`` of one rendered file, strings unquoted."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for block in hcl2.loads(text).get(kind, []):
        for rtype, instances in block.items():
            for label, body in instances.items():
                found.setdefault(unquote(rtype), {})[unquote(label)] = unquote(body)
    return found


def rendered(env: Environment) -> dict[str, str]:
    """The files ``batchform compile`` writes for ``env``."""
    return render_environment(env, SOURCE_NAME)


__all__ = ["BASE", "SOURCE_NAME", "analysis", "blocks", "checked", "codes", "rendered", "unquote"]
