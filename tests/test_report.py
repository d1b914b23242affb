"""The report layer: every result kind in every format it is offered in, as a user (or CI)
reads it: exit codes, JSON valid against the committed schemas (docs/schemas/), SARIF valid
against the official SARIF 2.1.0 schema (tests/data/), JUnit a CI server can parse, Markdown
whose tables hold, and hostile text (from a file or from AWS) inert in every format."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest
import yaml

from batchform import codes
from batchform.build import analyze_text
from batchform.cli import main
from batchform.diagnostics import Diagnostic, Level
from batchform.diff import AttributeChange, EnvironmentDiff, Note, ResourceChange, Risk
from batchform.report import diagnostics as diag_report
from batchform.report import diff as diff_report
from batchform.report import escape, junit, markdown
from batchform.report.sandbox import format_junit as sandbox_junit
from batchform.report.sandbox import format_text as sandbox_text
from batchform.report.verify import (
    Source,
    format_json,
    format_junit,
    format_markdown,
    format_sarif,
    format_text,
)
from batchform.sandbox.result import SandboxReport, Step, StepStatus
from batchform.verify.result import Kind, Report, ResourceCheck

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
TINY = ROOT / "configs" / "tiny.yaml"
REGION = "us-west-2"
HOSTILE = "a<b&c]]>d\x1b[31mred\x00|pipe`tick`*em*_u_[l](x)\u202e\nnext# h"


def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return data


def valid_json(name: str, text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator(schema(name)).validate(data)
    return data


def valid_sarif(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(data)
    return data


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def tiny() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(TINY.read_text())
    return data


# --- validate ---------------------------------------------------------------------------------


@pytest.fixture
def two_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A clean file and one with an error (max_vcpus 0) and a warning, in a working directory
    of their own, named relative to it as a CI job would."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "clean.yaml", tiny())
    bad = tiny()
    bad["compute_environments"]["ec2"]["max_vcpus"] = 0
    (tmp_path / "configs dir").mkdir()
    write(tmp_path / "configs dir" / "bad.yaml", bad)
    return "clean.yaml", "configs dir/bad.yaml"


def run_validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["validate", *args])
    return code, capsys.readouterr().out


def test_validate_text_ends_with_the_verdict(
    two_files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_validate(capsys, *two_files)
    assert code == 1
    assert re.search(r"^configs dir/bad\.yaml:\d+:\d+: error BF\d{3}: ", out, re.M)
    assert out.splitlines()[-1].startswith("FAILED: 2 file(s) checked, 1 error")


def test_validate_json_matches_its_schema(
    two_files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_validate(capsys, "--format", "json", *two_files)
    data = valid_json("validate", out)
    assert code == 1 and data["version"] == 1
    error = next(d for d in data["diagnostics"] if d["level"] == "error")
    assert error["file"] == "configs dir/bad.yaml"
    assert error["path"] == ["compute_environments", "ec2", "max_vcpus"]


def test_validate_junit_has_a_suite_per_file_and_a_failure_per_error(
    two_files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_validate(capsys, "--format", "junit", *two_files)
    assert code == 1
    assert out.startswith(escape.XML_HEADER)
    root = ElementTree.fromstring(out)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == set(two_files)
    clean = suites["clean.yaml"]
    assert [c.get("name") for c in clean.findall("testcase")] == ["valid"]
    assert clean.get("failures") == "0"
    bad = suites["configs dir/bad.yaml"]
    failures = bad.findall("testcase/failure")
    assert bad.get("failures") == str(len(failures)) == "1"
    assert "max_vcpus" in (failures[0].text or "") or "vCPU" in (failures[0].text or "")


def test_validate_junit_strict_fails_warnings_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tiny()
    data["scheduling_policies"] = {"unused": {}}  # a warning: no queue uses it
    write(tmp_path / "warn.yaml", data)
    code, out = run_validate(capsys, "--format", "junit", "warn.yaml")
    lenient = ElementTree.fromstring(out).find("testsuite")
    assert code == 0 and lenient is not None and lenient.get("failures") == "0"
    assert lenient.find("testcase/system-out") is not None
    code, out = run_validate(capsys, "--strict", "--format", "junit", "warn.yaml")
    strict = ElementTree.fromstring(out).find("testsuite")
    assert code == 1 and strict is not None and strict.get("failures") != "0"


def test_validate_junit_gives_a_diagnostic_in_another_file_that_files_suite() -> None:
    """With overlays a finding can be located in a base file the command line did not name."""
    diag = Diagnostic("BF103", Level.ERROR, "bad", file="base.yaml", line=3, col=5)
    root = ElementTree.fromstring(
        diag_report.format_junit(diag_report.CheckRun(["dev.yaml"], [diag], failed=True))
    )
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["dev.yaml", "base.yaml"]
    assert suites["base.yaml"].get("failures") == "1"


def test_validate_markdown_links_each_code_to_its_page(
    two_files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_validate(capsys, "--format", "markdown", *two_files)
    assert code == 1
    assert ":x: **FAILED: 2 file\\(s\\) checked" in out or ":x: **FAILED" in out
    rows = [line for line in out.splitlines() if line.startswith("| `configs dir")]
    assert rows
    assert re.search(
        r"\[BF\d{3}\]\(https://github\.com/batchform/batchform/blob/main/docs/rules/BF\d{3}\.md\)",
        rows[0],
    )


def test_validate_sarif_is_valid_and_points_at_the_line(
    two_files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_validate(capsys, "--format", "sarif", *two_files)
    assert code == 1
    log = valid_sarif(out)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "batchform" and driver["informationUri"]
    rules = {r["id"]: r for r in driver["rules"]}
    error = next(r for r in run["results"] if r["level"] == "error")
    rule = rules[error["ruleId"]]
    assert driver["rules"][error["ruleIndex"]]["id"] == error["ruleId"]
    assert rule["helpUri"] == (
        f"https://github.com/batchform/batchform/blob/main/docs/rules/{error['ruleId']}.md"
    )
    assert rule["defaultConfiguration"]["level"] == "error" and rule["shortDescription"]["text"]
    physical = error["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "configs%20dir/bad.yaml"
    text = Path("configs dir/bad.yaml").read_text().splitlines()
    line = physical["region"]["startLine"]
    assert "max_vcpus" in text[line - 1]
    assert physical["region"]["startColumn"] == text[line - 1].index("0") + 1


def test_validate_sarif_of_a_clean_run_has_no_results(
    two_files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_validate(capsys, "--format", "sarif", two_files[0])
    log = valid_sarif(out)
    assert code == 0
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_uri_of_an_absolute_path_inside_and_outside_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batchform.report.sarif import artifact_uri

    monkeypatch.chdir(tmp_path)
    assert artifact_uri(str(tmp_path / "a b" / "x.yaml")) == "a%20b/x.yaml"
    assert artifact_uri("./configs/../x.yaml") == "x.yaml"
    assert artifact_uri("/elsewhere/x.yaml") == "file:///elsewhere/x.yaml"


def test_every_validate_format_reports_a_loader_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not YAML has no rule function behind its code: still a valid log with a
    rule summary of its own."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text("version: [1\n")
    for fmt in diag_report.FORMATS:
        code, out = run_validate(capsys, "--format", fmt, "broken.yaml")
        assert code == 1, fmt
        assert "BF001" in out, fmt
    log = valid_sarif(run_validate(capsys, "--format", "sarif", "broken.yaml")[1])
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    bf001 = codes.lookup("BF001")
    assert bf001 is not None and rule["shortDescription"]["text"] == bf001.summary


def test_validate_sarif_of_a_file_without_lines_still_has_a_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub code scanning rejects results without region.startLine: a file that cannot be
    read at all is reported on its first line."""
    monkeypatch.chdir(tmp_path)
    code, out = run_validate(capsys, "--format", "sarif", "missing.yaml")
    result = valid_sarif(out)["runs"][0]["results"][0]
    assert code == 1 and result["ruleId"] == "BF004"
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "missing.yaml"
    assert physical["region"] == {"startLine": 1, "startColumn": 1}


