"""``batchform diff`` as text (a terminal), Markdown (a pull-request comment) and JSON.

Resource keys, Terraform values and note texts quote the environment files, so every one passes
through the escaping function of its target format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from batchform.diff.result import (
    Action,
    AttributeChange,
    EnvironmentDiff,
    Note,
    ResourceChange,
    Risk,
)
from batchform.report import markdown
from batchform.report.escape import terminal

JSON_VERSION = 1
FORMATS = ("text", "markdown", "json")
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete")

_VERBS: dict[Action, str] = {
    "create": "will be created",
    "update": "will be updated in place",
    "replace": "will be REPLACED",
    "delete": "will be DELETED",
}
_SYMBOLS: dict[Action, str] = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def summary_line(d: EnvironmentDiff) -> str:
    if not d.changes:
        return "No changes to AWS resources."
    counts = ", ".join(f"{d.count(a)} to {a}" for a in ACTIONS)
    return f"Plan: {counts}."


def _risk_lines(d: EnvironmentDiff) -> Iterable[tuple[Risk, str]]:
    """Every note that needs attention (not a plain note), with the resource it is about."""
    for resource, note in d.all_notes:
        if note.risk == Risk.NOTE:
            continue
        where = f"{resource.kind} '{resource.name}': " if resource is not None else ""
        yield note.risk, where + note.text


# --- text -------------------------------------------------------------------------------------


def _text_change(c: ResourceChange) -> list[str]:
    head = f"{_SYMBOLS[c.action]} {c.kind} '{c.name}' ({c.address}) {_VERBS[c.action]}"
    lines = [terminal(head)]
    for a in c.attributes:
        forces = "  # forces replacement" if a.forces_replacement else ""
        lines.append(f"      {terminal(f'{a.path}: {a.old} -> {a.new}')}{forces}")
    lines += [f"      ({n.risk}) {terminal(n.text)}" for n in c.notes]
    return lines


def format_text(d: EnvironmentDiff, old_label: str, new_label: str) -> str:
    title = f"batchform diff {old_label} -> {new_label} (environment {d.new_name})"
    lines = [terminal(title), ""]
    risks = list(_risk_lines(d))
    if risks:
        lines.append("Needs attention:")
        lines += [f"  [{risk}] {terminal(text)}" for risk, text in risks]
        lines.append("")
    lines += [f"Note: {terminal(n.text)}" for n in d.notes if n.risk == Risk.NOTE]
    for c in d.changes:
        lines += _text_change(c)
    if d.changes:
        lines.append("")
    lines.append(summary_line(d))
    return "\n".join(lines) + "\n"


# --- Markdown ---------------------------------------------------------------------------------

_MD_ICONS: dict[Action, str] = {
    "create": ":heavy_plus_sign: create",
    "update": ":arrows_counterclockwise: update",
    "replace": ":warning: **REPLACE**",
    "delete": ":wastebasket: **delete**",
}
_MD_RISK: dict[Risk, str] = {
    Risk.FAILS: ":no_entry: apply fails",
    Risk.JOBS: ":warning: running jobs",
    Risk.CAPACITY: ":chart_with_upwards_trend: capacity",
    Risk.NOTE: ":information_source: note",
}


def _md_change(c: ResourceChange) -> str:
    details = []
    for a in c.attributes:
        forces = " **(forces replacement)**" if a.forces_replacement else ""
        details.append(
            f"{markdown.code(a.path)}: {markdown.code(a.old)} → {markdown.code(a.new)}{forces}"
        )
    details += [f"{_MD_RISK[n.risk]}: {markdown.text(n.text)}" for n in c.notes]
    cells = [
        _MD_ICONS[c.action],
        f"{markdown.text(c.kind)} {markdown.code(c.name)}",
        markdown.code(c.address),
        "<br>".join(details),
    ]
    return markdown.row(cells, raw=True)


def format_markdown(d: EnvironmentDiff, old_label: str, new_label: str) -> str:
    """A pull-request comment: the verdict first, then one table row per resource."""
    lines = [
        f"### batchform diff: {markdown.code(d.new_name)}",
        "",
        f"{markdown.code(old_label)} → {markdown.code(new_label)}. **{summary_line(d)}**",
        "",
    ]
    risks = list(_risk_lines(d))
    if risks:
        lines += ["**Needs attention**", ""]
        lines += [f"- {_MD_RISK[risk]}: {markdown.text(text)}" for risk, text in risks]
        lines.append("")
    for note in d.notes:
        if note.risk == Risk.NOTE:
            lines += [f"> :information_source: {markdown.text(note.text)}", ""]
    if d.changes:
        lines += markdown.table(["action", "resource", "address", "what changes"])
        lines += [_md_change(c) for c in d.changes]
        lines.append("")
    lines.append(
        "<sub>From the two environment files alone (no AWS access, no Terraform state): "
        "`terraform plan` remains the authority.</sub>"
    )
    return "\n".join(lines) + "\n"


# --- JSON -------------------------------------------------------------------------------------


def _note(n: Note) -> dict[str, str]:
    return {"risk": n.risk.name.lower(), "text": n.text}


def _attribute(a: AttributeChange) -> dict[str, Any]:
    return {"path": a.path, "old": a.old, "new": a.new, "forces_replacement": a.forces_replacement}


def _change(c: ResourceChange) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "name": c.name,
        "address": c.address,
        "action": c.action,
        "attributes": [_attribute(a) for a in c.attributes],
        "notes": [_note(n) for n in c.notes],
    }


def to_dict(d: EnvironmentDiff, old_label: str, new_label: str) -> dict[str, Any]:
    """The JSON document (docs/schemas/diff.schema.json)."""
    return {
        "version": JSON_VERSION,
        "old": old_label,
        "new": new_label,
        "old_environment": d.old_name,
        "environment": d.new_name,
        "summary": {a: d.count(a) for a in ACTIONS},
        "notes": [_note(n) for n in d.notes],
        "changes": [_change(c) for c in d.changes],
    }


def format_json(d: EnvironmentDiff, old_label: str, new_label: str) -> str:
    return json.dumps(to_dict(d, old_label, new_label), indent=2, ensure_ascii=False) + "\n"


def render(d: EnvironmentDiff, fmt: str, old_label: str, new_label: str) -> str:
    if fmt == "json":
        return format_json(d, old_label, new_label)
    if fmt == "markdown":
        return format_markdown(d, old_label, new_label)
    return format_text(d, old_label, new_label)
