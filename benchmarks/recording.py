"""What the verify benchmark records: ``batchform verify`` and ``terraform plan -refresh-only``
timed in rounds, in one :class:`Mode` (moto directly, or through ``latency_proxy`` with a
region's delay and IAM's throttling), then one more run of each through the proxy, which
records every request: API calls by service, throttled answers, sequential rounds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import ROOT, latency_proxy
from benchmarks.deploy import Deployed, Timed


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


def verify_peak_rss(d: Deployed) -> int:
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


def verdict_summary(verify_stdout: str) -> str:
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


def run_mode(d: Deployed, mode: Mode, rounds: int, log: Callable[[str], None]) -> ModeResult:
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