# --- verify -----------------------------------------------------------------------------------


def sample_report(incomplete: bool = False) -> Report:
    in_sync = ResourceCheck("job_queues", "low", "env-low", checked=["priority", "state"])
    drift = ResourceCheck("job_queues", "high", "env-high", checked=["priority"])
    drift.differ("priority", 100, 5)
    sick = ResourceCheck("compute_environments", "spot", "env-spot-x", checked=["status"])
    sick.differ("status", "VALID", "INVALID", Kind.UNHEALTHY, "CLIENT_ERROR - bad role")
    report = Report("env", REGION, [in_sync, drift, sick])
    if incomplete:
        report.incomplete.append("logs:DescribeLogGroups failed: AccessDeniedException: denied")
    return report


def test_verify_text_lists_only_what_differs_unless_verbose() -> None:
    report = sample_report()
    text = format_text(report)
    assert "job_queues.high (env-high): drift" in text
    assert "priority" in text and "100" in text and "5" in text
    assert "CLIENT_ERROR - bad role" in text
    assert "job_queues.low" not in text
    assert "job_queues.low (env-low): in-sync" in format_text(report, verbose=True)
    assert text.splitlines()[-1] == (
        "drift found: 3 resource(s) checked (1 in-sync, 1 drift, 1 unhealthy)"
    )


