"""A pure ``format_hcl(text) -> text`` that lays out HCL the way ``terraform fmt`` does.

Templates only decide *what* is written; this module decides indentation and the alignment of
``=`` so that the output is ``terraform fmt -check`` clean without running Terraform. It follows
hclwrite's ``format.go``:

- indentation: two spaces per line that opens more brackets than it closes; a line that closes
  more than it opens is indented at the level it returns to;
- alignment: consecutive lines holding an assignment whose right-hand side is a whole
  expression (no net open bracket) form a chain, and their ``=`` signs line up one space after
  the longest left-hand side. Any other line (a block opener, ``}``, a blank line, an
  assignment that opens a multi-line value) ends the chain.

It understands quoted strings with escapes and ``${ }`` interpolations; generated code uses no
heredocs. Runs of blank lines collapse to one, and blank lines next to braces are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = "{[("
_CLOSE = "}])"
_NOT_ASSIGN_AFTER = "=>"
_NOT_ASSIGN_BEFORE = "=!<>"
_STRING_STOP = re.compile(r'[\\"$%]')
"""Characters that matter inside a quoted string: escapes, its end, interpolations."""
_CODE_STOP = re.compile(r'["#/{}\[\]()=]')
"""Characters that matter outside strings: strings, comments, brackets, '='."""


@dataclass
class _Line:
    text: str  # stripped of surrounding white space
    brackets: int  # net bracket change
    assign_at: int | None  # index of the assignment '=' when the line is alignable
    indent: int = 0


def _scan(text: str) -> tuple[int, list[tuple[int, int]]]:
    """Net bracket change of ``text`` and the list of (index, depth) of bare '=' signs.

    Depth is the bracket depth within the line at that '=' (0 = line level).
    """
    depth = 0
    equals: list[tuple[int, int]] = []
    # mode stack: "code" or "string"; interpolations push "code" with a brace counter
    modes: list[list[object]] = [["code", 0]]
    i = 0
    n = len(text)
    while i < n:
        mode = modes[-1]
        # Jump straight to the next character that can change the state (a regex scans in C;
        # stepping over every character in Python dominated large outputs).
        found = (_STRING_STOP if mode[0] == "string" else _CODE_STOP).search(text, i)
        if found is None:
            break
        i = found.start()
        c = text[i]
        if mode[0] == "string":
            if c == "\\":
                i += 2
                continue
            if c == '"':
                modes.pop()
            elif text.startswith(("$${", "%%{"), i):
                i += 3  # escaped literal "${" / "%{"
                continue
            elif text.startswith(("${", "%{"), i):
                modes.append(["code", 0])
                i += 2
                continue
            i += 1
            continue
        # code mode
        if c == '"':
            modes.append(["string"])
        elif c == "#" or text.startswith("//", i):
            break
        elif c in _OPEN:
            if len(modes) > 1:
                mode[1] = int(mode[1]) + 1  # type: ignore[call-overload]
            else:
                depth += 1
        elif c in _CLOSE:
            if len(modes) > 1:
                if c == "}" and mode[1] == 0:
                    modes.pop()  # end of interpolation
                else:
                    mode[1] = int(mode[1]) - 1  # type: ignore[call-overload]
            else:
                depth -= 1
        elif c == "=" and len(modes) == 1:
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < n else ""
            if after not in _NOT_ASSIGN_AFTER and before not in _NOT_ASSIGN_BEFORE:
                equals.append((i, depth))
        i += 1
    return depth, equals


def _analyse(raw: str, memo: dict[str, tuple[int, int | None]]) -> _Line:
    text = raw.strip()
    known = memo.get(text)
    if known is not None:  # generated files repeat most lines (`}`, `type = "container"`)
        return _Line(text, *known)
    net, equals = _scan(text)
    assign_at = None
    if equals:
        first, depth_at_first = equals[0]
        # The scanner is at line level in code mode at a recorded '=', so the net bracket
        # change of the rest of the line is the total minus the depth reached there.
        if first > 0 and net - depth_at_first == 0:
            assign_at = first
    memo[text] = (net, assign_at)
    return _Line(text, net, assign_at)


def _indent(lines: list[_Line]) -> None:
    stack: list[int] = []
    for line in lines:
        if not line.text:
            continue
        if line.brackets > 0:
            line.indent = len(stack)
            stack.append(line.brackets)
        elif line.brackets < 0:
            closed = -line.brackets
            while closed > 0 and stack:
                if closed >= stack[-1]:
                    closed -= stack.pop()
                else:
                    stack[-1] -= closed
                    closed = 0
            line.indent = len(stack)
        else:
            line.indent = len(stack)


def _tidy_blank_lines(lines: list[_Line]) -> list[_Line]:
    out: list[_Line] = []
    for line in lines:
        if not line.text:
            if not out or not out[-1].text or out[-1].text.endswith(("{", "[", "(")):
                continue
        elif line.text.startswith(("}", "]", ")")) and out and not out[-1].text:
            out.pop()
        out.append(line)
    while out and not out[-1].text:
        out.pop()
    return out


def format_hcl(text: str) -> str:
    """Re-indent and align ``text``; idempotent (``format_hcl(format_hcl(t)) == format_hcl(t)``)."""
    memo: dict[str, tuple[int, int | None]] = {}
    lines = _tidy_blank_lines([_analyse(raw, memo) for raw in text.splitlines()])
    _indent(lines)
    rendered: list[str] = []
    chain: list[_Line] = []

    def flush() -> None:
        if not chain:
            return
        width = max(len(line.text[: line.assign_at].rstrip()) for line in chain)
        for line in chain:
            assert line.assign_at is not None
            lead = line.text[: line.assign_at].rstrip()
            value = line.text[line.assign_at + 1 :].strip()
            pad = " " * (width - len(lead) + 1)
            rendered.append(f"{'  ' * line.indent}{lead}{pad}= {value}".rstrip())
        chain.clear()

    for line in lines:
        if line.assign_at is not None and (not chain or chain[-1].indent == line.indent):
            chain.append(line)
            continue
        flush()
        if line.assign_at is not None:
            chain.append(line)
            continue
        rendered.append(f"{'  ' * line.indent}{line.text}" if line.text else "")
    flush()
    return "\n".join(rendered) + "\n" if rendered else ""
