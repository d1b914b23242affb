"""Terraform runs of the benchmark: an environment applied to moto through the test harness
(``tests/harness/deploy.py``: stand-ins, compile, the moto override, ``terraform init``), with
the apply timed here; optionally its job resources made through boto3
(``tests/harness/aws.py``) and imported into the state; verify and ``terraform plan
-refresh-only`` run as the processes a user runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from batchform.model import Environment
from batchform.sandbox.emulator import MotoServer, moto_server
from batchform.sandbox.override import OVERRIDE_FILENAME, render_override, resource_blocks
from benchmarks import ROOT, genenv
from tests.harness import aws
from tests.harness import terraform as tf
from tests.harness.deploy import deployed_module


@dataclass
class Timed:
    seconds: float
    returncode: int
    output: str = ""


def timed(command: Sequence[str], env: dict[str, str], cwd: Path, ok: Sequence[int]) -> Timed:
    start = time.perf_counter()
    result = subprocess.run(
        list(command), env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - start
    if result.returncode not in ok:
        raise SystemExit(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
    return Timed(seconds, result.returncode, result.stdout)


@dataclass
class Deployed:
    """One environment applied to moto, ready for verify and terraform plan."""

    name: str
    config: Path
    module: Path
    server: MotoServer
    resources: int
    init_s: float
    apply_s: float
    parallelism: int
    boto3_made: int = 0
    boto3_s: float = 0.0
    import_s: float = 0.0
    import_note: str = ""

    def tf_env(self) -> dict[str, str]:
        scratch = self.module.parent / "tmp"
        scratch.mkdir(exist_ok=True)
        return {**tf.current().env(self.server.env()), "TMPDIR": str(scratch)}

    def verify_command(self, url: str | None = None) -> list[str]:
        return [
            sys.executable,
            "-m",
            "batchform",
            "verify",
            str(self.config),
            "--endpoint-url",
            url or self.server.url,
            "--format",
            "json",
        ]

    def point_terraform_at(self, url: str) -> None:
        """Rewrite the module's moto override so the provider sends every call to ``url``."""
        text = render_override(url, resources=resource_blocks(self.module))
        (self.module / OVERRIDE_FILENAME).write_text(text, encoding="utf-8")

    def plan_command(self) -> list[str]:
        return [
            "terraform",
            "plan",
            "-refresh-only",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            "-lock=false",
            f"-parallelism={self.parallelism}",
        ]

    def verify_env(self) -> dict[str, str]:
        return self.server.process_env()

    def run_verify(self, url: str | None = None) -> Timed:
        env = self.verify_env()
        # Any verdict is a finished run (2: drift from moto's known gaps, 1: not all checked);
        # the report says which, and the table shows it.
        return timed(self.verify_command(url), env, ROOT, ok=(0, 1, 2))

    def run_plan(self) -> Timed:
        return timed(self.plan_command(), self.tf_env(), self.module, ok=(0, 2))


BOTO3_TYPES = ("aws_batch_job_definition", "aws_cloudwatch_log_group")
"""With ``--scale-create boto3`` these are registered through boto3 instead of Terraform: they
are 2000 of the ~2300 resources of the 1000-job environment and Terraform needs minutes for
them on moto (measured: see README), which does not fit ``make bench``'s 10-minute budget."""

_RESOURCE = re.compile(r'^resource "([a-z0-9_]+)" "([A-Za-z0-9_-]+)"', re.MULTILINE)


def terraform_targets(module: Path) -> list[str]:
    """Addresses of every resource of ``module`` except the :data:`BOTO3_TYPES`."""
    return [
        f"{kind}.{label}"
        for path in sorted(module.glob("*.tf"))
        for kind, label in _RESOURCE.findall(path.read_text(encoding="utf-8"))
        if kind not in BOTO3_TYPES
    ]


@dataclass
class _Applied:
    """What the timed apply measured (filled in by :func:`deployed`'s apply step)."""

    init_s: float = 0.0
    apply_s: float = 0.0
    resources: int = 0


