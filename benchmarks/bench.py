"""``make bench``: how fast batchform compiles and verifies, as a table in benchmarks/README.md.

Three measurements, each against the targets of the project's performance issue:

1. compile: synthetic environments of 10, 100, 1000 and 5000 job definitions (benchmarks/genenv.py)
   through the whole pipeline (read the YAML file, model, checks, plan, render, write to a temp
   directory). Every run is a fresh ``python`` process, so no run inherits warm caches or the
   garbage of another; the garbage collector follows the CLI's policy (paused for the whole
   command by ``compiler.gc_policy.collector_paused``). Reported: medians of the runs per
   stage, the wall time of a separate ``batchform compile`` process (interpreter start and
   imports included), CPU time, peak RSS (``ru_maxrss``) and the output size.
2. verify vs terraform: a 3-CE / 3-queue / 50-job-definition environment (VPC with NAT gateway,
   IAM roles) compiled, applied with Terraform to a local moto server, then
   ``batchform verify`` and ``terraform plan -refresh-only -detailed-exitcode`` back to back for
   several rounds. API calls are counted server side with moto's request recorder.
3. verify at scale: 1000 job definitions, 50 queues, 50 compute environments in moto.

Run ``python benchmarks/bench.py --help``; ``--quick`` is a smoke run of a few seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import genenv  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)
import latency_proxy  # noqa: E402

REGION = genenv.REGION
START = "<!-- results:start -->"
END = "<!-- results:end -->"

COMPILE_SIZES = (10, 100, 1000, 5000)
TARGET_COMPILE_5000_S = 1.5
"""The pipeline (load to emit) at 5000 job definitions, 50 CEs, 50 queues."""
TARGET_PROCESS_5000_S = 2.0
"""The whole ``batchform compile`` process at that size (interpreter start and imports in)."""
TARGET_RSS_5000_MIB = 200
TARGET_LINEARITY = 0.30
TARGET_VERIFY_SPEEDUP = 10.0
BATCH_PAGE = 100
"""Describe calls take up to 100 names (or return up to 100 results) per call."""


# --- compile ---------------------------------------------------------------------------------

STAGES = ("load", "model", "checks", "plan", "render", "emit")


def compile_once(config: str, out: str) -> dict[str, Any]:
    """One run of the pipeline in this (fresh) process; prints nothing, returns the numbers."""
    from compiler.checks import run_checks
    from compiler.diagnostics import Level
    from compiler.emit import emit
    from compiler.gc_policy import collector_paused
    from compiler.loader import load_file
    from compiler.model import parse_environment
    from compiler.plan import build_plan
    from compiler.render import render_plan

    cpu0 = time.process_time()
    marks = [time.perf_counter()]
    # The garbage collector policy of the CLI's compile command (compiler/cli.py, _run).
    with collector_paused():
        doc = load_file(config)
        marks.append(time.perf_counter())
        env, diags = parse_environment(doc.data)
        marks.append(time.perf_counter())
        if env is None:
            raise SystemExit(f"{config}: does not model: {diags[:3]}")
        diags = run_checks(env, ())
        marks.append(time.perf_counter())
        plan = build_plan(env, Path(config).name)
        marks.append(time.perf_counter())
        files = render_plan(plan)
        marks.append(time.perf_counter())
        emit(files, Path(out) / env.name)
        marks.append(time.perf_counter())
    times = {stage: marks[i + 1] - marks[i] for i, stage in enumerate(STAGES)}
    return {
        "stages": times,
        "pipeline": marks[-1] - marks[0],
        "cpu": time.process_time() - cpu0,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "errors": sum(d.level == Level.ERROR for d in diags),
        "warnings": sum(d.level == Level.WARNING for d in diags),
        "files": len(files),
        "bytes": sum(len(text.encode("utf-8")) for text in files.values()),
        "resources": sum(text.count('\nresource "') for text in files.values()),
    }


def _area(filename: str) -> str:
    """Where a profiled function lives, coarsely: a compiler module, the templates, a package."""
    if filename == "~" or filename.startswith("<"):
        return "C built-ins called from C"
    if filename.endswith(".j2"):
        return "templates/*.j2 (Jinja's compiled template code)"
    if "/site-packages/" in filename:
        return filename.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/compiler/" in filename:
        return "compiler/" + filename.rsplit("/compiler/", 1)[1]
    return "stdlib " + Path(filename).stem


def profile_once(config: str, out: str) -> list[tuple[str, float]]:
    """The share of the pipeline's time per :func:`_area` under cProfile, C functions (``re``,
    ``str.join``, libyaml) counted with the Python code that called them. cProfile slows
    Python calls more than C work, so shares are approximate; the stage times are not."""
    import cProfile
    import pstats

    import compiler.build
    import compiler.checks
    import compiler.emit
    import compiler.plan
    import compiler.render

    compiler.checks.all_rules()  # imports, as compile_once's timing starts after them
    profiler = cProfile.Profile()
    profiler.enable()
    compile_once(config, out)
    profiler.disable()
    by_area: Counter[str] = Counter()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, tottime, _, callers) in stats.items():
        if filename == "~" and callers:
            for (caller_file, _, _), (_, _, from_caller, _) in callers.items():
                by_area[_area(caller_file)] += from_caller
        else:
            by_area[_area(filename)] += tottime
    total = sum(by_area.values()) or 1.0
    return [(area, t / total) for area, t in by_area.most_common(12)]


@dataclass
class CompileRow:
    jobs: int
    compute_environments: int
    queues: int
    runs: list[dict[str, Any]] = field(default_factory=list)
    process_wall: list[float] = field(default_factory=list)
    profile: list[tuple[str, float]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return float(statistics.median(r[key] for r in self.runs))

    def stage(self, name: str) -> float:
        return float(statistics.median(r["stages"][name] for r in self.runs))


def bench_compile(
    sizes: Sequence[int], rounds: int, work: Path, log: Callable[[str], None]
) -> list[CompileRow]:
    rows = []
    for n in sizes:
        n_ce = genenv.scaled_count(n)
        config = work / f"bench-{n}.yaml"
        config.write_text(genenv.environment_yaml(n), encoding="utf-8")
        row = CompileRow(n, n_ce, n_ce)
        for i in range(rounds):
            out = work / f"out-{n}-{i}"
            result = subprocess.run(
                [sys.executable, str(Path(__file__)), "_compile-once", str(config), str(out)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            # The real command, timed from outside: interpreter start and imports included.
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "compiler", "compile", str(config), "-o", str(out) + "-cli"],
                capture_output=True,
                check=True,
                cwd=ROOT,
            )
            row.process_wall.append(time.perf_counter() - start)
            run = json.loads(result.stdout)
            if run["errors"]:
                raise SystemExit(f"{config}: {run['errors']} error(s): the generator is broken")
            row.runs.append(run)
        if n == max(sizes):
            profiled = subprocess.run(
                [sys.executable, str(Path(__file__)), "_profile-once", str(config), str(out)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            row.profile = [tuple(x) for x in json.loads(profiled.stdout)]
        log(
            f"compile {n:>5} job definitions: pipeline {row.median('pipeline'):.3f} s "
            f"(median of {rounds}), process {statistics.median(row.process_wall):.3f} s"
        )
        rows.append(row)
    return rows


# --- moto behind a proxy: counting requests, adding latency ----------------------------------


@dataclass
class Mode:
    """How the tools reach moto in one part of the run: directly, or through a latency proxy."""

    label: str
    delay_s: float = 0.0
    iam_rate: float | None = None
    iam_burst: int = latency_proxy.DEFAULT_IAM_BURST

    @property
    def plain(self) -> bool:
        return self.delay_s == 0 and self.iam_rate is None

    def describe(self) -> str:
        if self.plain:
            return "moto on 127.0.0.1, directly"
        throttle = (
            f", IAM throttled past {self.iam_rate:g} requests/s (bursts of {self.iam_burst})"
            if self.iam_rate
            else ""
        )
        return f"through the latency proxy: {self.delay_s * 1000:.0f} ms per request{throttle}"


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
    server: Any
    cli: Any
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
        return {**self.cli.env(self.server.env()), "TMPDIR": str(scratch)}

    def verify_command(self, url: str | None = None) -> list[str]:
        return [
            sys.executable,
            "-m",
            "compiler",
            "verify",
            str(self.config),
            "--endpoint-url",
            url or self.server.url,
            "--format",
            "json",
        ]

    def point_terraform_at(self, url: str) -> None:
        """Rewrite the module's moto override so the provider sends every call to ``url``."""
        from compiler.sandbox.override import OVERRIDE_FILENAME, render_override, resource_blocks

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


