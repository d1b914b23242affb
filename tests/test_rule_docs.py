"""Every code's documentation (compiler/batchform/checks/docs/bf*.yaml) is sound, and its examples
do what
the page says: the bad example, run as a user's file, reports the code; the good example, its
fix, reports neither the code nor any error.

The examples go through the real loader and the normal analysis (tests/harness/rule_examples.py),
so what a page shows is what ``batchform validate`` says.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from batchform.codes import all_codes, known_codes
from batchform.ruledocs import RuleDoc, base_environment, load_docs
from tests.harness.rule_examples import codes_with_examples, run_example

ROOT = Path(__file__).resolve().parent.parent
DOCS = load_docs()  # not rule_docs(): a broken file fails one test below, not the collection
EXAMPLES = sorted(code for code, doc in DOCS.docs.items() if doc.trigger is None)


def test_documentation_files_are_valid() -> None:
    assert not DOCS.problems, "\n".join(str(p) for p in DOCS.problems)


def test_every_documented_code_exists() -> None:
    codes = known_codes()
    unknown = [f"{DOCS.files[c]}: {c}" for c in DOCS.docs if c not in codes]
    assert not unknown, f"documentation for codes batchform does not have: {unknown}"


def test_the_base_environment_is_clean() -> None:
    """The examples are overlays on base.yaml: if it reported anything, a good example could
    not be clean and a bad one could fire for the base's sake."""
    from batchform.build import analyze_text
    from batchform.ruledocs import dump_yaml

    diags = analyze_text(dump_yaml(base_environment()), "base.yaml").diagnostics
    assert not diags, [(d.code, d.message) for d in diags]


@pytest.mark.parametrize("code", EXAMPLES)
def test_bad_example_reports_its_code(code: str) -> None:
    run = run_example(code, "bad")
    assert run is not None
    assert code in run.codes, (
        f"{code}'s bad example does not report it; it reports:\n{run.report()}"
    )


@pytest.mark.parametrize("code", EXAMPLES)
def test_good_example_is_clean(code: str) -> None:
    run = run_example(code, "good")
    assert run is not None
    assert code not in run.codes and not run.errors, (
        f"{code}'s good example must report neither {code} nor an error; it reports:\n"
        f"{run.report()}"
    )


UNREACHABLE_RULES: dict[str, str] = {}
"""Rules no file can trigger, with the reason (documented with ``trigger``). Empty since
``aws_name`` / ``aws_name_prefix`` (issue 12) let a file choose the names BF321 and BF400
guard."""


def test_only_codes_no_file_can_reach_go_without_examples() -> None:
    """A rule checks the model of a file, so some file triggers it: its page shows that file.
    ``trigger`` is for the codes of the stages around the checks (crash, rendering, output),
    and for the rules listed in :data:`UNREACHABLE_RULES`, with the reason."""
    rules = {c.code for c in all_codes() if c.is_rule}
    without = sorted(code for code, doc in DOCS.docs.items() if doc.trigger and code in rules)
    assert without == sorted(UNREACHABLE_RULES), (
        f"rules documented with a trigger instead of examples: {without}"
    )
    assert codes_with_examples() == EXAMPLES


def test_every_code_is_documented() -> None:
    missing = [c.code for c in all_codes() if c.code not in DOCS.docs]
    assert not missing, f"{len(missing)} codes have no documentation entry: {missing}"


# --- the loader refuses what the format does not allow ------------------------------------------

ENTRY = """\
  explanation: Why it matters.
  bad: |
    compute_environments:
      ec2:
        max_vcpus: sixteen
  good: |
    compute_environments:
      ec2:
        max_vcpus: 16
  fix: Write a number.
  source: [batchform]
"""


def problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return [str(p) for p in load_docs(tmp_path).problems]


