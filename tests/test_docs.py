"""Every environment file shown in docs/ is one a user can copy: it validates without errors.

A YAML block counts as an environment file when its first line that is not a comment is
``version: 1``; other YAML blocks (workflows, hook configuration) are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler.build import analyze_text
from compiler.diagnostics import Level

DOCS = Path(__file__).parent.parent / "docs"
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)


def environment_blocks() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for match in YAML_BLOCK.finditer(text):
            block = match.group(1)
            lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
            if lines and lines[0].strip() == "version: 1":
                line = text.count("\n", 0, match.start()) + 2
                found.append((f"{page.name}:{line}", block))
    return found


BLOCKS = environment_blocks()


def test_the_guides_show_environment_files() -> None:
    pages = {where.split(":")[0] for where, _ in BLOCKS}
    assert {"getting-started.md", "recipes.md"} <= pages
    assert sum(where.startswith("recipes.md") for where, _ in BLOCKS) >= 6


@pytest.mark.parametrize(("where", "block"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_environment_file_in_docs_validates(where: str, block: str) -> None:
    analysis = analyze_text(block, where)
    errors = [
        f"{d.line}:{d.col} {d.code} {d.message}"
        for d in analysis.diagnostics
        if d.level == Level.ERROR
    ]
    assert analysis.env is not None and errors == [], errors
