"""Every environment file shown in docs/ is one a user can copy: it validates without errors.

docs/recipes.md promises it of its files, and docs/coming-from-other-tools.md shows a peer's
example translated; a key renamed later, or a value a new rule refuses, would leave a page
showing a file that fails. A YAML block counts as an environment file when its first line that
is not a comment is ``version: 1``; other YAML blocks (workflows, hook configuration, the
fragments of docs/environment.md) are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batchform.build import analyze_text
from batchform.diagnostics import Level

DOCS = Path(__file__).resolve().parent.parent / "docs"
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)


def environment_blocks() -> list[tuple[str, str]]:
    """(``page.md:line`` of the block's first line, block text) of every environment file."""
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
    """The finder still finds the files the pages are known to hold."""
    pages = [where.split(":")[0] for where, _ in BLOCKS]
    assert pages.count("recipes.md") >= 7
    assert {"getting-started.md", "coming-from-other-tools.md"} <= set(pages)


@pytest.mark.parametrize(("where", "block"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_environment_file_in_docs_validates(where: str, block: str) -> None:
    analysis = analyze_text(block, where.split(":")[0])
    errors = [
        f"{d.line}:{d.col}: {d.code} {d.message}"
        for d in analysis.diagnostics
        if d.level is Level.ERROR
    ]
    assert errors == [], f"docs/{where}: the file shown there does not validate"
