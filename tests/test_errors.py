"""Golden error cases: ``tests/errors/<case>.yaml`` and the diagnostics it must produce.

``<case>.expected`` lists one diagnostic per line as ``CODE LINE:COL`` (``CODE -`` when a
diagnostic has no position, such as an unreadable file); ``#`` starts a comment. The case passes
when batchform reports exactly that set: a missing diagnostic is a rule that stopped working, an
extra one is noise a user would see. Cases are discovered in sorted order; ``UPDATE_GOLDEN=1``
rewrites the ``.expected`` files from what batchform reports now (review the diff before
committing).

Every code batchform can report must be proven to fire, here or by its documented example
(compiler/batchform/checks/docs/): see :func:`test_every_rule_code_is_tested`.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

from batchform.build import analyze
from batchform.codes import known_codes
from batchform.diagnostics import Diagnostic
from batchform.report.diagnostics import format_diagnostic
from batchform.ruledocs import rule_docs
from tests.harness.rule_examples import proven_by_example

ERRORS_DIR = Path(__file__).parent / "errors"
TESTS_DIR = Path(__file__).parent
CASES = sorted(ERRORS_DIR.glob("*.yaml"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _entry(d: Diagnostic) -> str:
    return f"{d.code} {d.line}:{d.col}" if d.line is not None else f"{d.code} -"


def _sort_key(entry: str) -> tuple[int, int, str]:
    m = re.match(r"(\S+) (\d+):(\d+)$", entry)
    return (int(m.group(2)), int(m.group(3)), m.group(1)) if m else (0, 0, entry)


def read_expected(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return sorted((line for line in lines if line), key=_sort_key)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_error_case(case: Path) -> None:
    analysis = analyze(case)
    got = sorted({_entry(d) for d in analysis.diagnostics}, key=_sort_key)
    expected_file = case.with_suffix(".expected")
    if UPDATE:
        expected_file.write_text("".join(f"{e}\n" for e in got), encoding="utf-8")
        return
    assert expected_file.exists(), f"{expected_file.name} is missing (UPDATE_GOLDEN=1 makes it)"
    expected = read_expected(expected_file)
    if got != expected:
        diff = "\n".join(
            difflib.unified_diff(
                expected, got, f"{expected_file.name} (expected)", "batchform (got)", lineterm=""
            )
        )
        reported = "\n".join(format_diagnostic(d) for d in analysis.diagnostics) or "(nothing)"
        pytest.fail(f"{case.name}: diagnostics differ\n{diff}\n\nbatchform reported:\n{reported}")


def test_cases_have_expectations() -> None:
    """A stray .expected without its .yaml (a renamed case) would silently test nothing."""
    orphans = [p.name for p in ERRORS_DIR.glob("*.expected") if not p.with_suffix(".yaml").exists()]
    assert not orphans


def test_every_rule_code_is_tested() -> None:
    """Each code is *proven* to fire, not merely named in a test: a golden case here reports it
    (``test_error_case`` asserts the exact set of each ``.expected``), or its documented bad
    example reports it (the same run tests/test_rule_docs.py asserts). Codes no file can
    trigger (a crashed check, rendering, writing generated/) are documented with ``trigger``
    instead, and tested where they arise (test_loader_model, test_emit, test_hostile_fs)."""
    golden = {
        entry.split()[0] for case in CASES for entry in read_expected(case.with_suffix(".expected"))
    }
    docs = rule_docs()
    untested = sorted(
        code
        for code in known_codes()
        if code not in golden
        and not proven_by_example(code)
        and not (code in docs and docs[code].trigger is not None)
    )
    assert not untested, f"codes no test makes fire: {', '.join(untested)}"
