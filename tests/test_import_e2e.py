"""``batchform import`` of environments made by hand, then Terraform on the emulator.

Each account is made through boto3 (tests/harness/handmade.py: untagged, names chosen by
people), imported with the real command line, compiled, and planned with the import blocks
``compile`` placed in the module: every adopted resource must be planned as an import, and
nothing may be created, replaced or destroyed except what the import listed as left out.
Then apply, re-plan (empty) and ``batchform verify`` (exit 0).
"""

from __future__ import annotations

import json
import re
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
    values: dict[str, tuple[Any, Any]]
    arn: str = ""

    @property
    def detail(self) -> str:
        return json.dumps(self.values)[:800]


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
        values = {k: (before.get(k), after.get(k)) for k in sorted(changed)}
        found[item["address"]] = Change(
            tuple(change["actions"]), "importing" in change, changed, values, str(before.get("arn"))
        )
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

QUEUE_ORDER = frozenset({"compute_environments", "compute_environment_order"})
STATE_ONLY = {"aws_batch_job_definition": frozenset({"deregister_on_new_revision"})}
"""Arguments only the provider keeps (no API field): hashicorp/aws 5.x imports a job
definition with none in its state, and the first apply records the configuration's. The
imported file says false (``keep_old_revisions: true``), which the provider's Update does not
count as a change, so no revision is registered (internal/service/batch/job_definition.go;
``apply_and_verify`` counts the revisions)."""


def same_queue_order(change: Change, replaced_arn: set[str]) -> bool:
    """hashicorp/aws 5.x reads an imported queue's compute environments into the deprecated
    ``compute_environments`` list, with ``compute_environment_order`` empty; batchform writes
    only the order, so the first plan moves the list into it (an in-place update that sends
    the same order: internal/service/batch/job_queue.go, Update). True when the order is
    exactly the list's: nothing in the account changes."""
    listed, _ = change.values.get("compute_environments", (None, None))
    if "compute_environment_order" not in change.values:
        # unknown until apply: a compute environment of the queue is replaced (listed)
        return listed is None or bool(set(listed) & replaced_arn)
    _, order = change.values["compute_environment_order"]
    ordered = [o["compute_environment"] for o in sorted(order or [], key=lambda o: o["order"])]
    return ordered == listed


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


def replaced_compute_environments(plan: dict[str, Change], left_out: set[str]) -> set[str]:
    """ARNs of listed compute environments the plan replaces (their queues' order is then
    unknown until apply)."""
    return {
        change.arn
        for address, change in plan.items()
        if address.startswith("aws_batch_compute_environment.")
        and address.split(".")[1] in left_out
        and "delete" in change.actions
    }


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
    replaced = replaced_compute_environments(plan, left_out)
    unexpected = {}
    for address, change in plan.items():
        if change.actions == ("no-op",) or address.split(".")[1] in left_out:
            continue
        if address in creates and change.actions == ("create",):
            continue
        queue = address.startswith("aws_batch_job_queue.")
        allowed = TAGS | (QUEUE_ORDER if queue else frozenset())
        allowed |= STATE_ONLY.get(address.split(".")[0], frozenset())
        in_place = change.importing and change.actions == ("update",)
        if in_place and change.changed <= allowed and same_queue_order(change, replaced):
            continue
        unexpected[address] = change
    shown = "\n".join(f"{a}: {c.actions} {c.detail}" for a, c in unexpected.items())
    assert not unexpected, f"{shown}\n{imported.stdout}"
    assert set(creates) <= {a for a, c in plan.items() if c.actions == ("create",)}
    return plan


def active_job_definitions(server: MotoServer) -> set[str]:
    batch = server.client("batch", region=REGION)
    pages = batch.get_paginator("describe_job_definitions").paginate(status="ACTIVE")
    return {jd["jobDefinitionArn"] for page in pages for jd in page["jobDefinitions"]}


def apply_and_verify(
    imported: Imported,
    server: MotoServer,
    moto_gaps: dict[str, frozenset[str]] | None = None,
    known_drift: set[str] | None = None,
) -> None:
    """Apply, re-plan (no resource left to change, except the attributes ``moto_gaps`` names
    per address) and ``batchform verify`` (in sync). The apply registers no job definition
    revision and deregisters none: the account's ACTIVE revisions are the same after it."""
    before = active_job_definitions(server)
    tf.apply(imported.module, server.env())
    assert active_job_definitions(server) == before
    replan = plan_changes(imported.module, server)
    changing = {a: c.changed for a, c in replan.items() if c.actions != ("no-op",)}
    assert changing == (moto_gaps or {}), {a: replan[a].detail for a in changing}
    result = run_cli(
        "verify", imported.config, "--endpoint-url", server.url, env=server.process_env()
    )
    out_of_sync = {
        m.group(1)
        for m in re.finditer(r"^(\S+ ?(?:\(older revision\))?) \(.*\): \w+$", result.stdout, re.M)
    }
    assert out_of_sync == (known_drift or set()), result.stdout + result.stderr
    assert result.returncode == (2 if known_drift else 0), result.stdout + result.stderr


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
    # the fixture registers step00 twice: both revisions stay ACTIVE, as they were, and verify
    # accepts the older one (the file keeps old revisions)
    apply_and_verify(imported, moto)