@contextmanager
def deployed(
    text: str,
    name: str,
    work: Path,
    parallelism: int,
    log: Callable[[str], None],
    create: str = "terraform",
) -> Iterator[Deployed]:
    """Start moto and deploy ``text`` there with the harness; with ``create="boto3"`` the apply
    targets everything but :data:`BOTO3_TYPES`, which ``tests/harness/aws.py`` then makes from
    the plan contexts (references resolved from the state) and :func:`import_into_state`
    imports."""
    base = work / name
    base.mkdir()
    config = base / f"{name}.yaml"
    config.write_text(text, encoding="utf-8")
    applied = _Applied()

    def timed_apply(module: Path, env: dict[str, str]) -> None:
        env = {**env, "TMPDIR": str(base)}
        start = time.perf_counter()
        tf.init(module, env)
        applied.init_s = time.perf_counter() - start
        targets = terraform_targets(module) if create == "boto3" else []
        start = time.perf_counter()
        args = ["apply", "-auto-approve", f"-parallelism={parallelism}"]
        result = tf.terraform(
            [*args, *(f"-target={t}" for t in targets)], module, env, timeout=1800
        )
        applied.apply_s = time.perf_counter() - start
        done = re.search(r"Resources: (\d+) added", result.stdout)
        applied.resources = int(done.group(1)) if done else 0

    with (
        moto_server(region=genenv.REGION) as server,
        deployed_module(server, config, base, apply=timed_apply) as deployment,
    ):
        log(f"{name}: {applied.resources} resources applied to moto in {applied.apply_s:.1f} s")
        d = Deployed(
            name,
            deployment.config,
            deployment.module,
            server,
            applied.resources,
            applied.init_s,
            applied.apply_s,
            parallelism,
        )
        if create == "boto3":
            _create_with_boto3(d, deployment.env, base, log)
        yield d


def _create_with_boto3(
    d: Deployed, env: Environment, base: Path, log: Callable[[str], None]
) -> None:
    """The :data:`BOTO3_TYPES` of ``env`` made through boto3, then imported into the state."""
    start = time.perf_counter()
    made = aws.create_job_resources(env, d.server, aws.state_values(d.module))
    d.boto3_made, d.boto3_s = len(made), time.perf_counter() - start
    log(f"{d.name}: {d.boto3_made} logs + job definitions by boto3 in {d.boto3_s:.1f} s")
    start = time.perf_counter()
    tf_env = {**d.server.env(), "TMPDIR": str(base)}
    imported, updated, attributes = import_into_state(made, d.module, tf_env, d.parallelism)
    d.import_s = time.perf_counter() - start
    d.resources += imported
    changed = ", ".join(attributes) or "-"
    log(
        f"{d.name}: {imported} of them imported into the state in {d.import_s:.1f} s, "
        f"{updated} then updated in place ({changed})"
    )
    d.import_note = f"{updated} updated in place ({changed})"


def import_into_state(
    made: dict[str, str], module: Path, env: dict[str, str], parallelism: int
) -> tuple[int, int, list[str]]:
    """Bring what ``tests/harness/aws.py`` made into the Terraform state with ``import``
    blocks (Terraform >= 1.5), so ``plan -refresh-only`` reads every resource, as after a full
    apply: one read per resource instead of a create and a wait. Returns the count imported,
    the count the same apply then updated in place, and the attributes it updated; nothing
    may be added or destroyed (a replacement would mean boto3 made something else)."""
    blocks = [f'import {{\n  to = {to}\n  id = "{ident}"\n}}\n' for to, ident in made.items()]
    imports = module / "zz_bench_imports.tf"
    imports.write_text("\n".join(blocks), encoding="utf-8")
    try:
        result = tf.terraform(
            ["apply", "-auto-approve", f"-parallelism={parallelism}"], module, env, timeout=1800
        )
    finally:
        imports.unlink()
    pattern = r"Resources: (\d+) imported, (\d+) added, (\d+) changed, (\d+) destroyed"
    done = re.search(pattern, result.stdout)
    if done is None or done.group(2, 4) != ("0", "0"):
        summary = done.group(0) if done else result.stdout[-2000:]
        raise SystemExit(f"importing the boto3-made resources replaced something: {summary}")
    # "~ attr = old -> new", or "+ attr = value" for what an import could not read back
    changed = sorted(set(re.findall(r"^\s+[~+-] (\w+)\s+=", result.stdout, re.MULTILINE)))
    return int(done.group(1)), int(done.group(3)), changed
