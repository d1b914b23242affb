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
from collections.abc import Iterator

_OPEN = "{[("
_CLOSE = "}])"
_NOT_ASSIGN_AFTER = "=>"
_NOT_ASSIGN_BEFORE = "=!<>"
_STRING_STOP = re.compile(r'[\\"$%]')
"""Characters that matter inside a quoted string: escapes, its end, interpolations."""
_CODE_STOP = re.compile(r'["#/{}\[\]()=]')
"""Characters that matter outside strings: strings, comments, brackets, '='."""


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


_Info = tuple[int, str | None, str]
"""Per distinct stripped line: net bracket change, and for an alignable assignment its left-hand
side (stripped) and what follows it from the ``=`` on (``= value``, or ``=`` alone)."""


def _analyse(text: str) -> _Info:
    net, equals = _scan(text)
    if equals:
        first, depth_at_first = equals[0]
        # The scanner is at line level in code mode at a recorded '=', so the net bracket
        # change of the rest of the line is the total minus the depth reached there.
        if first > 0 and net - depth_at_first == 0:
            value = text[first + 1 :].strip()
            return net, text[:first].rstrip(), f"= {value}" if value else "="
    return net, None, ""


_PIECE_CHARS = 1 << 20
"""Characters of input split into lines at a time (see :func:`_lines`)."""
_PART_LINES = 8192
"""Output lines joined into one string at a time (see :func:`format_hcl`)."""


def _lines(text: str) -> Iterator[str]:
    """``text.splitlines()``, a piece of about a megabyte at a time.

    Why: the job definitions file of 5000 job definitions has 290,000 lines, and holding them
    all as separate strings beside the output took about 18 MiB of the compile's peak memory.
    Each piece ends just after a ``\n``, which ends a line for ``splitlines`` as well, so the
    lines are exactly those of the whole text."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _PIECE_CHARS)
        stop = len(text) if end < 0 else end + 1
        yield from text[start:stop].splitlines()
        start = stop


def format_hcl(text: str) -> str:
    """Re-indent and align ``text``; idempotent (``format_hcl(format_hcl(t)) == format_hcl(t)``).

    One pass over the lines, with the analysis of each distinct line memoised: generated files
    repeat most lines (``}``, ``type = "container"``), and with 5000 job definitions this
    function handles 370,000 lines, so the per-line work is kept to a dictionary look-up, the
    indentation stack and string concatenation.
    """
    memo: dict[str, _Info] = {}
    parts: list[str] = []  # joined runs of output lines (see _PART_LINES)
    rendered: list[str] = []
    stack: list[int] = []  # brackets opened by each line that is still open
    chain: list[tuple[str, str]] = []  # (left-hand side, "= value") of aligned assignments
    chain_prefix = ""

    def flush() -> None:
        if len(chain) == 1:
            lead, tail = chain[0]
            rendered.append(f"{chain_prefix}{lead} {tail}")
        else:
            width = max(len(lead) for lead, _ in chain) + 1
            for lead, tail in chain:
                rendered.append(f"{chain_prefix}{lead}{' ' * (width - len(lead))}{tail}")
        chain.clear()

    # Blank lines: a run counts once, and only between two lines that neither open a block
    # before it nor close one after it; so a blank is held back until the next line shows
    # whether it is kept.
    blank = False
    last = ""  # the last non-blank line
    for raw in _lines(text):
        if len(rendered) >= _PART_LINES:
            # joined as it goes, so that the output is not also held as one string per line
            parts.append("\n".join(rendered))
            rendered.clear()
        line = raw.strip()
        if not line:
            blank = bool(last) and not last.endswith(("{", "[", "("))
            continue
        if blank:
            blank = False
            if not line.startswith(("}", "]", ")")):
                if chain:
                    flush()
                rendered.append("")
        last = line
        info = memo.get(line)
        if info is None:
            info = memo[line] = _analyse(line)
        net, lead, tail = info
        if net > 0:
            prefix = "  " * len(stack)
            stack.append(net)
        else:
            if net < 0:
                closed = -net
                while closed > 0 and stack:
                    if closed >= stack[-1]:
                        closed -= stack.pop()
                    else:
                        stack[-1] -= closed
                        closed = 0
            prefix = "  " * len(stack)
        if lead is not None:
            if chain and prefix != chain_prefix:
                flush()
            chain.append((lead, tail))
            chain_prefix = prefix
            continue
        if chain:
            flush()
        rendered.append(prefix + line)
    if chain:
        flush()
    if rendered:
        parts.append("\n".join(rendered))
    return "\n".join(parts) + "\n" if parts else ""