def test_an_exact_adoption_plans_imports_and_tags_only(
    terraform_cli: Any, moto: MotoServer, tmp_path: Path
) -> None:
    """Queues, a fair-share policy and Fargate compute environments: the import exits 0, and
    the plan adds nothing and destroys nothing."""
    made = handmade.Made()
    client = lambda service: moto.client(service, region=REGION)  # noqa: E731
    handmade.network(client, made)
    handmade.fargate_fair_share(client, made)
    imported = import_and_compile(moto, tmp_path)
    assert imported.code == 0, imported.stdout
    plan = check_plan(imported, moto)
    assert {c.actions for c in plan.values()} <= {("no-op",), ("update",)}
    assert sum(c.importing for c in plan.values()) == 6
    apply_and_verify(imported, moto)


def test_ec2_and_spot_on_a_launch_template(
    terraform_cli: Any, moto: MotoServer, tmp_path: Path
) -> None:
    made = handmade.Made()
    client = lambda service: moto.client(service, region=REGION)  # noqa: E731
    handmade.network(client, made)
    handmade.ec2_spot_with_launch_template(client, made)
    handmade.job_definitions(client, made, count=3, fargate=False)
    imported = import_and_compile(moto, tmp_path, "--name", "render")
    check_plan(imported, moto)
    # moto 5.2 ignores computeResources in UpdateComputeEnvironment (docs/sandbox.md): the
    # batchform tags the first apply adds for the instances never reach it, so exactly those
    # show again; on AWS the update applies
    gap = frozenset({"compute_resources"})
    apply_and_verify(
        imported,
        moto,
        {"aws_batch_compute_environment.ondemand": gap, "aws_batch_compute_environment.spot": gap},
        known_drift={
            "compute_environments.ondemand",  # the moto gap above, seen by verify
            "compute_environments.spot",
        },
    )


# --- --from-terraform ---------------------------------------------------------------------------

OLD_MAIN = """\
provider "aws" {
  region = "us-east-1"
}

variable "team" {
  default = "legacy"
}

variable "service_role" {}
variable "subnets" {}
variable "security_group" {}

locals {
  prefix = "${var.team}-batch"
}

resource "aws_batch_compute_environment" "fargate" {
  compute_environment_name = "${local.prefix}-fargate"
  type                     = "MANAGED"
  service_role             = var.service_role

  compute_resources {
    type               = "FARGATE"
    max_vcpus          = 16
    subnets            = var.subnets
    security_group_ids = [var.security_group]
  }
}

resource "aws_batch_job_queue" "main" {
  name     = "${local.prefix}-main"
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.fargate.arn
  }
}

module "batch" {
  source         = "./modules/batch"
  prefix         = local.prefix
  service_role   = var.service_role
  subnets        = var.subnets
  security_group = var.security_group
}
"""

MODULE_MAIN = """\
# The resource shapes of the terraform-aws-batch module (terraform-aws-modules/batch/aws):
# for_each over maps, labelled `this`.
variable "prefix" {}
variable "service_role" {}
variable "subnets" {}
variable "security_group" {}

resource "aws_batch_compute_environment" "this" {
  for_each                 = toset(["spot"])
  compute_environment_name = "${var.prefix}-${each.key}"
  type                     = "MANAGED"
  service_role             = var.service_role

  compute_resources {
    type               = "FARGATE_SPOT"
    max_vcpus          = 32
    subnets            = var.subnets
    security_group_ids = [var.security_group]
  }
}

resource "aws_batch_job_queue" "this" {
  for_each = toset(["low"])
  name     = "${var.prefix}-${each.key}"
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this["spot"].arn
  }
}
"""


def test_from_terraform_adopts_what_the_old_configuration_manages(
    terraform_cli: Any, moto: MotoServer, tmp_path: Path
) -> None:
    """An old configuration (variables, locals, a module of the terraform-aws-batch shapes)
    applied on the emulator is imported with --from-terraform: the new module plans imports
    only, and the old configuration, its Batch resources replaced by the removed blocks,
    plans no destroy."""
    made = handmade.Made()
    client = lambda service: moto.client(service, region=REGION)  # noqa: E731
    handmade.network(client, made)
    role = handmade.service_linked_role(client)
    source = tmp_path / "old-source"
    (source / "modules" / "batch").mkdir(parents=True)
    (source / "main.tf").write_text(OLD_MAIN, encoding="utf-8")
    (source / "modules" / "batch" / "main.tf").write_text(MODULE_MAIN, encoding="utf-8")
    (source / "terraform.tfvars.json").write_text(
        json.dumps(
            {"service_role": role, "subnets": made.subnets, "security_group": made.security_group}
        ),
        encoding="utf-8",
    )
    old = write_moto_copy(source, tmp_path / "old", moto.url, region=REGION)
    tf.init(old, moto.env())
    tf.apply(old, moto.env())

    imported = import_and_compile(moto, tmp_path, "--from-terraform", str(old), "--name", "legacy")
    check_plan(imported, moto)
    removed = (tmp_path / "imported.removed.tf").read_text(encoding="utf-8")
    for address in (
        "aws_batch_compute_environment.fargate",
        "aws_batch_job_queue.main",
        "module.batch.aws_batch_compute_environment.this",
        "module.batch.aws_batch_job_queue.this",
    ):
        assert f"from = {address}\n" in removed

    # the old configuration lets go: its Batch resources are replaced by the removed blocks
    main = OLD_MAIN[: OLD_MAIN.index('resource "aws_batch_compute_environment"')]
    (old / "main.tf").write_text(main, encoding="utf-8")
    (old / "removed.tf").write_text(removed, encoding="utf-8")
    changes = plan_changes(old, moto)
    assert changes and all("delete" not in c.actions for c in changes.values()), changes
