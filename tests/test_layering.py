"""The stages import only what comes before them (docs/architecture.md, "Layering").

A check judges the model, so it must not depend on the plan that comes after it (derivations
both need live in compiler/batchform/derive.py); the render stage is Jinja and only the build stage
calls
it; verify and diff read the plan through compiler/batchform/plan/contract.py and the HCL values
through
compiler/batchform/hcl.py, never through Jinja, so ``batchform verify`` and ``batchform diff`` start
without importing it. Every import counts, including those inside functions.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "compiler" / "batchform"

DOWNSTREAM_OF_CHECKS = (
    "batchform.plan",
    "batchform.render",
    "batchform.emit",
    "batchform.build",
    "batchform.verify",
    "batchform.diff",
    "batchform.sandbox",
    "batchform.cli",
    "jinja2",
)
RENDER = ("batchform.render", "jinja2")
FACTS = ("naming", "regions", "instance_types", "requirements")

CODE_CONSTANT = re.compile(r"^(CODE_\w+|OUTPUT_CODES)$")
"""Diagnostic codes are identifiers, not behaviour: the ignore-list check (BF483) must know the
codes every stage reports, so importing only such constants from a later stage is allowed."""


def _modules(*parts: str) -> list[Path]:
    """The Python files of ``compiler/<part>`` (a module or a package)."""
    out: list[Path] = []
    for part in parts:
        package, module = PACKAGE / part, PACKAGE / f"{part}.py"
        out += sorted(package.rglob("*.py")) if package.is_dir() else []
        out += [module] if module.is_file() else []
    return out


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """``(line, module, names)`` of every import in the file, at any depth."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names = [alias.name for alias in node.names]
            found.append((node.lineno, node.module, names))
            # ``from batchform import plan`` imports the module batchform.plan
            found += [(node.lineno, f"{node.module}.{name}", [name]) for name in names]
    return found


def _is_under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in files:
        for line, module, names in _imports(path):
            if not _is_under(module, forbidden):
                continue
            if names and all(CODE_CONSTANT.match(n) for n in names):
                continue
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            out.append(f"{where}:{line}: imports {module}")
    return out


@pytest.mark.parametrize(
    ("layer", "files", "forbidden"),
    [
        ("checks", _modules("checks"), DOWNSTREAM_OF_CHECKS),
        (
            "derivations",
            _modules("derive", "refs", "hcl"),
            ("batchform.checks", *DOWNSTREAM_OF_CHECKS),
        ),
        (
            "plan",
            _modules("plan"),
            (*RENDER, "batchform.checks", "batchform.verify", "batchform.diff"),
        ),
        ("verify", _modules("verify"), (*RENDER, "batchform.cli")),
        ("diff", _modules("diff"), (*RENDER, "batchform.cli")),
    ],
)
def test_a_stage_imports_nothing_that_comes_after_it(
    layer: str, files: list[Path], forbidden: tuple[str, ...]
) -> None:
    assert files, f"no modules found for {layer}"
    assert _violations(files, forbidden) == []


LEAVES = ("diagnostics", "units", "model", "hcl", "refs", "derive", *FACTS)


def test_derivations_and_facts_import_only_the_model_and_each_other() -> None:
    """What both checks and plan stand on must not stand on either of them. The one registry
    of codes (compiler/batchform/codes.py) may be imported too: its own top-level imports are only
    diagnostics, and it reaches the checks only inside ``all_codes`` to discover the rules."""
    files = _modules(*LEAVES)
    allowed = {f"batchform.{name}" for name in LEAVES} | {"batchform.codes"}
    outside = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in files
        for line, module, _ in _imports(path)
        if module.startswith("batchform.")
        and module not in allowed
        and not any(module.startswith(a + ".") for a in allowed)
    ]
    assert len(files) == len(LEAVES)
    assert outside == []


def test_only_the_build_stage_and_the_command_line_import_render() -> None:
    allowed = {PACKAGE / "build.py", PACKAGE / "cli.py", PACKAGE / "render.py"}
    others = [p for p in sorted(PACKAGE.rglob("*.py")) if p not in allowed]
    assert _violations(others, ("batchform.render",)) == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """The walk must catch a lazy import, or a check could hide its dependency on the plan."""
    module = tmp_path / "sneaky.py"
    module.write_text(
        "def f():\n    from batchform.plan.jobs import plan\n    return plan\n", encoding="utf-8"
    )
    assert _violations([module], DOWNSTREAM_OF_CHECKS) != []


def test_verify_and_diff_start_without_jinja() -> None:
    """What the layering buys: ``batchform verify`` and ``diff`` never pay for Jinja."""
    code = (
        "import sys, batchform.verify.command, batchform.diff; "
        "print(sorted(m for m in sys.modules if m == 'jinja2' or m == 'batchform.render'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