def terraform_targets(files: dict[str, str]) -> list[str]:
    """Addresses of every resource except the ones :func:`create_with_boto3` makes."""
    return [
        f"{kind}.{label}"
        for text in files.values()
        for kind, label in _RESOURCE.findall(text)
        if kind not in BOTO3_TYPES
    ]


def _state_values(module: Path) -> dict[str, Any]:
    """``{"type.label.attribute": value}`` of every resource and data source in the state."""
    state = json.loads((module / "terraform.tfstate").read_text(encoding="utf-8"))
    values: dict[str, Any] = {}
    for block in state["resources"]:
        prefix = "data." if block["mode"] == "data" else ""
        for instance in block["instances"]:
            for attribute, value in instance["attributes"].items():
                values[f"{prefix}{block['type']}.{block['name']}.{attribute}"] = value
    return values


def _resolve(value: Any, values: dict[str, Any]) -> Any:
    """A plan value with every Terraform reference (``Expr``) replaced by its applied value."""
    from compiler.render import Expr

    if isinstance(value, Expr):
        return values[str(value)]
    if isinstance(value, dict):
        return {k: _resolve(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, values) for v in value]
    return value


def create_with_boto3(env: Any, module: Path, server: Any) -> dict[str, str]:
    """Create the log groups and job definitions of ``env`` the way the provider would: the
    same plan contexts the templates render, Terraform references resolved from the state of
    the targeted apply, tags merged with the provider's default tags. Returns the Terraform
    address and import id (log group name, job definition ARN) of each."""
    from compiler.plan import jobs as plan_jobs

    contexts = plan_jobs.plan(env)
    values = _state_values(module)
    default_tags = dict(env.tags)
    logs = server.client("logs", env.region)
    batch = server.client("batch", env.region)
    made: dict[str, str] = {}
    for group in contexts.get("logs.tf", {}).get("log_groups", []):
        logs.create_log_group(logGroupName=group["name"], tags={**default_tags, **group["tags"]})
        logs.put_retention_policy(
            logGroupName=group["name"], retentionInDays=group["retention_in_days"]
        )
        values[f"aws_cloudwatch_log_group.{group['label']}.name"] = group["name"]
        made[f"aws_cloudwatch_log_group.{group['label']}"] = group["name"]
    for job in contexts.get("job_definitions.tf", {}).get("jobs", []):
        request: dict[str, Any] = {
            "jobDefinitionName": job["name"],
            "type": "container",
            "platformCapabilities": job["platform_capabilities"],
            "propagateTags": job["propagate_tags"],
            "containerProperties": _resolve(job["container_properties"], values),
            "tags": {**default_tags, **job["tags"]},
        }
        if job["parameters"]:
            request["parameters"] = job["parameters"]
        retry = job["retry_strategy"]
        if retry is not None:
            names = {"on_exit_code": "onExitCode", "on_reason": "onReason"}
            names["on_status_reason"] = "onStatusReason"
            request["retryStrategy"] = {
                "attempts": retry["attempts"],
                "evaluateOnExit": [
                    {names.get(k, k): v for k, v in rule.items()}
                    for rule in retry["evaluate_on_exit"]
                ],
            }
        if job["timeout"] is not None:
            request["timeout"] = {"attemptDurationSeconds": job["timeout"]}
        arn = batch.register_job_definition(**request)["jobDefinitionArn"]
        made[f"aws_batch_job_definition.{job['label']}"] = arn
    return made