def test_a_sound_file_loads(tmp_path: Path) -> None:
    assert problems(tmp_path, {"bf100-109.yaml": f"BF103:\n{ENTRY}"}) == []
    (tmp_path / "base.yaml").write_text("not: read as documentation\n", encoding="utf-8")
    assert load_docs(tmp_path).files == {"BF103": "bf100-109.yaml"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"bf100-109.yaml": f"BF103:\n{ENTRY}  see_also: BF101\n"},
            "bf100-109.yaml:13:3: BF103.see_also: unknown field 'see_also' (the fields are ",
        ),
        (
            {"bf100-109.yaml": f"BF103:\n{ENTRY}", "bf100-199.yaml": f"BF103:\n{ENTRY}"},
            "bf100-199.yaml:1:1: BF103 is documented in bf100-109.yaml too",
        ),
        ({"bf100-109.yaml": f"BF203:\n{ENTRY}"}, "BF203 is outside this file's range BF100-BF109"),
        (
            {"bf100-109.yaml": f"BF103:\n{ENTRY}BF101:\n{ENTRY}"},
            "bf100-109.yaml:13:1: BF101 comes after BF103: keep the entries in code order",
        ),
        (
            {"bf100-109.yaml": f"BF103:\n{ENTRY}BF103:\n{ENTRY}"},
            "bf100-109.yaml:13:1: key 'BF103' appears twice in this mapping",
        ),
        ({"bf100-109.yaml": f"bf103:\n{ENTRY}"}, "'bf103' is not a code like BF483"),
        ({"rules.yaml": ""}, None),  # not a bf*.yaml file: not documentation, not read
        ({"bf1.yaml": f"BF103:\n{ENTRY}"}, "documentation files are named bf<first>-<last>.yaml"),
        (
            {"bf100-109.yaml": "BF103:\n" + ENTRY.replace("  good: |\n", "  nice: |\n")},
            "BF103.nice: unknown field",
        ),
        (
            {"bf100-109.yaml": "BF103:\n" + ENTRY.replace("  good: |", "  good_file: |")},
            None,  # a whole file as the good side is allowed
        ),
        (
            {"bf100-109.yaml": "BF103:\n" + ENTRY + "  trigger: Never.\n"},
            "trigger is for codes no file can trigger; this one has examples",
        ),
        (
            {"bf100-109.yaml": "BF103:\n" + ENTRY.replace("source: [batchform]", "source: []")},
            "bf100-109.yaml:12:3: BF103.source: list at least one source",
        ),
        (
            {
                "bf100-109.yaml": "BF103:\n"
                + ENTRY.replace("  good: |\n    compute", "  good: |\n    - compute")
            },
            "bf100-109.yaml:7:9: BF103.good: the overlay cannot be read: the top level",
        ),
        (
            {"bf100-109.yaml": "BF103:\n  explanation: Why.\n  fix: Fix.\n  source: [x]\n"},
            "give a bad and a good example, or a trigger",
        ),
        (
            {"bf100-109.yaml": "BF103:\n" + ENTRY.replace("[batchform]", "batchform")},
            "bf100-109.yaml:12:11: BF103.source: source is a list: write `source: [batchform]`",
        ),
        ({"bf100-109.yaml": "BF103: see BF101\n"}, "bf100-109.yaml:1:8: BF103: Input should be"),
    ],
    ids=[
        "unknown field",
        "code in two files",
        "code outside the file's range",
        "not in code order",
        "code twice in one file",
        "not a code",
        "other yaml files are ignored",
        "file name without a range",
        "a bad example without a good one",
        "whole-file good example",
        "trigger and examples",
        "no source",
        "overlay not a mapping",
        "neither examples nor trigger",
        "source not a list",
        "entry not a mapping",
    ],
)
def test_the_loader_locates_each_problem(
    tmp_path: Path, files: dict[str, str], expected: str | None
) -> None:
    found = problems(tmp_path, files)
    if expected is None:
        assert found == []
    else:
        assert any(expected in p for p in found), found


def test_an_example_reads_as_a_users_file() -> None:
    """``on:`` stays the key ``on`` and ``3.10`` stays the text it was written as, as in a
    user's file (PyYAML alone would make them ``True`` and ``3.1``)."""
    doc = RuleDoc(
        explanation="x",
        fix="x",
        source=("batchform",),
        bad="alerts:\n  on: [FAILED]\njob_definitions:\n  hello:\n    image: repo/app:3.10\n"
        "    platform_version: 1.4.0\n",
        good="tags:\n  version: 3.10\n",
    )
    from batchform.loader import load_text

    bad = load_text(doc.example_file("bad") or "", "x.yaml").data
    assert list(bad["alerts"]) == ["on"]
    assert bad["job_definitions"]["hello"]["image"] == "repo/app:3.10"
    assert bad["job_definitions"]["hello"]["vcpus"] == 1  # the base's value, merged
    good = load_text(doc.example_file("good") or "", "x.yaml").data
    assert str(good["tags"]["version"]) == "3.10"


