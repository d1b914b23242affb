"""Check a generated module against a provider schema in ``terraform providers schema -json``
shape: every argument and block exists, required ones are present, nesting is right.

Two kinds of schema are read: the real provider 5 binary's (``terraform providers schema -json``
in an initialised module, offline through the mirror), and the committed provider 6 schemas
``compiler/batchform/data/aws_provider_schemas/6.*.json`` (extracted from the cdktf bindings by
``compiler/batchform/data/generate_provider_schema.py``, since no provider 6 binary is reachable
here).
Checking both with one function is what makes the provider 6 check trustworthy: the same code
accepts every example against the real provider 5 schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import hcl2

AWS = "registry.terraform.io/hashicorp/aws"
META_ARGUMENTS = frozenset({"count", "depends_on", "for_each", "lifecycle", "provider"})
"""Terraform's own arguments of every resource block, never in a provider schema."""


def aws_schemas(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"resource": {type: block}, "data": {type: block}}`` of the AWS provider."""
    provider = document["provider_schemas"][AWS]
    return {
        "resource": {k: v["block"] for k, v in provider.get("resource_schemas", {}).items()},
        "data": {k: v["block"] for k, v in provider.get("data_source_schemas", {}).items()},
    }


def _unquote(name: str) -> str:
    return name.strip('"')


def _check_body(body: Mapping[str, Any], block: Mapping[str, Any], where: str) -> Iterator[str]:
    attributes: Mapping[str, Any] = block.get("attributes", {})
    block_types: Mapping[str, Any] = block.get("block_types", {})
    for name, value in body.items():
        if name.startswith("__") or name in META_ARGUMENTS:
            continue
        if name in attributes:
            if attributes[name].get("computed") and not (
                attributes[name].get("optional") or attributes[name].get("required")
            ):
                yield f"{where}: {name} is read-only (computed), not an argument"
            continue
        if name in block_types:
            nested = block_types[name]
            instances = value if isinstance(value, list) else [value]
            if not all(isinstance(i, Mapping) for i in instances):
                yield f"{where}: {name} is a block, written as an attribute"
                continue
            max_items = nested.get("max_items", 0)
            if nested.get("nesting_mode") == "single":
                max_items = 1
            if max_items and len(instances) > max_items:
                yield f"{where}: block {name} appears {len(instances)} times (at most {max_items})"
            for i, instance in enumerate(instances):
                yield from _check_body(instance, nested["block"], f"{where}.{name}[{i}]")
            continue
        yield f"{where}: unknown argument or block {name}"
    for name, attribute in attributes.items():
        if attribute.get("required") and name not in body:
            yield f"{where}: required argument {name} is missing"
    for name, nested in block_types.items():
        if nested.get("min_items", 0) > 0 and name not in body:
            yield f"{where}: required block {name} is missing"


def problems(files: Mapping[str, str], schemas: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every way the ``.tf`` files of one module disagree with ``schemas`` (empty: none)."""
    found: list[str] = []
    for file_name, text in sorted(files.items()):
        if not file_name.endswith(".tf"):
            continue
        parsed: dict[str, Any] = hcl2.loads(text)
        for section in ("resource", "data"):
            for entry in parsed.get(section, []):
                for quoted_type, instances in entry.items():
                    rtype = _unquote(quoted_type)
                    for quoted_label, body in instances.items():
                        where = f"{file_name}: {section} {rtype}.{_unquote(quoted_label)}"
                        block = schemas[section].get(rtype)
                        if block is None:
                            found.append(f"{where}: the provider has no {section} {rtype}")
                            continue
                        found.extend(_check_body(body, block, where))
    return found
