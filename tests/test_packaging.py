"""The wheel a user installs carries every subpackage, the templates, the data tables and the
rules' documentation."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_packages_templates_and_data(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("batchform-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = sorted(
        p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "compiler").rglob("__init__.py")
    )
    for package in packages:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    templates = sorted(p.name for p in (ROOT / "templates").glob("*.j2"))
    assert templates
    for template in templates:
        assert f"compiler/templates/{template}" in names
    for data in (ROOT / "compiler" / "data").glob("*.json"):
        assert f"compiler/data/{data.name}" in names
    # the rule pages' data: `batchform rules BF483` reads it from the installed package
    rule_docs = sorted((ROOT / "compiler" / "checks" / "docs").glob("*.yaml"))
    assert any(p.name == "base.yaml" for p in rule_docs)
    for doc in rule_docs:
        assert f"compiler/checks/docs/{doc.name}" in names, f"{doc.name} is missing from the wheel"