# --- batchform rules CODE ------------------------------------------------------------------------


def rules(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "batchform", "rules", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_rules_code_prints_the_page() -> None:
    result = rules("bf101")
    assert result.returncode == 0, result.stderr
    page = result.stdout
    assert page.startswith("BF101  error  unknown key")
    for section in ("Reports it (laid over", "batchform reports:", "Fix:", "Fixed (", "Sources:"):
        assert section in page, page
    # what batchform says for the bad example, computed, with the key's path and the hint
    assert "compute_environments.ec2.max_vcpu: error BF101: unknown key 'max_vcpu'" in page
    assert "hint: did you mean 'max_vcpus'?" in page


def test_rules_code_without_examples_says_when_it_is_reported() -> None:
    result = rules("BF013")
    assert result.returncode == 0
    assert "When:" in result.stdout and "batchform reports:" not in result.stdout


def test_rules_code_as_json() -> None:
    entry = json.loads(rules("BF002", "--format", "json").stdout)
    assert entry["code"] == "BF002" and entry["level"] == "error" and entry["stage"] == "load"
    assert entry["page"] == "docs/rules/BF002.md"
    assert entry["documentation"]["bad_file"].startswith("version: 1")
    assert [(d["code"], d["line"], d["col"]) for d in entry["reports"]] == [("BF002", 10, 7)]


def test_an_unknown_code_is_a_usage_error_with_a_suggestion() -> None:
    result = rules("BF999")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "'BF999' is not a batchform code; did you mean BF499" in result.stderr


def test_the_list_has_every_code_of_every_stage() -> None:
    listed = json.loads(rules("--format", "json").stdout)
    by_code = {r["code"]: r for r in listed}
    assert set(by_code) == set(known_codes())
    assert by_code["BF001"]["stage"] == "load" and by_code["BF493"]["stage"] == "build"
    assert by_code["BF201"]["stage"] == "checks"


def test_a_broken_documentation_file_is_reported_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """While a contributor edits a documentation file, `batchform rules BF101` says where the
    file is wrong (exit 1) instead of crashing."""
    from batchform import cli, ruledocs
    from batchform.diagnostics import Position

    problem = ruledocs.DocProblem(
        "compiler/batchform/checks/docs/bf000-199.yaml", Position(3, 5), "BF101: x"
    )
    broken = ruledocs.LoadedDocs({}, {}, [problem])
    monkeypatch.setattr(ruledocs, "_packaged", lambda: broken)
    assert cli.main(["rules", "BF101"]) == 1
    err = capsys.readouterr().err
    assert err == "compiler/batchform/checks/docs/bf000-199.yaml:3:5: BF101: x\n"


# --- the registry of codes -------------------------------------------------------------------


def test_a_code_is_registered_once_and_well_formed() -> None:
    from batchform.codes import Stage, register
    from batchform.diagnostics import Level

    with pytest.raises(RuntimeError, match="code BF001 registered twice"):
        register("BF001", Level.ERROR, "again", Stage.LOAD)
    with pytest.raises(RuntimeError, match="not a code of the form BF123"):
        register("BF1234", Level.ERROR, "too long", Stage.LOAD)
    assert known_codes()["BF001"] == Level.ERROR


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("BF483", "BF483"),
        ("bf483", "BF483"),
        (" 483 ", "BF483"),
        ("6", "BF006"),
        ("BF999", None),
        ("\uff14\uff18\uff13", None),  # fullwidth digits are not a code
        ("", None),
    ],
)
def test_lookup_takes_a_code_as_users_type_it(typed: str, code: str | None) -> None:
    from batchform.codes import lookup

    found = lookup(typed)
    assert (found.code if found else None) == code


def test_known_codes_are_every_stages_with_their_levels() -> None:
    """What an ignore list may name (BF498/BF499): the codes of every stage, each with the level
    it is reported at."""
    from batchform import emit, loader, model, naming, render
    from batchform.checks import CODE_CHECK_CRASHED

    codes = known_codes()
    stage_constants = [
        CODE_CHECK_CRASHED,
        loader.CODE_SYNTAX,
        loader.CODE_UNREADABLE,
        model.CODE_UNKNOWN_KEY,
        render.CODE_RENDER,
        emit.CODE_IO,
        naming.CODE_NAME_COLLISION,
    ]
    assert all(codes[c] == "error" for c in stage_constants)
    assert codes["BF498"] == "info" and codes["BF499"] == "warning"
