"""``--from-terraform DIR``: which deployed resources an existing Terraform configuration
manages, so that exactly those are imported, and the ``removed`` blocks that make the old
state let go of them.

Two sources, as the issue describes:

- the configuration, parsed with python-hcl2: the ``aws_batch_*`` resources of the root module
  and the names they give, literal or built from ``var.*`` defaults and ``local.*`` values;
- its state, through ``terraform show -json`` run in DIR (when Terraform is installed and the
  directory is initialised): every managed ``aws_batch_*`` instance, in child modules too (the
  terraform-aws-batch module's ``module.batch.aws_batch_job_queue.this["high"]``), with the
  names as applied: what the configuration computes from variables, locals or module outputs.

The state wins where both give a name; a resource neither names is reported, never guessed.
``removed`` blocks name resources without instance keys (Terraform >= 1.7:
https://developer.hashicorp.com/terraform/language/resources/syntax#removing-resources), so a
``for_each`` resource is removed as a whole, and only when every instance of it is adopted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAME_ARGUMENT = {
    "aws_batch_job_queue": "name",
    "aws_batch_compute_environment": "compute_environment_name",
    "aws_batch_scheduling_policy": "name",
    "aws_batch_job_definition": "name",
    "aws_scheduler_schedule": "name",
}
"""The argument holding each Batch resource's AWS name (provider 5.x schemas), and of the
EventBridge Scheduler schedules that submit jobs to them."""

SHOW_TIMEOUT_S = 120.0
_INDEX = re.compile(r"\[[^\]]*\]")
_REFERENCE = re.compile(r"\$\{(var|local)\.([A-Za-z0-9_-]+)\}")


class TerraformReadError(Exception):
    """The directory cannot be read as a Terraform configuration."""


@dataclass(frozen=True)
class OldResource:
    """One ``aws_batch_*`` instance the old configuration manages."""

    address: str  # as the state names it, instance key included
    tf_type: str
    name: str | None  # the AWS name, None when no source gives it

    @property
    def removable(self) -> str:
        """The address a ``removed`` block takes: without instance keys."""
        return _INDEX.sub("", self.address)


@dataclass
class OldConfiguration:
    resources: list[OldResource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    from_state: bool = False

    def names(self, tf_type: str) -> list[str]:
        return sorted({r.name for r in self.resources if r.tf_type == tf_type and r.name})


# --- the configuration ----------------------------------------------------------------------


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps a string literal's quotes (``"\\"legacy\\""``); an expression has none."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _blocks(parsed: dict[str, Any], kind: str) -> Iterator[tuple[str, Any]]:
    for block in parsed.get(kind, []) or []:
        for key, body in block.items():
            if key != "__is_block__":
                yield _unquote(key), body


def _parse(directory: Path) -> list[dict[str, Any]]:
    try:
        import hcl2
    except ImportError:
        raise TerraformReadError(
            "--from-terraform needs python-hcl2: pip install 'batchform[terraform]'"
        ) from None
    parsed = []
    for path in sorted(directory.glob("*.tf")):
        try:
            with path.open(encoding="utf-8") as handle:
                parsed.append(hcl2.load(handle))
        except Exception as exc:  # python-hcl2 raises lark's errors, of many kinds
            detail = " ".join(str(exc).split())[:200]
            raise TerraformReadError(f"{path}: not HCL python-hcl2 can read ({detail})") from None
    if not parsed:
        raise TerraformReadError(f"{directory} holds no .tf file")
    return parsed


def _values(parsed: list[dict[str, Any]]) -> dict[str, str]:
    """``var.x`` defaults and ``local.x`` values that are literal strings (or built of such)."""
    values: dict[str, str] = {}
    for doc in parsed:
        for name, body in _blocks(doc, "variable"):
            default = _unquote(body.get("default")) if isinstance(body, dict) else None
            if isinstance(default, str) and "${" not in default:
                values[f"var.{name}"] = default
    for _ in range(4):  # locals may refer to each other
        for doc in parsed:
            for block in doc.get("locals", []) or []:
                for name, raw in block.items():
                    resolved = resolve(_unquote(raw), values)
                    if name != "__is_block__" and resolved is not None:
                        values[f"local.{name}"] = resolved
    return values


def resolve(value: Any, values: dict[str, str]) -> str | None:
    """A string with its ``${var.x}`` / ``${local.x}`` parts replaced, or None when another
    expression is in it (a function call, a module output, a resource attribute)."""
    if not isinstance(value, str):
        return None
    text = _REFERENCE.sub(lambda m: values.get(f"{m.group(1)}.{m.group(2)}", m.group(0)), value)
    return None if "${" in text else text


def read_configuration(directory: Path) -> OldConfiguration:
    """The root module's ``aws_batch_*`` resources and their names (see module docstring)."""
    parsed = _parse(directory)
    values = _values(parsed)
    old = OldConfiguration()
    for doc in parsed:
        for tf_type, resources in _blocks(doc, "resource"):
            if tf_type not in NAME_ARGUMENT:
                continue
            for label, body in resources.items():
                if label == "__is_block__":
                    continue
                label = _unquote(label)
                raw = _unquote(body.get(NAME_ARGUMENT[tf_type])) if isinstance(body, dict) else None
                name = resolve(raw, values)
                old.resources.append(OldResource(f"{tf_type}.{label}", tf_type, name))
        for label, _body in _blocks(doc, "module"):
            old.notes.append(
                f"module.{label}: its resources are known only from the state "
                "(`terraform show -json`)"
            )
    return old


