"""The results of ``make bench`` as Markdown: the machine, the compile table, the verify
tables, each target with "met" or "not met"; written between the markers of
benchmarks/README.md.
"""

from __future__ import annotations

import itertools
import os
import platform
import re
import statistics
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.recording import ModeResult
from benchmarks.stages import STAGES, CompileRow

START = "<!-- results:start -->"
END = "<!-- results:end -->"

TARGET_COMPILE_5000_S = 1.5
"""The pipeline (load to emit) at 5000 job definitions, 50 CEs, 50 queues."""
TARGET_PROCESS_5000_S = 2.0
"""The whole ``batchform compile`` process at that size (interpreter start and imports in)."""
TARGET_RSS_5000_MIB = 200
TARGET_LINEARITY = 0.30
TARGET_VERIFY_SPEEDUP = 10.0
BATCH_PAGE = 100
"""Describe calls take up to 100 names (or return up to 100 results) per call."""


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


def minimum_batch_calls(jobs: int, n_ce: int, n_q: int) -> int:
    """Fewest Batch describe calls the 100-per-call limit allows: each resource type in pages
    of 100 (the job definition revisions of one environment fit its ACTIVE listing pages)."""
    pages = -(-jobs // BATCH_PAGE) + -(-n_ce // BATCH_PAGE) + -(-n_q // BATCH_PAGE)
    return pages


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
            "(`tests/harness/aws.py`), then brought into the state with `import` blocks "
            f"in {v.import_s:.0f} s (`benchmarks/deploy.py`; nothing replaced, {v.import_note}), "
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
        "(`compiler/batchform/verify/fetch.py`), which is the fewest the 100-per-call limit "
        "allows: "
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
