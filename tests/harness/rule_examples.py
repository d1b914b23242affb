"""Run a code's documented examples (compiler/batchform/checks/docs/) the way a user's file is run.

The bad or good example becomes a whole environment file (the overlay laid over base.yaml and
written back as YAML text, or the whole file as written) and goes through the normal analysis
(load -> model -> checks), so keys such as ``on:`` and numbers such as ``3.10`` behave exactly
as in a user's file. Results are cached: the examples test and the "every code is proven to
fire" test in tests/test_errors.py both ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from batchform.build import analyze_text
from batchform.diagnostics import Diagnostic, Level
from batchform.report.diagnostics import format_diagnostic
from batchform.ruledocs import Kind, rule_docs

EXAMPLE_FILE = "example.yaml"


@dataclass(frozen=True)
class ExampleRun:
    code: str
    kind: Kind
    diagnostics: tuple[Diagnostic, ...]

    @property
    def codes(self) -> set[str]:
        return {d.code for d in self.diagnostics}

    @property
    def errors(self) -> set[str]:
        return {d.code for d in self.diagnostics if d.level == Level.ERROR}

    def report(self) -> str:
        return "\n".join(format_diagnostic(d) for d in self.diagnostics) or "(nothing reported)"


@cache
def run_example(code: str, kind: Kind) -> ExampleRun | None:
    """What ``batchform validate`` reports for ``code``'s example, or None without one."""
    text = rule_docs()[code].example_file(kind)
    if text is None:
        return None
    return ExampleRun(code, kind, tuple(analyze_text(text, EXAMPLE_FILE).diagnostics))


def codes_with_examples() -> list[str]:
    return sorted(code for code, doc in rule_docs().items() if doc.trigger is None)


def proven_by_example(code: str) -> bool:
    """Whether ``code``'s bad example reports it (so some test makes the code fire)."""
    if code not in rule_docs():
        return False
    run = run_example(code, "bad")
    return run is not None and code in run.codes
