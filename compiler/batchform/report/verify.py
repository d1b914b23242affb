"""The drift report of ``verify`` as text, JSON, JUnit, Markdown and SARIF.

Every rendering reads the same :class:`~batchform.verify.result.Report`, so they cannot disagree
with each other or with the exit code. Values in a report come from AWS as well as from the
file, so every one passes through the escaping function of its target format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchform.diagnostics import Level, Path, Position, locate
from batchform.report import junit, markdown, sarif
from batchform.report.escape import terminal
from batchform.verify.result import Difference, Kind, Report, ResourceCheck, Status

JSON_VERSION = 1
FORMATS = ("text", "json", "junit", "markdown", "sarif")

# SARIF rule ids of drift results: verify's findings are not file rules (no BF code), so they
# have ids of their own, documented in docs/output-formats.md#verify-results.
VERIFY_HELP = f"{sarif.INFORMATION_URI}/blob/main/docs/output-formats.md#verify-results"
NOT_CHECKED = "verify/not-checked"
DRIFT_RULES = {
    Kind.MISSING: sarif.Rule(
        "verify/missing", "a resource the file declares is missing in AWS", Level.ERROR, VERIFY_HELP
    ),
    Kind.CHANGED: sarif.Rule(
        "verify/changed",
        "a deployed attribute differs from the file (drift)",
        Level.ERROR,
        VERIFY_HELP,
    ),
    Kind.UNHEALTHY: sarif.Rule(
        "verify/unhealthy",
        "a deployed resource is as declared but cannot work",
        Level.ERROR,
        VERIFY_HELP,
    ),
    Kind.UNMANAGED: sarif.Rule(
        "verify/unmanaged",
        "a resource tagged with the environment is not declared in the file",
        Level.WARNING,
        VERIFY_HELP,
    ),
}
NOT_CHECKED_RULE = sarif.Rule(
    NOT_CHECKED, "a resource or attribute could not be checked", Level.ERROR, VERIFY_HELP
)
# Report kinds that live somewhere else than a top-level section of the same name.
FILE_SECTIONS: dict[str, tuple[str, ...]] = {
    "security_groups": ("network", "security_groups"),
    "compute_environment_networks": ("compute_environments",),
}


@dataclass(frozen=True)
class Source:
    """The environment file the report is about, and where each of its keys is written (the
    loader's table), so SARIF results can point at a line."""

    file: str
    positions: Mapping[Path, Position] = field(default_factory=dict)
    key_positions: Mapping[Path, Position] = field(default_factory=dict)

    def position(self, check: ResourceCheck) -> Position:
        """Where the resource's key is written (``high:``), else its nearest written
        ancestor (the section of an unmanaged extra; the document for a generated role), else
        the first line."""
        path = (*FILE_SECTIONS.get(check.kind, (check.kind,)), check.key)
        return self.key_positions.get(path) or locate(path, self.positions) or Position(1, 1)


# --- shared wording ---------------------------------------------------------------------------


def value_text(value: Any) -> str:
    """Compact, unambiguous text for a value in a table cell (not yet escaped)."""
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _kind_text(d: Difference) -> str:
    return str(d.kind) + (f": {d.reason}" if d.reason else "")


def _difference_line(d: Difference) -> str:
    return (
        f"{d.attribute or '(resource)'}: expected {value_text(d.expected)}, "
        f"actual {value_text(d.actual)} ({_kind_text(d)})"
    )


def summary(report: Report) -> str:
    counts = {k: v for k, v in report.counts().items() if v}
    detail = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no resources"
    return f"{report.verdict}: {len(report.resources)} resource(s) checked ({detail})"


# --- text -------------------------------------------------------------------------------------


def _table(rows: Sequence[Sequence[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _text_resource(r: ResourceCheck, verbose: bool) -> list[str]:
    name = f" ({terminal(r.name)})" if r.name else ""
    lines = ["", f"{terminal(r.title)}{name}: {r.status}"]
    if r.differences:
        rows = [["attribute", "expected", "actual", "kind"]]
        for d in r.differences:
            cells = [d.attribute or "(resource)", value_text(d.expected), value_text(d.actual)]
            rows.append([terminal(c) for c in [*cells, _kind_text(d)]])
        lines += _table(rows)
    lines += [f"    not checked: {terminal(u)}" for u in r.unchecked]
    if verbose:
        same = [a for a in r.checked if a not in {d.attribute for d in r.differences}]
        if same:
            lines.append("    in sync: " + terminal(", ".join(same)))
    return lines


def format_text(report: Report, verbose: bool = False) -> str:
    """Grouped by resource; only resources with something to say unless ``verbose``."""
    lines = [
        f"batchform verify: environment {terminal(report.environment)} in {terminal(report.region)}"
    ]
    for r in report.sorted_resources():
        if r.status != Status.IN_SYNC or verbose:
            lines += _text_resource(r, verbose)
    if report.incomplete:
        lines.append("")
        lines.append("The check is INCOMPLETE; these could not be checked:")
        lines += [f"  - {terminal(item)}" for item in report.incomplete]
    lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


# --- JSON -------------------------------------------------------------------------------------


def _difference_dict(d: Difference) -> dict[str, Any]:
    out: dict[str, Any] = {
        "attribute": d.attribute,
        "kind": str(d.kind),
        "expected": d.expected,
        "actual": d.actual,
    }
    if d.reason:
        out["reason"] = d.reason
    return out


def _resource_dict(r: ResourceCheck) -> dict[str, Any]:
    return {
        "kind": r.kind,
        "key": r.key,
        "name": r.name,
        "status": str(r.status),
        "checked": list(r.checked),
        "differences": [_difference_dict(d) for d in r.differences],
        "unchecked": list(r.unchecked),
    }


def to_dict(report: Report) -> dict[str, Any]:
    """The JSON document (docs/schemas/verify.schema.json)."""
    return {
        "version": JSON_VERSION,
        "environment": report.environment,
        "region": report.region,
        "result": report.verdict,
        "exit_code": report.exit_code,
        "counts": report.counts(),
        "incomplete": list(report.incomplete),
        "resources": [_resource_dict(r) for r in report.sorted_resources()],
    }


def format_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"


# --- JUnit ------------------------------------------------------------------------------------


def format_junit(report: Report) -> str:
    """One ``testcase`` per resource: drift is a ``failure``, an unchecked resource an
    ``error``; anything the run as a whole could not check is an extra errored testcase, so CI
    never shows an incomplete check as green."""
    env = report.environment
    cases = []
    for r in report.sorted_resources():
        classname = f"{env}.{r.kind}"
        if r.unchecked:
            outcome = junit.Case(
                classname, r.key, junit.Outcome.ERROR, "not checked", "\n".join(r.unchecked)
            )
        elif r.differences:
            text = "\n".join(_difference_line(d) for d in r.differences)
            outcome = junit.Case(classname, r.key, junit.Outcome.FAILURE, str(r.status), text)
        else:
            outcome = junit.Case(classname, r.key)
        cases.append(outcome)
    if report.incomplete:
        cases.append(
            junit.Case(
                f"{env}.verify",
                "completeness",
                junit.Outcome.ERROR,
                "the check is incomplete",
                "\n".join(report.incomplete),
            )
        )
    return junit.render(junit.Document([junit.Suite(f"batchform verify {env}", cases)]))


# --- Markdown ---------------------------------------------------------------------------------


def format_markdown(report: Report, verbose: bool = False) -> str:
    """A pull-request comment: verdict first, then one table of every difference."""
    lines = [
        f"## batchform verify: {markdown.code(report.environment)} "
        f"({markdown.text(report.region)})",
        "",
        f"**{markdown.text(summary(report))}**",
    ]
    rows = [
        (r, d)
        for r in report.sorted_resources()
        for d in r.differences
        if verbose or r.status != Status.IN_SYNC
    ]
    if rows:
        lines += ["", *markdown.table(["resource", "attribute", "expected", "actual", "kind"])]
        for r, d in rows:
            cells = [
                markdown.code(r.title),
                markdown.code(d.attribute) if d.attribute else "(resource)",
                markdown.text(value_text(d.expected)),
                markdown.text(value_text(d.actual)),
                markdown.text(_kind_text(d)),
            ]
            lines.append(markdown.row(cells, raw=True))
    unchecked = [(r.title, u) for r in report.sorted_resources() for u in r.unchecked]
    if unchecked or report.incomplete:
        lines += ["", "### Not checked", ""]
        lines += [f"- {markdown.code(title)}: {markdown.text(u)}" for title, u in unchecked]
        lines += [f"- {markdown.text(item)}" for item in report.incomplete]
    if verbose:
        lines += ["", "### In sync", ""]
        lines += [
            f"- {markdown.code(r.title)}"
            for r in report.sorted_resources()
            if r.status == Status.IN_SYNC
        ]
    return "\n".join(lines) + "\n"


# --- SARIF ------------------------------------------------------------------------------------


def _logical(report: Report, r: ResourceCheck) -> list[sarif.LogicalLocation]:
    out = [sarif.LogicalLocation(r.key, f"{report.environment}.{r.title}")]
    if r.name:
        out.append(sarif.LogicalLocation(r.name, r.name))
    return out


def _sarif_result(
    rule: sarif.Rule, message: str, report: Report, r: ResourceCheck | None, source: Source | None
) -> sarif.Result:
    pos = source.position(r) if source and r else Position(1, 1)
    return sarif.Result(
        rule.id,
        rule.level,
        message,
        source.file if source else None,
        pos.line if source else None,
        pos.col if source else None,
        _logical(report, r) if r else [],
    )


def format_sarif(report: Report, source: Source | None = None) -> str:
    """A SARIF result per difference and per thing not checked, at the resource's key in the
    environment file (``source``; see :meth:`Source.position` for what the file does not
    name) and named by its file key and AWS name as logical locations. An incomplete check is
    also a failed invocation."""
    results: list[sarif.Result] = []
    rules: list[sarif.Rule] = []
    for r in report.sorted_resources():
        name = f" ({r.name})" if r.name else ""
        for d in r.differences:
            rule = DRIFT_RULES[d.kind]
            message = f"{r.title}{name}: {_difference_line(d)}"
            results.append(_sarif_result(rule, message, report, r, source))
            rules.append(rule)
        for u in r.unchecked:
            message = f"{r.title}{name}: not checked: {u}"
            results.append(_sarif_result(NOT_CHECKED_RULE, message, report, r, source))
            rules.append(NOT_CHECKED_RULE)
    for item in report.incomplete:
        results.append(_sarif_result(NOT_CHECKED_RULE, item, report, None, source))
        rules.append(NOT_CHECKED_RULE)
    return sarif.render(sarif.Run(rules, results, failures=list(report.incomplete)))


def render(report: Report, fmt: str, verbose: bool = False, source: Source | None = None) -> str:
    if fmt == "json":
        return format_json(report)
    if fmt == "junit":
        return format_junit(report)
    if fmt == "markdown":
        return format_markdown(report, verbose)
    if fmt == "sarif":
        return format_sarif(report, source)
    return format_text(report, verbose)
