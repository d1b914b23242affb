"""What a sandbox run found: one record per step and what was not checked.

The verdict and the exit code are derived from the same records as the text and JUnit output
(:mod:`batchform.report.sandbox`), so they cannot disagree: exit 0 only when every step that ran
passed and none was cut short. What the emulator cannot prove is listed as "not checked by the
sandbox" (JUnit: skipped test cases), never folded into a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

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
