"""What Terraform plans for an edited environment, next to what ``batchform diff`` claims.

Shared by the tests that hold ``batchform diff`` to Terraform's own plan on the emulator
(``tests/test_diff_e2e.py``) and that apply such edits in one go (``tests/test_lifecycle_e2e.py``):
an environment written as data is compiled into a moto-pointed module and planned with
``terraform plan -json`` (Terraform's documented machine-readable output), and both sides are
reduced to ``{address: create|update|replace|delete}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from batchform.build import render_environment
from batchform.diff import diff_environments
from batchform.diff.provider import KINDS
from batchform.emit import emit
from batchform.model import Environment, parse_environment
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import write_moto_copy
from tests.harness import terraform as tf

COMPARED_TYPES = tuple(sorted({kind.tf_type for kind in KINDS}))
"""The resource types whose planned action ``batchform diff`` claims: every type the templates
write (``tests/test_diff.py`` holds this list to the templates), so a resource diff forgets is a
mismatch, not a blind spot."""


def env_of(data: dict[str, Any]) -> Environment:
    """The environment an edited file's data describes; fails the test on a model error."""
    env, diags = parse_environment(data)
    assert env is not None, [d.message for d in diags]
    return env


def moto_module(env: Environment, source_name: str, root: Path, server: MotoServer) -> Path:
    """``env`` compiled into ``root/source`` (as ``batchform compile`` writes it) and copied to
    ``root/module`` with the override that points it at ``server``."""
    emit(render_environment(env, source_name), root / "source")
    return write_moto_copy(root / "source", root / "module", server.url, region=env.region)


def planned_actions(ui_stream: str) -> dict[str, str]:
    """{address: create|update|replace|delete} of the managed resources a plan changes, read
    from ``terraform plan -json``: one ``planned_change`` message per resource it would change
    (https://developer.hashicorp.com/terraform/internals/machine-readable-ui), "replace" for
    both orders of delete and create. Data sources are only ever read, and dropped."""
    found = {}
    for line in ui_stream.splitlines():
        message = json.loads(line)
        if message.get("type") != "planned_change":
            continue
        change = message["change"]
        resource = change["resource"]
        if resource["addr"].startswith("data.") or change["action"] in ("noop", "read"):
            continue
        if resource["resource_type"] in COMPARED_TYPES:
            # a for_each block's instances are one resource block to diff
            found[resource["addr"].split("[", 1)[0]] = change["action"]
    return found


def plan_actions(module: Path, server: MotoServer) -> dict[str, str]:
    """What ``terraform plan`` of ``module`` (initialised, against ``server``) would do.

    One terraform process: ``plan -json`` states each planned action as it plans, where
    ``plan -out`` then ``show -json`` would start the aws provider a second time only to
    print the same actions."""
    return planned_actions(tf.terraform(["plan", "-json"], module, server.env()).stdout)


def claimed_actions(old: Environment, new: Environment) -> dict[str, str]:
    """What ``batchform diff`` says the edit from ``old`` to ``new`` does, on the same types."""
    return {
        c.address: c.action
        for c in diff_environments(old, new).changes
        if c.address.split(".")[0] in COMPARED_TYPES
    }


__all__ = [
    "COMPARED_TYPES",
    "claimed_actions",
    "env_of",
    "moto_module",
    "plan_actions",
    "planned_actions",
]