@contextmanager
def deployed(
    text: str,
    name: str,
    work: Path,
    parallelism: int,
    log: Callable[[str], None],
    create: str = "terraform",
) -> Iterator[Deployed]:
    """Compile ``text``, start moto, terraform init + apply; with ``create="boto3"`` the apply
    targets everything but :data:`BOTO3_TYPES`, which :func:`create_with_boto3` then makes and
    :func:`import_into_state` imports."""
    from compiler.build import analyze_text, render_environment
    from compiler.sandbox import terraform as tf
    from compiler.sandbox.emulator import moto_server, service_linked_batch_role
    from compiler.sandbox.override import write_moto_module

    base = work / name
    base.mkdir()
    config = base / f"{name}.yaml"
    config.write_text(text, encoding="utf-8")
    analysis = analyze_text(text, str(config))
    if analysis.failed() or analysis.env is None:
        raise SystemExit(f"{name}: the generated environment has errors")
    files = render_environment(analysis.env, config.name)
    with moto_server(region=REGION) as server:
        service_linked_batch_role(server)
        module = write_moto_module(files, base / "module", server.url)
        cli = tf.TerraformCLI.for_user(base)
        env = {**server.env(), "TMPDIR": str(base)}
        start = time.perf_counter()
        tf.run(cli, ["init"], module, env)
        init_s = time.perf_counter() - start
        targets = terraform_targets(files) if create == "boto3" else []
        start = time.perf_counter()
        result = tf.run(
            cli,
            [
                "apply",
                "-auto-approve",
                f"-parallelism={parallelism}",
                *(f"-target={t}" for t in targets),
            ],
            module,
            env,
            timeout=1800,
        )
        apply_s = time.perf_counter() - start
        done = re.search(r"Resources: (\d+) added", result.stdout)
        resources = int(done.group(1)) if done else 0
        log(f"{name}: {resources} resources applied to moto in {apply_s:.1f} s")
        boto3_made, boto3_s, import_s, import_note = 0, 0.0, 0.0, ""
        if create == "boto3":
            start = time.perf_counter()
            made = create_with_boto3(analysis.env, module, server)
            boto3_made, boto3_s = len(made), time.perf_counter() - start
            log(f"{name}: {boto3_made} logs + job definitions by boto3 in {boto3_s:.1f} s")
            start = time.perf_counter()
            imported, updated, attributes = import_into_state(made, module, cli, env, parallelism)
            import_s = time.perf_counter() - start
            resources += imported
            log(
                f"{name}: {imported} of them imported into the state in {import_s:.1f} s, "
                f"{updated} then updated in place ({', '.join(attributes) or '-'})"
            )
            import_note = f"{updated} updated in place ({', '.join(attributes) or '-'})"
        yield Deployed(
            name,
            config,
            module,
            server,
            cli,
            resources,
            init_s,
            apply_s,
            parallelism,
            boto3_made,
            boto3_s,
            import_s,
            import_note,
        )


