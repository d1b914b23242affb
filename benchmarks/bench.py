"""``make bench`` (``python -m benchmarks``): how fast batchform compiles and verifies, as a
table in benchmarks/README.md.

Three measurements, each against the targets of the project's performance issue:

1. compile (``benchmarks/stages.py``): synthetic environments of 10, 100, 1000 and 5000 job
   definitions (``benchmarks/genenv.py``) through the whole pipeline, each run a fresh process
   under the command line's garbage-collector policy; stage medians, the wall time of a
   separate ``batchform compile`` process, CPU time, peak RSS and the output size.
2. verify vs terraform: a 3-CE / 3-queue / 50-job-definition environment (VPC with NAT gateway,
   IAM roles) applied to a local moto server (``benchmarks/deploy.py``), then
   ``batchform verify`` and ``terraform plan -refresh-only -detailed-exitcode`` back to back for
   several rounds, API calls recorded by the proxy (``benchmarks/recording.py``).
3. verify at scale: 1000 job definitions, 50 queues, 50 compute environments in moto.

Run ``python -m benchmarks --help``; ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import ROOT, genenv, latency_proxy
from benchmarks.deploy import deployed
from benchmarks.recording import Mode, run_mode, verdict_summary, verify_peak_rss
from benchmarks.results import VerifyResult, machine, render_results, write_readme
from benchmarks.stages import COMPILE_SIZES, bench_compile
from tests.harness import terraform as tf


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
        results = [run_mode(d, mode, rounds, log) for mode in modes]
        rss = verify_peak_rss(d)
        summary = verdict_summary(d.run_verify().output)
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


def precompile(log: Callable[[str], None]) -> None:
    """Write batchform's bytecode, as ``pip install`` does for an installed package.

    The editable install of a checkout has none, and with ``PYTHONDONTWRITEBYTECODE`` set (as on
    some CI machines) Python would compile every module again in each timed process.
    """
    import compileall

    ok = compileall.compile_dir(str(ROOT / "compiler" / "batchform"), quiet=1)
    log("bytecode of compiler/ written" if ok else "compileall reported errors")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
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
    parser.add_argument("--readme", type=Path, default=ROOT / "benchmarks" / "README.md")
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
        # The test harness's Terraform settings: the provider mirror when there is one, and
        # a plugin cache shared by every init of this run.
        tf.configure(work / "terraform-cli")
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