def test_verify_exit_codes_follow_terraform_detailed_exitcode() -> None:
    assert Report("env", REGION, [ResourceCheck("job_queues", "low")]).exit_code == 0
    assert sample_report().exit_code == 2
    assert sample_report(incomplete=True).exit_code == 1  # incomplete wins over drift
    partial = Report("env", REGION, [ResourceCheck("log_groups", "a", unchecked=["denied"])])
    assert partial.exit_code == 1  # never 0 when something was not checked


def test_verify_json_is_versioned_complete_and_matches_its_schema() -> None:
    data = valid_json("verify", format_json(sample_report(incomplete=True)))
    assert data["version"] == 1
    assert data["exit_code"] == 1 and data["result"] == "INCOMPLETE"
    high = next(r for r in data["resources"] if r["key"] == "high")
    assert high["differences"] == [
        {"attribute": "priority", "kind": "changed", "expected": 100, "actual": 5}
    ]
    assert data["incomplete"] == ["logs:DescribeLogGroups failed: AccessDeniedException: denied"]
    spot = next(r for r in data["resources"] if r["key"] == "spot")
    assert spot["differences"][0]["reason"] == "CLIENT_ERROR - bad role"


def test_verify_junit_has_one_testcase_per_resource() -> None:
    text = format_junit(sample_report(incomplete=True))
    assert text.startswith(escape.XML_HEADER)
    suite = ElementTree.fromstring(text)
    assert suite.tag == "testsuite"  # the root, as verify has always written it
    cases = suite.findall("testcase")
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert ("env.job_queues", "high") in names and ("env.job_queues", "low") in names
    assert len(cases) == 4  # three resources + the completeness case
    by_name = {c.get("name"): c for c in cases}
    assert by_name["low"].find("failure") is None
    failure = by_name["high"].find("failure")
    assert failure is not None and "expected 100, actual 5" in (failure.text or "")
    assert by_name["completeness"].find("error") is not None
    assert suite.get("failures") == "2" and suite.get("errors") == "1"


def test_verify_markdown_has_a_row_per_difference() -> None:
    text = format_markdown(sample_report())
    assert "| `job_queues.high` | `priority` | 100 | 5 | changed |" in text
    assert "job_queues.low" not in text
    assert text.endswith("|\n")  # no blank line at the end of a comment


def test_verify_difference_values_render_without_python_reprs() -> None:
    check = ResourceCheck("job_queues", "q")
    check.differ("computeEnvironmentOrder", ["spot", "ondemand"], ["ondemand", "spot"])
    text = format_text(Report("env", REGION, [check]))
    assert '["spot", "ondemand"]' in text and "['spot'" not in text


def tiny_source() -> Source:
    analysis = analyze_text(TINY.read_text(), "configs/tiny.yaml")
    assert analysis.document is not None
    doc = analysis.document
    return Source("configs/tiny.yaml", doc.positions, doc.key_positions)


