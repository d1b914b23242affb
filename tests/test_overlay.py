"""``extends:`` (compiler/batchform/overlay.py, docs/environment.md "Several environments from one
base"):
merge rules, diagnostics located in the file that wrote the value, chains and cycles, every
command accepting an overlay, ``batchform show``, and ``compile --check`` noticing a base change.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from batchform.build import analyze, source_label
from batchform.cli import main
from batchform.loader import load_file
from batchform.overlay import load_chain
from tests.harness.gitrepo import git

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    """configs/genomics.yaml and its dev overlay, copied so the test may edit them."""
    for name in ("genomics.yaml", "genomics-dev.yaml"):
        shutil.copy(CONFIGS / name, tmp_path / name)
    return tmp_path


def test_the_dev_example_inherits_overrides_and_removes() -> None:
    base = analyze(CONFIGS / "genomics.yaml").env
    dev = analyze(CONFIGS / "genomics-dev.yaml").env
    assert base is not None and dev is not None
    assert dev.name == "genomics-dev"
    assert set(base.compute_environments) - set(dev.compute_environments) == {"ondemand"}
    assert dev.compute_environments["spot"].max_vcpus == 64  # overridden
    # every other key of spot is inherited
    assert (
        dev.compute_environments["spot"].model_copy(
            update={"max_vcpus": base.compute_environments["spot"].max_vcpus}
        )
        == base.compute_environments["spot"]
    )
    assert dev.tags == {**base.tags, "stage": "dev"}  # mappings merge
    assert dev.job_queues["high"].compute_environments == ["spot"]  # lists replace
    assert dev.schedules == {} and base.schedules  # null removes
    assert dev.terraform.backend is not None and base.terraform.backend is not None
    assert dev.terraform.backend.s3.key == "batch/genomics-dev.tfstate"
    assert dev.terraform.backend.s3.bucket == base.terraform.backend.s3.bucket


def test_a_diagnostic_points_at_the_file_and_line_that_wrote_the_value(pair: Path) -> None:
    dev = pair / "genomics-dev.yaml"
    dev.write_text(
        dev.read_text().replace("spot: {max_vcpus: 64}", "spot: {max_vcpus: -1}"), "utf-8"
    )
    base = pair / "genomics.yaml"
    base.write_text(base.read_text().replace("max_vcpus: 128", "max_vcpus: -2"), "utf-8")
    errors = {
        (d.code, d.file, d.line) for d in analyze(dev).diagnostics if d.level.value == "error"
    }
    dev_line = next(i for i, t in enumerate(dev.read_text().splitlines(), 1) if "-1}" in t)
    base_line = next(
        i for i, t in enumerate(base.read_text().splitlines(), 1) if "max_vcpus: -2" in t
    )
    assert ("BF306", str(dev), dev_line) in errors
    assert ("BF306", str(base), base_line) in errors


def test_removing_a_referenced_entry_is_caught_in_the_base(pair: Path) -> None:
    dev = pair / "genomics-dev.yaml"
    text = dev.read_text().replace("    compute_environments: [spot]", "    priority: 99")
    dev.write_text(text, "utf-8")
    found = [d for d in analyze(dev).diagnostics if d.code == "BF204"]
    assert [(d.file, "ondemand" in d.message) for d in found] == [
        (str(pair / "genomics.yaml"), True)
    ]


def test_a_chain_of_three_files(tmp_path: Path) -> None:
    shutil.copy(CONFIGS / "tiny.yaml", tmp_path / "org.yaml")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "base.yaml").write_text(
        "extends: ../org.yaml\ncompute_environments:\n  ec2: {max_vcpus: 8}\n", "utf-8"
    )
    (tmp_path / "team" / "dev.yaml").write_text("extends: base.yaml\nname: tiny-dev\n", "utf-8")
    analysis = analyze(tmp_path / "team" / "dev.yaml")
    assert analysis.env is not None, analysis.diagnostics
    assert (analysis.env.name, analysis.env.compute_environments["ec2"].max_vcpus) == (
        "tiny-dev",
        8,
    )
    assert source_label(analysis) == "dev.yaml (extends base.yaml -> ../org.yaml)"


@pytest.mark.parametrize(
    ("files", "code", "message"),
    [
        ({"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"}, "BF008", "cycle"),
        ({"a.yaml": "extends: a.yaml\n"}, "BF008", "cycle"),
        ({"a.yaml": "extends: missing.yaml\n"}, "BF007", "No such file"),
        ({"a.yaml": "extends: /etc/hostname\n"}, "BF007", "absolute path"),
        ({"a.yaml": "extends: [b.yaml]\n"}, "BF007", "must be the path"),
        ({"a.yaml": "extends: b.yaml\n", "b.yaml": "- a list\n"}, "BF003", "mapping"),
        ({"a.yaml": "extends: b.yaml\n", "b.yaml": "name: [\n"}, "BF001", "syntax"),
    ],
)
def test_broken_chains_are_located_errors(
    tmp_path: Path, files: dict[str, str], code: str, message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, "utf-8")
    found = analyze(tmp_path / "a.yaml").diagnostics
    assert [d.code for d in found] == [code]
    assert message in found[0].message
    assert found[0].line is not None


def test_too_long_a_chain_is_refused(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"f{i}.yaml").write_text(f"extends: f{i + 1}.yaml\n", "utf-8")
    shutil.copy(CONFIGS / "tiny.yaml", tmp_path / "f12.yaml")
    found = analyze(tmp_path / "f0.yaml").diagnostics
    assert [d.code for d in found] == ["BF008"]
    assert "more than 8 files" in found[0].message


def test_show_prints_yaml_that_reads_back_the_same_with_origins(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["show", str(CONFIGS / "genomics-dev.yaml")]) == 0
    text = capsys.readouterr().out
    shown = tmp_path / "shown.yaml"
    shown.write_text(text, "utf-8")
    assert load_file(shown).data == load_chain(str(CONFIGS / "genomics-dev.yaml")).data
    lines = text.splitlines()
    assert any(
        line.startswith("name: genomics-dev  # ") and "genomics-dev.yaml:" in line for line in lines
    )
    assert any(
        line.startswith("region: us-west-2  # ") and "genomics.yaml:" in line for line in lines
    )
    assert all("  # " in line for line in lines[1:]), "every line names its origin"


def test_show_of_a_broken_chain_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text("extends: nowhere.yaml\n", "utf-8")
    assert main(["show", str(tmp_path / "a.yaml")]) == 1
    err = capsys.readouterr().err
    assert "BF007" in err and "Traceback" not in err


def test_show_of_a_file_without_extends_is_that_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(CONFIGS / "tiny.yaml")]) == 0
    text = capsys.readouterr().out
    assert yaml.safe_load(text)["name"] == "tiny"


def test_compile_names_the_chain_and_check_notices_a_base_change(
    pair: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = pair / "generated"
    dev = str(pair / "genomics-dev.yaml")
    assert main(["compile", dev, "-o", str(out)]) == 0
    header = (out / "genomics-dev" / "versions.tf").read_text().splitlines()[0]
    assert header.startswith(
        "# Generated by batchform from genomics-dev.yaml (extends genomics.yaml)."
    )
    readme = (out / "genomics-dev" / "README.md").read_text()
    assert "generated from `genomics-dev.yaml (extends genomics.yaml)`" in readme
    assert main(["compile", "--check", dev, "-o", str(out)]) == 0
    base = pair / "genomics.yaml"
    base.write_text(
        base.read_text().replace("log_retention_days: 30", "log_retention_days: 14"), "utf-8"
    )
    capsys.readouterr()
    assert main(["compile", "--check", dev, "-o", str(out)]) == 1
    assert "logs.tf" in capsys.readouterr().out


def test_diff_between_two_overlays_of_one_base(
    pair: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = pair / "genomics-staging.yaml"
    staging.write_text(
        (pair / "genomics-dev.yaml").read_text().replace("max_vcpus: 64", "max_vcpus: 128"),
        "utf-8",
    )
    assert main(["diff", str(pair / "genomics-dev.yaml"), str(staging)]) == 0
    assert "max_vcpus: 64 -> 128" in capsys.readouterr().out


def test_diff_base_reads_the_bases_at_the_revision_too(
    pair: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(pair, "init", "-q")
    git(pair, "add", "genomics.yaml", "genomics-dev.yaml")
    git(pair, "commit", "-q", "-m", "base")
    base = pair / "genomics.yaml"
    base.write_text(base.read_text().replace("priority: 100", "priority: 200"), "utf-8")
    assert main(["diff", "--base", "HEAD", str(pair / "genomics-dev.yaml")]) == 0
    out = capsys.readouterr().out
    assert "priority: 100 -> 200" in out
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in out


def test_a_nul_in_extends_is_a_located_error_not_a_crash(tmp_path: Path) -> None:
    """Found by tests/test_hostile_values.py: os.stat raises ValueError for such a path."""
    (tmp_path / "a.yaml").write_text('extends: "base\\0.yaml"\n', "utf-8")
    found = analyze(tmp_path / "a.yaml").diagnostics
    assert [d.code for d in found] == ["BF007"]
    assert "NUL" in found[0].message


def test_diff_base_says_when_a_base_did_not_exist_at_the_revision(
    pair: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(pair, "init", "-q")
    git(pair, "add", "genomics-dev.yaml")  # the base is not committed
    git(pair, "commit", "-q", "-m", "overlay only")
    assert main(["diff", "--base", "HEAD", str(pair / "genomics-dev.yaml")]) == 1
    err = capsys.readouterr().err
    assert "BF007" in err and "no such file at HEAD" in err and "Traceback" not in err


def test_in_a_chain_of_three_each_diagnostic_names_its_own_file(tmp_path: Path) -> None:
    org = (CONFIGS / "tiny.yaml").read_text().replace("max_vcpus: 16", "max_vcpus: -1")
    (tmp_path / "org.yaml").write_text(org, "utf-8")
    (tmp_path / "base.yaml").write_text(
        "extends: org.yaml\njob_queues:\n  main: {priority: 5000}\n", "utf-8"
    )
    (tmp_path / "dev.yaml").write_text(
        "extends: base.yaml\nname: dev\nregion: us-moon-1\n", "utf-8"
    )
    found = {(d.file, d.line) for d in analyze(tmp_path / "dev.yaml").diagnostics}
    org_line = org.splitlines().index("    max_vcpus: -1") + 1
    assert (str(tmp_path / "org.yaml"), org_line) in found  # the leaf base
    assert (str(tmp_path / "base.yaml"), 3) in found  # the middle one
    assert (str(tmp_path / "dev.yaml"), 3) in found  # the file itself
