"""What a sandbox run found: one record per step, what was not checked, and two renderings.

The verdict and the exit code are derived from the same records as the text and JUnit output,
so they cannot disagree: exit 0 only when every step that ran passed and none was cut short.
What the emulator cannot prove is listed as "not checked by the sandbox" (JUnit: skipped test
cases), never folded into a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from xml.etree import ElementTree

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class StepStatus(StrEnum):
    PASSED = "ok"
    FAILED = "FAIL"
    SKIPPED = "skip"


@dataclass
class Step:
    """One step of the run: ``detail`` is the one-line outcome, ``output`` the evidence (the
    terraform errors or the planned changes) shown under a failed step."""

    name: str
    status: StepStatus
    seconds: float
    detail: str = ""
    output: list[str] = field(default_factory=list)


@dataclass
class SandboxReport:
    config: str
    environment: str | None = None
    region: str | None = None
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed_steps(self) -> list[Step]:
        return [s for s in self.steps if s.status == StepStatus.FAILED]

    @property
    def passed(self) -> bool:
        ran = [s for s in self.steps if s.status != StepStatus.SKIPPED]
        return bool(ran) and not self.failed_steps and not self.interrupted

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_PASSED if self.passed else EXIT_FAILED

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def verdict(self) -> str:
        name = self.environment or self.config
        if self.interrupted:
            return f"INTERRUPTED: {name}: the sandbox was stopped before it finished"
        if self.passed:
            checked = sum(1 for s in self.steps if s.status == StepStatus.PASSED)
            return (
                f"PASSED: {name} deploys on the emulated AWS "
                f"({checked} steps, {self.seconds:.0f}s; "
                f"{len(self.not_checked)} thing(s) not checked by the sandbox)"
            )
        failed = ", ".join(s.name for s in self.failed_steps) or "no step ran"
        return f"FAILED: {name} does not deploy on the emulated AWS ({failed} failed)"


def step_line(step: Step, width: int = 9) -> str:
    """``  ok    apply      41 resources added  (35.2s)``."""
    detail = f"  {step.detail}" if step.detail else ""
    return f"  {step.status.value:<5} {step.name:<{width}}{detail}  ({step.seconds:.1f}s)"


def format_summary(report: SandboxReport) -> str:
    """The part printed after the steps: notes, what was not checked, the verdict."""
    lines: list[str] = []
    if report.not_checked:
        lines.append("not checked by the sandbox (only real AWS can show these):")
        lines += [f"  - {item}" for item in report.not_checked]
    lines.append(report.verdict)
    return "\n".join(lines)


def format_text(report: SandboxReport) -> str:
    """The whole run as plain text (what ``--output`` writes in text format)."""
    lines = [f"batchform sandbox {report.config}"]
    for step in report.steps:
        lines.append(step_line(step))
        lines += [f"        {line}" for item in step.output for line in item.splitlines()]
    lines.append(format_summary(report))
    return "\n".join(lines) + "\n"


def format_junit(report: SandboxReport) -> str:
    """JUnit XML for CI: a test case per step, a skipped test case per unchecked item."""
    suite_name = f"batchform sandbox {report.environment or report.config}"
    suites = ElementTree.Element("testsuites", name="batchform sandbox")
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name=suite_name,
        tests=str(len(report.steps) + len(report.not_checked)),
        failures=str(len(report.failed_steps)),
        errors="0",
        skipped=str(
            sum(1 for s in report.steps if s.status == StepStatus.SKIPPED) + len(report.not_checked)
        ),
        time=f"{report.seconds:.3f}",
    )
    classname = f"sandbox.{report.environment or 'environment'}"
    for step in report.steps:
        case = ElementTree.SubElement(
            suite, "testcase", classname=classname, name=step.name, time=f"{step.seconds:.3f}"
        )
        if step.status == StepStatus.FAILED:
            failure = ElementTree.SubElement(case, "failure", message=step.detail or "failed")
            failure.text = "\n".join(step.output) or step.detail
        elif step.status == StepStatus.SKIPPED:
            ElementTree.SubElement(case, "skipped", message=step.detail or "skipped")
        elif step.detail:
            ElementTree.SubElement(case, "system-out").text = step.detail
    for index, item in enumerate(report.not_checked, 1):
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"{classname}.not-checked", name=f"not checked {index}"
        )
        ElementTree.SubElement(case, "skipped", message=f"not checked by the sandbox: {item}")
    if report.notes:
        ElementTree.SubElement(suite, "system-out").text = "\n".join(report.notes)
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