def import_into_state(
    made: dict[str, str], module: Path, cli: Any, env: dict[str, str], parallelism: int
) -> tuple[int, int, list[str]]:
    """Bring what :func:`create_with_boto3` made into the Terraform state with ``import``
    blocks (Terraform >= 1.5), so ``plan -refresh-only`` reads every resource, as after a full
    apply: one read per resource instead of a create and a wait. Returns the count imported,
    the count the same apply then updated in place, and the attributes it updated; nothing
    may be added or destroyed (a replacement would mean boto3 made something else)."""
    from compiler.sandbox import terraform as tf

    blocks = [f'import {{\n  to = {to}\n  id = "{ident}"\n}}\n' for to, ident in made.items()]
    imports = module / "zz_bench_imports.tf"
    imports.write_text("\n".join(blocks), encoding="utf-8")
    try:
        result = tf.run(
            cli,
            ["apply", "-auto-approve", f"-parallelism={parallelism}"],
            module,
            env,
            timeout=1800,
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


@dataclass
class ModeResult:
    """verify and ``plan -refresh-only`` timed in one :class:`Mode`, with one more run of each
    through a proxy to count its calls, throttled answers and sequential rounds."""

    mode: Mode
    verify_s: list[float]
    plan_s: list[float]
    verify_calls: Counter[str]
    plan_calls: Counter[str]
    verify_throttled: int
    plan_throttled: int
    verify_rounds: int
    plan_rounds: int
    verify_exit: int
    plan_exit: int

    @property
    def ratios(self) -> list[float]:
        return [p / v for v, p in zip(self.verify_s, self.plan_s, strict=True)]


@dataclass
class VerifyResult:
    label: str
    jobs: int
    compute_environments: int
    queues: int
    resources: int
    apply_s: float
    parallelism: int
    modes: list[ModeResult]
    verify_maxrss_kib: int
    verify_summary: str
    boto3_made: int = 0
    boto3_s: float = 0.0
    import_s: float = 0.0
    import_note: str = ""


def _verify_peak_rss(d: Deployed) -> int:
    """Peak RSS of one ``batchform verify`` process (``ru_maxrss`` of the waited-for child)."""
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = d.verify_env()
    out = subprocess.run(
        [sys.executable, "-c", code, *d.verify_command()],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def _summary(verify_stdout: str) -> str:
    """verify's verdict and which attributes differed (on moto: the emulator's known gaps)."""
    try:
        report = json.loads(verify_stdout)
    except json.JSONDecodeError:
        return "unreadable report"
    resources = report.get("resources", [])
    attributes = sorted(
        {d.get("attribute") or "existence" for r in resources for d in r.get("differences", [])}
    )
    unchecked = sum(1 for r in resources if r.get("unchecked")) + len(report.get("incomplete", []))
    text = f"{report.get('result', '?')}, {len(resources)} resources compared"
    if attributes:
        text += f"; differing attributes: {', '.join(attributes[:6])}"
    if unchecked:
        text += f"; {unchecked} not checked"
    return text


def _run_mode(d: Deployed, mode: Mode, rounds: int, log: Callable[[str], None]) -> ModeResult:
    """``rounds`` rounds of verify and plan back to back, then one counted run of each."""
    with latency_proxy.LatencyProxy(
        d.server.url, mode.delay_s, mode.iam_rate, mode.iam_burst
    ) as proxy:
        url = None if mode.plain else proxy.url
        d.point_terraform_at(url or d.server.url)
        verify_s: list[float] = []
        plan_s: list[float] = []
        verify_run = plan_run = Timed(0.0, -1)
        for i in range(rounds):
            verify_run = d.run_verify(url)
            plan_run = d.run_plan()
            verify_s.append(verify_run.seconds)
            plan_s.append(plan_run.seconds)
            log(
                f"{d.name} {mode.label} round {i + 1}/{rounds}: verify {verify_run.seconds:.2f} s, "
                f"plan -refresh-only {plan_run.seconds:.2f} s"
            )
        # The counted runs always go through the proxy (with no delay in the plain mode).
        d.point_terraform_at(proxy.url)
        proxy.reset()
        d.run_verify(proxy.url)
        verify_calls, verify_throttled, verify_rounds = proxy.summary()
        proxy.reset()
        d.run_plan()
        plan_calls, plan_throttled, plan_rounds = proxy.summary()
        d.point_terraform_at(d.server.url)
    return ModeResult(
        mode,
        verify_s,
        plan_s,
        verify_calls,
        plan_calls,
        verify_throttled,
        plan_throttled,
        verify_rounds,
        plan_rounds,
        verify_run.returncode,
        plan_run.returncode,
    )


def bench_verify(
    label: str,
    jobs: int,
    n_ce: int,
    n_q: int,
    rounds: int,
    parallelism: int,
    modes: Sequence[Mode],
    work: Path,
    log: Callable[[str], None],
    create: str = "terraform",
) -> VerifyResult:
    """Deploy, then time verify and ``plan -refresh-only`` in each mode."""
    text = genenv.environment_yaml(
        jobs, compute_environments=n_ce, job_queues=n_q, name=f"bench-{label}"
    )
    with deployed(text, f"bench-{label}", work, parallelism, log, create) as d:
        results = [_run_mode(d, mode, rounds, log) for mode in modes]
        rss = _verify_peak_rss(d)
        summary = _summary(d.run_verify().output)
        return VerifyResult(
            label=label,
            jobs=jobs,
            compute_environments=n_ce,
            queues=n_q,
            resources=d.resources,
            apply_s=d.apply_s,
            parallelism=parallelism,
            modes=results,
            verify_maxrss_kib=rss,
            verify_summary=summary,
            boto3_made=d.boto3_made,
            boto3_s=d.boto3_s,
            import_s=d.import_s,
            import_note=d.import_note,
        )


def minimum_batch_calls(jobs: int, n_ce: int, n_q: int) -> int:
    """Fewest Batch describe calls the 100-per-call limit allows: each resource type in pages
    of 100 (the job definition revisions of one environment fit its ACTIVE listing pages)."""
    pages = -(-jobs // BATCH_PAGE) + -(-n_ce // BATCH_PAGE) + -(-n_q // BATCH_PAGE)
    return pages


# --- report ------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(command: Sequence[str], pattern: str) -> str:
    try:
        out = subprocess.run(list(command), capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    found = re.search(pattern, out)
    return found.group(1) if found else "?"


def machine() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    mirror_versions = sorted(
        p.name for p in Path("/opt/tf-plugins/registry.terraform.io/hashicorp/aws").glob("*")
    )
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "load": f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "terraform": _version(["terraform", "version"], r"Terraform v(\S+)"),
        "provider": "hashicorp/aws " + (", ".join(mirror_versions) or "from registry"),
        "moto": pkg("moto"),
        "boto3": pkg("boto3"),
        "pydantic": pkg("pydantic"),
        "jinja2": pkg("jinja2"),
        "pyyaml": pkg("PyYAML"),
    }


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _calls(counts: Counter[str]) -> str:
    total = sum(counts.values())
    detail = ", ".join(f"{service} {n}" for service, n in counts.most_common())
    return f"{total} ({detail})"


def render_results(
    info: dict[str, str],
    rows: list[CompileRow],
    verifies: list[VerifyResult],
    rounds: int,
    quick: bool,
) -> str:
    out: list[str] = []
    out.append(
        f"Measured {info['date']} by `make bench` on {info['cpu']}, {info['cores']} cores "
        f"(load average at the end: {info['load']}), {info['os']}; Python {info['python']}, "
        f"Terraform {info['terraform']}, {info['provider']}, moto {info['moto']}, "
        f"boto3 {info['boto3']}, pydantic {info['pydantic']}, Jinja2 {info['jinja2']}, "
        f"PyYAML {info['pyyaml']}."
        + (" **Quick run (`--quick`): not the published numbers.**" if quick else "")
    )
    if rows:
        out += _compile_section(rows, rounds)
    for v in verifies:
        out += _verify_section(v)
    return "\n".join(out)


def _compile_section(rows: list[CompileRow], rounds: int) -> list[str]:
    out: list[str] = []
    out.append("")
    out.append(f"### Compile (median of {rounds} fresh processes per size)")
    out.append("")
    out.append(
        "| job defs | CEs | queues | resources | pipeline | per job def | load | model | "
        "checks | plan | render | emit | `batchform compile` | CPU | peak RSS | output |"
    )
    out.append("|" + "---:|" * 16)
    for r in rows:
        per_job = r.median("pipeline") / r.jobs * 1000
        run = r.runs[0]
        out.append(
            f"| {r.jobs} | {r.compute_environments} | {r.queues} | {run['resources']} "
            f"| {r.median('pipeline'):.3f} s | {per_job:.2f} ms "
            + " ".join(f"| {r.stage(s):.3f}" for s in STAGES)
            + f" | {statistics.median(r.process_wall):.2f} s | {r.median('cpu'):.2f} s "
            f"| {r.median('maxrss_kib') / 1024:.0f} MiB "
            f"| {run['files']} files, {run['bytes'] / 1024:.0f} KiB |"
        )
    out.append("")
    by_size = {r.jobs: r for r in rows}
    if 5000 in by_size:
        big = by_size[5000]
        t = big.median("pipeline")
        wall = statistics.median(big.process_wall)
        rss = big.median("maxrss_kib") / 1024
        out.append(
            f"- Target: 5000 job definitions through the pipeline in under "
            f"{TARGET_COMPILE_5000_S:g} s: measured {t:.2f} s "
            f"{_met(t < TARGET_COMPILE_5000_S)}; the whole `batchform compile` process in under "
            f"{TARGET_PROCESS_5000_S:g} s: measured {wall:.2f} s "
            f"{_met(wall < TARGET_PROCESS_5000_S)}; peak RSS under {TARGET_RSS_5000_MIB} MiB: "
            f"measured {rss:.0f} MiB {_met(rss < TARGET_RSS_5000_MIB)}."
        )
    linear = [r for r in rows if r.jobs >= 100]
    if len(linear) >= 2:
        per = [r.median("pipeline") / r.jobs for r in linear]
        marginal = [
            (b.median("pipeline") - a.median("pipeline")) / (b.jobs - a.jobs)
            for a, b in itertools.pairwise(linear)
        ]
        spread = max(marginal) / min(marginal) - 1 if min(marginal) > 0 else float("inf")
        out.append(
            "- Target: the marginal cost per job definition flat up to 5000. Each job "
            "definition added costs "
            + ", ".join(
                f"{m * 1000:.2f} ms ({a.jobs} to {b.jobs})"
                for m, (a, b) in zip(marginal, itertools.pairwise(linear), strict=True)
            )
            + f": spread {spread:.0%}, flat within {TARGET_LINEARITY:.0%}: "
            + _met(spread <= TARGET_LINEARITY)
            + ". The time per job definition ("
            + ", ".join(f"{p * 1000:.2f} ms" for p in per)
            + ") falls with size because fixed work (compiling the Jinja templates, the "
            "instance-type table) is spread over more job definitions."
        )
    profiled = [r for r in rows if r.profile]
    if profiled:
        r = profiled[-1]
        out.append(
            f"- Where the time goes at {r.jobs} job definitions (one more run under cProfile; "
            "C functions counted with their Python caller): "
            + ", ".join(f"{area} {share:.0%}" for area, share in r.profile)
            + "."
        )
    out.append(
        "- Every generated environment validates with 0 errors and 0 warnings "
        "(tests/test_bench_smoke.py keeps the generator honest)."
        if all(r.runs[0]["errors"] == 0 and r.runs[0]["warnings"] == 0 for r in rows)
        else "- Some generated environments had warnings (no errors)."
    )
    return out


def _verify_section(v: VerifyResult) -> list[str]:
    out = [""]
    out.append(
        f"### Verify vs `terraform plan -refresh-only`: {v.jobs} job definitions, "
        f"{v.compute_environments} CEs, {v.queues} queues"
    )
    out.append("")
    how = (
        f"Applied to moto with `terraform apply -parallelism={v.parallelism}`: "
        f"{v.resources} resources in {v.apply_s:.0f} s."
    )
    if v.boto3_made:
        how = (
            f"Network, IAM, compute environments and queues applied to moto with "
            f"`terraform apply -parallelism={v.parallelism} -target=...` in {v.apply_s:.0f} s; "
            f"the {v.boto3_made} log groups and job definitions registered through boto3 in "
            f"{v.boto3_s:.0f} s from the same plan contexts the templates render "
            "(`bench.py create_with_boto3`), then brought into the state with `import` blocks "
            f"in {v.import_s:.0f} s (`import_into_state`; nothing replaced, {v.import_note}), "
            "because "
            "Terraform needs several minutes to create them on moto (see the note below). "
            f"{v.resources} resources in the state."
        )
    rounds = len(v.modes[0].verify_s) if v.modes else 0
    how += (
        f" Then, in each mode, {rounds} rounds of `batchform verify` and `terraform plan "
        f"-refresh-only -detailed-exitcode -parallelism={v.parallelism}` back to back, both as "
        "the CLI processes a user runs; calls and rounds from one more run of each through the "
        "proxy."
    )
    out.append(how)
    out.append("")
    out.append(
        "| mode | | median wall | min | max | API calls (by service) | throttled "
        "| sequential rounds | exit code |"
    )
    out.append("|---|---|---:|---:|---:|---|---:|---:|---:|")
    for m in v.modes:
        for tool, seconds, calls, throttled, depth, code in (
            (
                "`batchform verify`",
                m.verify_s,
                m.verify_calls,
                m.verify_throttled,
                m.verify_rounds,
                m.verify_exit,
            ),
            (
                "`terraform plan -refresh-only`",
                m.plan_s,
                m.plan_calls,
                m.plan_throttled,
                m.plan_rounds,
                m.plan_exit,
            ),
        ):
            out.append(
                f"| {m.mode.label} | {tool} | {statistics.median(seconds):.2f} s "
                f"| {min(seconds):.2f} s | {max(seconds):.2f} s | {_calls(calls)} "
                f"| {throttled} | {depth} | {code} |"
            )
    out.append("")
    for m in v.modes:
        ratio = statistics.median(m.ratios)
        out.append(
            f"- {m.mode.label} ({m.mode.describe()}): target verify at least "
            f"{TARGET_VERIFY_SPEEDUP:g}x faster; measured median ratio {ratio:.1f}x (per round: "
            + ", ".join(f"{r:.1f}x" for r in m.ratios)
            + f"). {_met(ratio >= TARGET_VERIFY_SPEEDUP)}"
        )
    batch = v.modes[0].verify_calls.get("batch", 0) if v.modes else 0
    minimum = minimum_batch_calls(v.jobs, v.compute_environments, v.queues)
    out.append(
        f"- Batch calls by verify: {batch} on moto, which ignores `maxResults` and answers every "
        "describe in one page. Against AWS verify asks for pages of 100 "
        "(`compiler/verify/fetch.py`), which is the fewest the 100-per-call limit allows: "
        f"{minimum} describe pages for these {v.jobs} job definitions, "
        f"{v.compute_environments} compute environments and {v.queues} queues, plus one "
        "`ListSchedulingPolicies`."
    )
    out.append(f"- Peak RSS of the verify process: {v.verify_maxrss_kib / 1024:.0f} MiB.")
    out.append(f"- verify's verdict on moto: {v.verify_summary}.")
    return out


def write_readme(readme: Path, results: str) -> None:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{results}\n{END}{tail}", encoding="utf-8")


def precompile(log: Callable[[str], None]) -> None:
    """Write batchform's bytecode, as ``pip install`` does for an installed package.

    The editable install of a checkout has none, and with ``PYTHONDONTWRITEBYTECODE`` set (as on
    some CI machines) Python would compile every module again in each timed process.
    """
    import compileall

    ok = compileall.compile_dir(str(ROOT / "compiler"), quiet=1)
    log("bytecode of compiler/ written" if ok else "compileall reported errors")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["_compile-once"]:
        print(json.dumps(compile_once(args[1], args[2])))
        return 0
    if args[:1] == ["_profile-once"]:
        print(json.dumps(profile_once(args[1], args[2] + "-profile")))
        return 0
    parser = argparse.ArgumentParser(
        description="Benchmarks of batchform; see benchmarks/README.md"
    )
    parser.add_argument("--sizes", default=",".join(map(str, COMPILE_SIZES)))
    parser.add_argument("--rounds", type=int, default=5, help="compile runs per size")
    parser.add_argument("--verify-rounds", type=int, default=5)
    parser.add_argument("--scale-jobs", type=int, default=1000)
    parser.add_argument(
        "--parallelism",
        type=int,
        default=10,
        help="terraform -parallelism of the 50-job run (10: Terraform's default)",
    )
    parser.add_argument(
        "--scale-parallelism",
        type=int,
        default=30,
        help="terraform -parallelism of the scale run: each queue and compute environment "
        "waits ~30 s for VALID, so 100 of them at 10 take minutes",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=latency_proxy.DEFAULT_DELAY_S * 1000,
        help="delay the latency proxy adds to every request (0: no latency mode)",
    )
    parser.add_argument(
        "--iam-rate",
        type=float,
        default=latency_proxy.DEFAULT_IAM_RATE,
        help="IAM requests per second the latency proxy lets through before it answers "
        "Throttling (0: never)",
    )
    parser.add_argument("--iam-burst", type=int, default=latency_proxy.DEFAULT_IAM_BURST)
    parser.add_argument("--skip-moto", action="store_true", help="compile benchmark only")
    parser.add_argument("--skip-compile", action="store_true", help="no compile benchmark")
    parser.add_argument("--skip-verify", action="store_true", help="no 50-job moto run")
    parser.add_argument("--skip-scale", action="store_true", help="no 1000-job moto run")
    parser.add_argument(
        "--scale-create",
        choices=["boto3", "terraform"],
        default="boto3",
        help="how the scale run creates its log groups and job definitions (boto3, then "
        "imported into the Terraform state; terraform: several minutes more)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke run")
    parser.add_argument("--readme", type=Path, default=HERE / "README.md")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    opts = parser.parse_args(args)
    sizes = [int(s) for s in opts.sizes.split(",")]
    if opts.quick:
        sizes, opts.rounds, opts.verify_rounds, opts.scale_jobs = [10, 100], 1, 1, 100

    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    precompile(log)
    modes = [Mode("plain")]
    if opts.latency_ms > 0:
        modes.append(Mode("latency", opts.latency_ms / 1000, opts.iam_rate or None, opts.iam_burst))
    with tempfile.TemporaryDirectory(prefix="batchform-bench-") as tmp:
        work = Path(tmp)
        rows = [] if opts.skip_compile else bench_compile(sizes, opts.rounds, work, log)
        verifies: list[VerifyResult] = []
        if not opts.skip_moto:
            if not opts.skip_verify:
                verifies.append(
                    bench_verify(
                        "verify", 50, 3, 3, opts.verify_rounds, opts.parallelism, modes, work, log
                    )
                )
            if not opts.skip_scale:
                n = genenv.MAX_PER_REGION
                verifies.append(
                    bench_verify(
                        "scale",
                        opts.scale_jobs,
                        n,
                        n,
                        max(1, opts.verify_rounds // 2),
                        opts.scale_parallelism,
                        modes,
                        work,
                        log,
                        opts.scale_create,
                    )
                )
    info = machine()
    results = render_results(info, rows, verifies, opts.rounds, opts.quick)
    if opts.json:
        raw = {
            "machine": info,
            "compile": [r.__dict__ for r in rows],
            "verify": [v.__dict__ for v in verifies],
        }
        opts.json.write_text(json.dumps(raw, indent=2, default=str), encoding="utf-8")
    if opts.no_readme:
        print(results)
    else:
        write_readme(opts.readme, results)
        log(f"results written to {opts.readme}")
    log("done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
