"""Diagnostics of ``validate`` and ``compile`` as text, JSON, JUnit, Markdown and SARIF.

Text is what a person reads in a terminal (``file:line:col: level CODE: message`` plus hint
and excerpt, the shape editors and CI log parsers link); the others are for machines and pull
requests. All five are derived from the same :class:`CheckRun`, so they cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from batchform.diagnostics import Diagnostic, Level, format_path
from batchform.report import junit, markdown, sarif
from batchform.report.escape import terminal

JSON_VERSION = 1
FORMATS = ("text", "json", "junit", "markdown", "sarif")


@dataclass(frozen=True)
class CheckRun:
    """One ``validate`` run: the files checked (in the order given), every diagnostic, and
    whether the run failed (errors, or warnings under ``--strict``)."""

    files: Sequence[str]
    diagnostics: Sequence[Diagnostic]
    failed: bool
    strict: bool = False

    @property
    def verdict(self) -> str:
        word = "FAILED" if self.failed else "OK"
        return f"{word}: {len(self.files)} file(s) checked, {summary_line(self.diagnostics)}"

    def fails(self, diag: Diagnostic) -> bool:
        return diag.level == Level.ERROR or (self.strict and diag.level == Level.WARNING)


def summary_line(diagnostics: Sequence[Diagnostic]) -> str:
    counts = {lvl: sum(1 for d in diagnostics if d.level == lvl) for lvl in Level}
    parts = [f"{counts[lvl]} {lvl}{'s' if counts[lvl] != 1 else ''}" for lvl in Level]
    return ", ".join(parts)


def _where(diag: Diagnostic) -> str:
    where = diag.file or "<input>"
    if diag.line is not None:
        where += f":{diag.line}:{diag.col or 1}"
    return where


def format_diagnostic(diag: Diagnostic) -> str:
    """``configs/prod.yaml:42:7: error BF201: message`` plus hint and excerpt lines.

    Every text that can carry a user's value (file name, message, hint, source lines) goes
    through :func:`~batchform.report.escape.terminal`: the first line stays one line per
    finding, whatever a rule quotes.
    """
    text = f"{terminal(_where(diag))}: {diag.level} {diag.code}: {terminal(diag.message)}"
    if diag.excerpt:
        text += "\n" + "\n".join(terminal(line) for line in diag.excerpt.split("\n"))
    if diag.hint:
        text += f"\n    hint: {terminal(diag.hint)}"
    return text


def format_text(diagnostics: Iterable[Diagnostic], verdict: str | None = None) -> str:
    """One :func:`format_diagnostic` block per diagnostic, then the verdict line if any."""
    lines = [format_diagnostic(d) for d in diagnostics]
    if verdict is not None:
        lines.append(verdict)
    return "".join(line + "\n" for line in lines)


def to_dict(diag: Diagnostic) -> dict[str, object]:
    return {
        "code": diag.code,
        "level": str(diag.level),
        "message": diag.message,
        "path": list(diag.path),
        "file": diag.file,
        "line": diag.line,
        "col": diag.col,
        "hint": diag.hint,
    }


def format_json(diagnostics: Iterable[Diagnostic]) -> str:
    """``{"version": 1, "diagnostics": [...]}`` (docs/schemas/validate.schema.json)."""
    data = {"version": JSON_VERSION, "diagnostics": [to_dict(d) for d in diagnostics]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _case(run: CheckRun, file: str, diag: Diagnostic) -> junit.Case:
    name = f"{diag.code} {_where(diag)}"
    body = diag.message + (f"\nhint: {diag.hint}" if diag.hint else "")
    if run.fails(diag):
        return junit.Case(file, name, junit.Outcome.FAILURE, f"{diag.level}: {diag.message}", body)
    return junit.Case(file, name, system_out=f"{diag.level}: {body}")


def format_junit(run: CheckRun) -> str:
    """A ``testsuite`` per file: one ``testcase`` per diagnostic (a ``failure`` when it fails
    the run: an error, or a warning with ``--strict``), or one passing ``valid`` case for a
    clean file, so CI lists every file it checked. A diagnostic located in another file (a
    base the checked file extends) gets that file's suite."""
    files = list(dict.fromkeys([*run.files, *(d.file for d in run.diagnostics if d.file)]))
    suites = []
    for file in files:
        mine = [d for d in run.diagnostics if d.file == file]
        cases = [_case(run, file, d) for d in mine] or [junit.Case(file, "valid")]
        suites.append(junit.Suite(file, cases))
    unlocated = [d for d in run.diagnostics if not d.file]
    if unlocated:
        suites.append(junit.Suite("batchform", [_case(run, "batchform", d) for d in unlocated]))
    return junit.render(junit.Document(suites, name="batchform validate"))


def format_markdown(run: CheckRun) -> str:
    """A pull-request comment or job summary: the verdict, then one table row per diagnostic."""
    icon = ":x:" if run.failed else ":white_check_mark:"
    lines = ["## batchform validate", "", f"{icon} **{markdown.text(run.verdict)}**"]
    if run.diagnostics:
        lines += ["", *markdown.table(["location", "level", "code", "message"])]
        for d in run.diagnostics:
            message = markdown.text(d.message)
            if d.hint:
                message += "<br>hint: " + markdown.text(d.hint)
            rule_link = f"[{d.code}]({sarif.rule_help_uri(d.code)})"
            lines.append(
                markdown.row([markdown.code(_where(d)), str(d.level), rule_link, message], raw=True)
            )
    return "\n".join(lines) + "\n"


def _rules(diagnostics: Sequence[Diagnostic]) -> list[sarif.Rule]:
    """The rules behind ``diagnostics``, with the level and summary of the one registry of codes
    (compiler/batchform/codes.py); a code it does not know (none should reach here) is an error
    summarised by its first message."""
    from batchform.codes import all_codes

    registered = {c.code: c for c in all_codes()}
    out: dict[str, sarif.Rule] = {}
    for d in diagnostics:
        if d.code in out:
            continue
        known = registered.get(d.code)
        level, summary = (known.level, known.summary) if known else (Level.ERROR, d.message)
        out[d.code] = sarif.Rule(d.code, summary, level, sarif.rule_help_uri(d.code))
    return list(out.values())


def format_sarif(run: CheckRun) -> str:
    """Every diagnostic a SARIF result at its file, line and column (the rule's page as help)."""
    results = [
        sarif.Result(
            d.code,
            d.level,
            d.message + (f" (hint: {d.hint})" if d.hint else ""),
            d.file,
            d.line,
            d.col,
            [sarif.LogicalLocation(str(d.path[-1]), format_path(d.path), "property")]
            if d.path
            else [],
        )
        for d in run.diagnostics
    ]
    return sarif.render(sarif.Run(_rules(run.diagnostics), results))


def render(run: CheckRun, fmt: str) -> str:
    if fmt == "json":
        return format_json(run.diagnostics)
    if fmt == "junit":
        return format_junit(run)
    if fmt == "markdown":
        return format_markdown(run)
    if fmt == "sarif":
        return format_sarif(run)
    return format_text(run.diagnostics, run.verdict)
