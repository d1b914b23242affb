"""The compile benchmark: each stage (load, model, checks, plan, render, emit) timed in a fresh
process, under the command line's garbage-collector policy, and the ``batchform compile``
process timed from outside.

``python -m benchmarks.stages compile|profile CONFIG OUT`` is the timed process: one run of the
pipeline, its numbers (or the profile's shares) printed as JSON.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import ROOT, genenv

COMPILE_SIZES = (10, 100, 1000, 5000)

STAGES = ("load", "model", "checks", "plan", "render", "emit")


def compile_once(config: str, out: str) -> dict[str, Any]:
    """One run of the pipeline in this (fresh) process; prints nothing, returns the numbers."""
    from batchform.checks import run_checks
    from batchform.diagnostics import Level
    from batchform.emit import emit
    from batchform.gc_policy import collector_paused
    from batchform.loader import load_file
    from batchform.model import parse_environment
    from batchform.plan import build_plan
    from batchform.render import render_plan

    cpu0 = time.process_time()
    marks = [time.perf_counter()]
    # The garbage collector policy of the CLI's compile command (compiler/batchform/cli.py, _run).
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

    import batchform.build
    import batchform.checks
    import batchform.emit
    import batchform.plan
    import batchform.render

    batchform.checks.all_rules()  # imports, as compile_once's timing starts after them
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
                [sys.executable, "-m", "benchmarks.stages", "compile", str(config), str(out)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            # The real command, timed from outside: interpreter start and imports included.
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "batchform",
                    "compile",
                    str(config),
                    "-o",
                    str(out) + "-cli",
                ],
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
                [sys.executable, "-m", "benchmarks.stages", "profile", str(config), f"{out}-p"],
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


def main(argv: Sequence[str]) -> int:
    """The timed process: ``compile CONFIG OUT`` or ``profile CONFIG OUT``."""
    if len(argv) != 3 or argv[0] not in ("compile", "profile"):
        print("usage: python -m benchmarks.stages compile|profile CONFIG OUT", file=sys.stderr)
        return 2
    kind, config, out = argv
    result: Any = compile_once(config, out) if kind == "compile" else profile_once(config, out)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