# --- the state ------------------------------------------------------------------------------


def _state_resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources", []) or []
    for child in module.get("child_modules", []) or []:
        yield from _state_resources(child)


def read_state(directory: Path) -> list[OldResource] | None:
    """Every managed ``aws_batch_*`` instance of the state, or None when ``terraform show
    -json`` cannot run there (no terraform, not initialised, state unreadable)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        return None
    try:
        result = subprocess.run(
            [terraform, "show", "-json", "-no-color"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=SHOW_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        shown = json.loads(result.stdout)
    except json.JSONDecodeError:
        return None
    if not isinstance(shown, dict) or not shown.get("values"):
        return None  # no state yet (never applied, or a remote backend not initialised)
    root = shown["values"].get("root_module") or {}
    found = []
    for item in _state_resources(root):
        tf_type = str(item.get("type"))
        if item.get("mode") != "managed" or tf_type not in NAME_ARGUMENT:
            continue
        name = (item.get("values") or {}).get(NAME_ARGUMENT[tf_type])
        found.append(OldResource(str(item["address"]), tf_type, str(name) if name else None))
    return found


def read_old(directory: Path) -> OldConfiguration:
    """The configuration, with the state's instances and names where the state is readable."""
    if not directory.is_dir():
        raise TerraformReadError(f"{directory} is not a directory")
    old = read_configuration(directory)
    state = read_state(directory)
    if state is not None:
        by_address = {r.address: r for r in state}
        merged = list(state)
        for r in old.resources:
            # a root resource the state does not hold yet (never applied): keep the config's
            if not any(s.removable == r.address for s in state) and r.address not in by_address:
                merged.append(r)
        old.resources = merged
        old.from_state = True
        old.notes = [n for n in old.notes if not n.startswith("module.")]
    for r in old.resources:
        if r.name is None:
            old.notes.append(
                f"{r.address}: neither the configuration nor the state gives its name "
                "(an expression batchform cannot evaluate, and no state); it is not imported"
            )
    return old


def removed_addresses(
    old: OldConfiguration, adopted: set[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """``(addresses for removed blocks, notes)``: a resource is removed when every instance of
    it was adopted (``adopted`` holds ``(tf_type, AWS name)``)."""
    groups: dict[str, list[OldResource]] = {}
    for r in old.resources:
        groups.setdefault(r.removable, []).append(r)
    addresses, notes = [], []
    for address, instances in groups.items():
        taken = [r for r in instances if r.name and (r.tf_type, r.name) in adopted]
        if not taken:
            continue
        if len(taken) == len(instances):
            addresses.append(address)
        else:
            notes.append(
                f"{address}: {len(taken)} of its {len(instances)} instances are adopted; a "
                "removed block would forget all of them, so none is written for it"
            )
    return sorted(addresses), notes
