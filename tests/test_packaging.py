"""The wheel a user installs carries every subpackage, the templates, the data tables and the
rules' documentation."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# What a checkout holds that is not the project: setuptools' own build/ cache would put files of
# an earlier layout into the wheel, so the wheel is built from a copy without them.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".terraform"
)


def test_wheel_contains_packages_templates_and_data(tmp_path: Path) -> None:
    source_tree = tmp_path / "src"
    shutil.copytree(ROOT, source_tree, ignore=NOT_SOURCE)
    out = tmp_path / "wheel"
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
            str(out),
            str(source_tree),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(out.glob("batchform-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    source = ROOT / "compiler"  # the source folder; the wheel holds its package at the top
    packages = sorted(p.parent.relative_to(source).as_posix() for p in source.rglob("__init__.py"))
    assert packages[0] == "batchform"
    for package in packages:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    assert not [n for n in names if n.startswith(("compiler/", "templates/"))], (
        "the wheel claims a generic top-level name"
    )
    templates = sorted(p.name for p in (ROOT / "templates").glob("*.j2"))
    assert templates
    for template in templates:
        assert f"batchform/templates/{template}" in names
    for data in (source / "batchform" / "data").glob("*.json"):
        assert f"batchform/data/{data.name}" in names
    for schema in (source / "batchform" / "data" / "aws_provider_schemas").glob("*.json"):
        assert f"batchform/data/aws_provider_schemas/{schema.name}" in names
    # the rule pages' data: `batchform rules BF483` reads it from the installed package
    rule_docs = sorted((source / "batchform" / "checks" / "docs").glob("*.yaml"))
    assert any(p.name == "base.yaml" for p in rule_docs)
    for doc in rule_docs:
        assert f"batchform/checks/docs/{doc.name}" in names, f"{doc.name} is missing"
