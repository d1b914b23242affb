"""A sandbox run as text (the live step lines and the whole run) and JUnit.

Step details and evidence quote terraform's and the emulator's messages, which quote the
environment file's values, so every such line passes through the terminal escaper (text) or
the XML one (JUnit, inside :mod:`batchform.report.junit`).
"""

from __future__ import annotations

from batchform.report import junit
from batchform.report.escape import terminal
from batchform.sandbox.result import SandboxReport, Step, StepStatus

FORMATS = ("text", "junit")


def step_line(step: Step, width: int = 9) -> str:
    """``  ok    apply      41 resources added  (35.2s)``."""
    detail = f"  {terminal(step.detail)}" if step.detail else ""
    return f"  {step.status.value:<5} {step.name:<{width}}{detail}  ({step.seconds:.1f}s)"


def format_summary(report: SandboxReport) -> str:
    """The part printed after the steps: what was not checked, the verdict."""
    lines: list[str] = []
    if report.not_checked:
        lines.append("not checked by the sandbox (only real AWS can show these):")
        lines += [f"  - {terminal(item)}" for item in report.not_checked]
    lines.append(terminal(report.verdict))
    return "\n".join(lines)


def format_text(report: SandboxReport) -> str:
    """The whole run as plain text (what ``--output`` writes in text format)."""
    lines = [f"batchform sandbox {terminal(report.config)}"]
    for step in report.steps:
        lines.append(step_line(step))
        lines += [f"        {terminal(line)}" for item in step.output for line in item.splitlines()]
    lines.append(format_summary(report))
    return "\n".join(lines) + "\n"


def _case(classname: str, step: Step) -> junit.Case:
    if step.status == StepStatus.FAILED:
        evidence = "\n".join(step.output) or step.detail
        message = step.detail or "failed"
        return junit.Case(
            classname, step.name, junit.Outcome.FAILURE, message, evidence, step.seconds
        )
    if step.status == StepStatus.SKIPPED:
        message = step.detail or "skipped"
        return junit.Case(classname, step.name, junit.Outcome.SKIPPED, message, "", step.seconds)
    return junit.Case(classname, step.name, time=step.seconds, system_out=step.detail)


def format_junit(report: SandboxReport) -> str:
    """JUnit XML for CI: a test case per step, a skipped test case per unchecked item."""
    classname = f"sandbox.{report.environment or 'environment'}"
    cases = [_case(classname, step) for step in report.steps]
    cases += [
        junit.Case(
            f"{classname}.not-checked",
            f"not checked {index}",
            junit.Outcome.SKIPPED,
            f"not checked by the sandbox: {item}",
        )
        for index, item in enumerate(report.not_checked, 1)
    ]
    suite = junit.Suite(
        f"batchform sandbox {report.environment or report.config}",
        cases,
        time=report.seconds,
        system_out="\n".join(report.notes),
    )
    return junit.render(junit.Document([suite], name="batchform sandbox"))


def render(report: SandboxReport, fmt: str) -> str:
    return format_junit(report) if fmt == "junit" else format_text(report)
