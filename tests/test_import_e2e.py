"""``batchform import`` of environments made by hand, then Terraform on the emulator.

Each account is made through boto3 (tests/harness/handmade.py: untagged, names chosen by
people), imported with the real command line, compiled, and planned with the import blocks
``compile`` placed in the module: every adopted resource must be planned as an import, and
nothing may be created, replaced or destroyed except what the import listed as left out.
Then apply, re-plan (empty) and ``batchform verify`` (exit 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import write_moto_copy
from tests.harness import handmade
from tests.harness import terraform as tf
from tests.harness.cli import run_cli

pytestmark = pytest.mark.e2e
REGION = "us-east-1"


@dataclass(frozen=True)
class Change:
    """One resource change of the saved plan (``terraform show -json``,
    https://developer.hashicorp.com/terraform/internals/json-format): its actions, whether it
    is imported, and the top-level attributes whose values change."""

    actions: tuple[str, ...]
    importing: bool
    changed: frozenset[str]


def plan_changes(module: Path, server: MotoServer) -> dict[str, Change]:
    tf.terraform(["plan", "-out=tfplan"], module, server.env())
    shown = json.loads(tf.terraform(["show", "-json", "tfplan"], module, server.env()).stdout)
    found: dict[str, Change] = {}
    for item in shown.get("resource_changes", []):
        if item.get("mode") == "data":
            continue
        change = item["change"]
        before, after = change.get("before") or {}, change.get("after") or {}
        changed = frozenset(
            k
            for k in set(before) | set(after)
            if k in after
            and before.get(k) != after.get(k)
            and k not in (change.get("after_unknown") or {})
        )
        found[item["address"]] = Change(tuple(change["actions"]), "importing" in change, changed)
    return found


@dataclass
class Imported:
    code: int
    stdout: str
    config: Path
    module: Path


def import_and_compile(server: MotoServer, work: Path, *args: str) -> Imported:
    config = work / "imported.yaml"
    result = run_cli(
        "import",
        "--region",
        REGION,
        "--endpoint-url",
        server.url,
        "-o",
        config,
        *args,
        env=server.process_env(),
    )
    assert result.returncode in (0, 2), result.stderr
    compiled = run_cli("compile", config, "-o", work / "generated")
    assert compiled.returncode == 0, compiled.stderr
    (directory,) = (work / "generated").iterdir()
    assert (directory / "imports.tf").is_file()
    module = write_moto_copy(directory, work / "module", server.url, region=REGION)
    tf.init(module, server.env())
    return Imported(result.returncode, result.stdout, config, module)


TAGS = frozenset({"tags", "tags_all"})
"""batchform tags everything it manages (``batchform:environment``, ``batchform:key``): the
first apply adds them in place, which verify needs to find the resources."""

PROVIDER_ON_IMPORT = {"aws_batch_job_queue": frozenset({"compute_environments"})}
"""hashicorp/aws 5.x reads an imported queue's deprecated ``compute_environments`` list into
the state beside ``compute_environment_order``; the configuration sets only the order, so the
first plan clears the list in place (the update resends the same order:
internal/service/batch/job_queue.go, Update). Nothing in the account changes."""


def listed(stdout: str, marker: str) -> set[str]:
    """Lines of the summary that start with ``marker`` (``  + `` created, ``  - `` left out):
    for left out, the Terraform label of the resource named (``job definition x-y`` ->
    ``x_y``); for created, the address."""
    out = set()
    for line in stdout.splitlines():
        if not line.startswith(marker):
            continue
        text = line[len(marker) :]
        out.add(
            text if marker == "  + " else text.split(":", 1)[0].rsplit(" ", 1)[-1].replace("-", "_")
        )
    return out


def check_plan(imported: Imported, server: MotoServer) -> dict[str, Change]:
    """Every import block is planned as an import; what the import said the first apply creates
    is created; an adopted resource nothing was left out of changes at most its tags (batchform
    adds its own); only resources listed as left out may change otherwise."""
    plan = plan_changes(imported.module, server)
    imports = (imported.module / "imports.tf").read_text(encoding="utf-8")
    targets = [line.split("=", 1)[1].strip() for line in imports.splitlines() if "  to = " in line]
    creates = listed(imported.stdout, "  + ")
    left_out = listed(imported.stdout, "  - ")
    for address in targets:
        assert plan[address].importing, (address, plan[address])
    unexpected = {}
    for address, change in plan.items():
        if change.actions == ("no-op",) or address.split(".")[1] in left_out:
            continue
        if address in creates and change.actions == ("create",):
            continue
        allowed = PROVIDER_ON_IMPORT.get(address.split(".")[0], frozenset()) | TAGS
        if change.importing and change.actions == ("update",) and change.changed <= allowed:
            continue
        unexpected[address] = change
    assert not unexpected, (unexpected, imported.stdout)
    assert set(creates) <= {a for a, c in plan.items() if c.actions == ("create",)}
    return plan


def apply_and_verify(imported: Imported, server: MotoServer) -> None:
    """Apply, re-plan (nothing left to do) and ``batchform verify`` (in sync)."""
    tf.apply(imported.module, server.env())
    assert tf.plan_detailed_exitcode(imported.module, server.env()) == 0
    result = run_cli(
        "verify", imported.config, "--endpoint-url", server.url, env=server.process_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_fargate_fair_share_and_32_job_definitions(
    terraform_cli: Any, moto: MotoServer, tmp_path: Path
) -> None:
    made = handmade.Made()
    client = lambda service: moto.client(service, region=REGION)  # noqa: E731
    handmade.network(client, made)
    handmade.fargate_fair_share(client, made)
    handmade.job_definitions(client, made, count=32)
    imported = import_and_compile(moto, tmp_path)
    check_plan(imported, moto)
    apply_and_verify(imported, moto)