def test_verify_sarif_locates_drift_at_the_resource_key() -> None:
    queue = ResourceCheck("job_queues", "main", "tiny-main", checked=["priority"])
    queue.differ("priority", 1, 5)
    role = ResourceCheck("iam_roles", "batch-service", "tiny-batch-service")
    role.differ("", "tiny-batch-service", None, Kind.MISSING)
    extra = ResourceCheck("job_queues", "legacy", "tiny-legacy")
    extra.differ("", None, "tiny-legacy", Kind.UNMANAGED)
    log = valid_sarif(
        format_sarif(Report("tiny", "us-east-1", [queue, role, extra]), tiny_source())
    )
    run = log["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is True
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert set(by_rule) == {"verify/changed", "verify/missing", "verify/unmanaged"}
    assert by_rule["verify/unmanaged"]["level"] == "warning"
    changed = by_rule["verify/changed"]
    physical = changed["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "configs/tiny.yaml"
    lines = TINY.read_text().splitlines()
    assert lines[physical["region"]["startLine"] - 1].strip() == "main:"
    logical = changed["locations"][0]["logicalLocations"]
    assert [lg["fullyQualifiedName"] for lg in logical] == ["tiny.job_queues.main", "tiny-main"]
    assert "expected 1, actual 5" in changed["message"]["text"]
    # a generated role has no key in the file: where the document starts
    missing = by_rule["verify/missing"]["locations"][0]["physicalLocation"]
    assert lines[missing["region"]["startLine"] - 1].startswith("version:")
    # an unmanaged extra: the section it would belong to
    unmanaged = by_rule["verify/unmanaged"]["locations"][0]["physicalLocation"]
    assert lines[unmanaged["region"]["startLine"] - 1] == "job_queues:"


def test_verify_sarif_of_an_incomplete_check_is_a_failed_invocation() -> None:
    log = valid_sarif(format_sarif(sample_report(incomplete=True), tiny_source()))
    run = log["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "AccessDenied" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert any(r["ruleId"] == "verify/not-checked" for r in run["results"])
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    assert all(r["helpUri"].endswith("docs/output-formats.md#verify-results") for r in rules)


# --- diff -------------------------------------------------------------------------------------


def test_diff_json_matches_its_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path / "old.yaml", tiny())
    data = copy.deepcopy(tiny())
    data["compute_environments"]["ec2"]["max_vcpus"] = 64
    data["job_queues"]["main"]["priority"] = 5
    new = write(tmp_path / "new.yaml", data)
    assert main(["diff", "--format", "json", str(old), str(new)]) == 0
    out = valid_json("diff", capsys.readouterr().out)
    assert out["summary"] == {"create": 0, "update": 2, "replace": 0, "delete": 0}
    ce = next(c for c in out["changes"] if c["address"] == "aws_batch_compute_environment.ec2")
    assert {
        "path": "compute_resources.attrs.max_vcpus",
        "old": "16",
        "new": "64",
        "forces_replacement": False,
    } in ce["attributes"]
    assert {"risk": "capacity", "text": "max_vcpus 16 -> 64: more capacity"} in ce["notes"]


def test_diff_json_of_a_new_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = write(tmp_path / "new.yaml", tiny())
    assert main(["diff", "--format", "json", str(new), str(new)]) == 0
    out = valid_json("diff", capsys.readouterr().out)
    assert out["changes"] == [] and out["old_environment"] == "tiny"


def hostile_diff() -> EnvironmentDiff:
    change = ResourceChange(
        "job definition",
        HOSTILE,
        "aws_batch_job_definition.x",
        "replace",
        [AttributeChange("container_properties.image", f'"{HOSTILE}"', '"busybox"', True)],
        [Note(Risk.JOBS, f"about {HOSTILE}")],
    )
    return EnvironmentDiff("env", "env", [change], [Note(Risk.NOTE, HOSTILE)])


def test_diff_formats_keep_hostile_names_inert() -> None:
    d = hostile_diff()
    text = diff_report.format_text(d, "old.yaml", "new.yaml")
    assert "\x1b" not in text and "\x00" not in text and "\u202e" not in text
    md = diff_report.format_markdown(d, "old.yaml", "new.yaml")
    assert "\x1b" not in md
    row = next(line for line in md.splitlines() if line.startswith("| :warning: **REPLACE**"))
    assert len(re.split(r"(?<!\\)\|", row)) == 6  # four cells
    data = json.loads(diff_report.format_json(d, "old.yaml", "new.yaml"))
    assert data["changes"][0]["name"] == HOSTILE
    assert data["changes"][0]["notes"] == [{"risk": "jobs", "text": f"about {HOSTILE}"}]


# --- sandbox ----------------------------------------------------------------------------------


def hostile_sandbox() -> SandboxReport:
    report = SandboxReport(config="c.yaml", environment="demo", region=REGION)
    report.steps = [
        Step("compile", StepStatus.PASSED, 0.1, f"ok {HOSTILE}"),
        Step("apply", StepStatus.FAILED, 2.0, "terraform apply exited 1", [f"Error: {HOSTILE}"]),
        Step("re-plan", StepStatus.SKIPPED, 0.0, "not run: apply failed"),
    ]
    report.not_checked = [HOSTILE]
    report.notes = ["a note"]
    return report


def test_sandbox_junit_counts_and_carries_hostile_text_intact() -> None:
    text = sandbox_junit(hostile_sandbox())
    root = ElementTree.fromstring(text)  # parses: no character XML 1.0 forbids
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.text == f"Error: {escape.xml(HOSTILE)}"
    assert "]]>" in (failure.text or "") and "\x1b" not in text and "\x00" not in text
    assert suite.find("system-out") is not None


def test_sandbox_text_keeps_escape_sequences_off_the_terminal() -> None:
    text = sandbox_text(hostile_sandbox())
    assert "\x1b" not in text and "\x00" not in text and "\u202e" not in text
    assert "\\x1b[31mred" in text
    assert text.endswith("FAILED: demo does not deploy on the emulated AWS (apply failed)\n")


# --- escaping, per target format ----------------------------------------------------------------


def unescape_markdown(text: str) -> str:
    """What a CommonMark renderer shows for text made only of characters and backslash
    escapes of punctuation."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def test_terminal_text_is_one_line_without_controls() -> None:
    shown = escape.terminal(HOSTILE)
    assert "\n" not in shown and "\x1b" not in shown and "\x00" not in shown
    assert "\u202e" not in shown
    assert shown.startswith("a<b&c]]>d\\x1b[31mred\\x00|pipe")
    assert escape.terminal("plain ü text") == "plain ü text"


def test_markdown_text_renders_exactly_the_characters() -> None:
    shown = escape.markdown(HOSTILE)
    assert "\n" not in shown and "\x1b" not in shown
    assert unescape_markdown(shown) == escape.terminal(HOSTILE)
    # nothing that starts markup is left unescaped
    assert not re.search(r"(?<!\\)[<>&`*_\[\]|]", shown.replace("\\\\", ""))


@pytest.mark.parametrize(
    "start", ["# heading", "> quote", "- item", "+ item", "1. item", "12) item", "=== "]
)
def test_markdown_text_never_opens_a_block(start: str) -> None:
    shown = escape.markdown(start)
    assert unescape_markdown(shown) == start
    assert shown != start


def test_markdown_table_rows_keep_their_cells() -> None:
    cells = [markdown.text(HOSTILE), markdown.code(HOSTILE), markdown.code("plain name.x")]
    row = markdown.row(cells, raw=True)
    assert len(re.split(r"(?<!\\)\|", row)) == len(cells) + 2
    assert markdown.code("plain name.x") == "`plain name.x`"
    assert markdown.code('<img src=x> *"a"* #1') == '`<img src=x> *"a"* #1`'  # inert in a span
    assert markdown.code("a|b").startswith("<code>") and markdown.code(" x").startswith("<code>")
    code = markdown.code(HOSTILE)
    assert code.startswith("<code>") and code.endswith("</code>")
    assert unescape_markdown(code.removeprefix("<code>").removesuffix("</code>")) == (
        escape.terminal(HOSTILE)
    )


def test_xml_text_keeps_lines_and_drops_forbidden_characters() -> None:
    shown = escape.xml(f"one\n{HOSTILE}")
    assert shown.startswith("one\na<b&c]]>d\\x1b")
    assert "\x00" not in shown and "\x1b" not in shown and "\ufffe" not in escape.xml("\ufffe")
    case = junit.Case("c", HOSTILE, junit.Outcome.FAILURE, HOSTILE, HOSTILE)
    text = junit.render(junit.Document([junit.Suite("s", [case])]))
    parsed = ElementTree.fromstring(text)
    failure = parsed.find("testcase/failure")
    assert failure is not None and failure.text == escape.xml(HOSTILE)
    assert failure.get("message") == escape.xml(HOSTILE)
    assert parsed.find("testcase") is not None


def test_json_and_sarif_carry_hostile_text_exactly() -> None:
    diag = Diagnostic("BF201", Level.ERROR, HOSTILE, file="x.yaml", line=1, col=1, hint=HOSTILE)
    run = diag_report.CheckRun(["x.yaml"], [diag], failed=True)
    assert json.loads(diag_report.format_json([diag]))["diagnostics"][0]["message"] == HOSTILE
    log = valid_sarif(diag_report.format_sarif(run))
    assert log["runs"][0]["results"][0]["message"]["text"].startswith(HOSTILE)
    md = diag_report.format_markdown(run)
    assert "\x1b" not in md and "\n" not in md.split("| error |")[1].rstrip("\n")
    junit_text = diag_report.format_junit(run)
    assert ElementTree.fromstring(junit_text).find("testsuite/testcase/failure") is not None
    text = diag_report.format_text([diag])
    assert text.count("\n") == 2 and "\x1b" not in text  # the finding and its hint line
