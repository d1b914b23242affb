"""The developer documentation names only files that exist.

The README's development section and docs/architecture.md are a new contributor's map; a path
in them that does not exist (a renamed test file, a moved module) sends that contributor
looking for nothing. Every repository path written in backquotes there must exist (a glob must
match something; ``<name>`` placeholders stand for any single path part).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_DIRS = ("compiler", "tests", "benchmarks", "docs", "templates", "configs", "generated")
PATH = re.compile(rf"^(?:{'|'.join(TOP_DIRS)})/[\w./*<>-]*$")


def _development_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Development\n", 1)[1].split("\n## ", 1)[0]


def _paths(text: str) -> set[str]:
    """Repository paths written in backquotes (each word of a command counts); fenced blocks
    (diagrams, examples with made-up file names) are left out."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    words = (word for code in re.findall(r"`([^`]+)`", text) for word in code.split())
    return {word.rstrip(".,:;") for word in words if PATH.match(word.rstrip(".,:;"))}


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("README.md, Development", _development_section()),
        ("docs/architecture.md", (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")),
        ("benchmarks/README.md", (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")),
    ],
)
def test_every_path_the_developer_docs_name_exists(where: str, text: str) -> None:
    paths = _paths(text)
    assert paths, f"{where}: no path found; the pattern no longer matches the text"
    missing = sorted(p for p in paths if not any(ROOT.glob(re.sub(r"<[^>]+>", "*", p))))
    assert missing == [], f"{where} names files that do not exist: {missing}"


def test_the_development_section_covers_every_stage_and_command() -> None:
    section = _development_section()
    for name in (
        "compiler/batchform/loader.py",
        "compiler/batchform/model.py",
        "compiler/batchform/checks/",
        "compiler/batchform/plan/",
        "compiler/batchform/render.py",
        "compiler/batchform/emit.py",
        "compiler/batchform/build.py",
        "compiler/batchform/verify/",
        "compiler/batchform/diff/",
        "compiler/batchform/report/",
        "compiler/batchform/sandbox/",
        "compiler/batchform/cli.py",
        "make test",
        "make test-fast",
        "make bench",
        "docs/architecture.md",
    ):
        assert name in section, name
