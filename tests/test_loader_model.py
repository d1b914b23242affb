"""Load and model stages as a user meets them: messages that point at the right place, units
that parse the way the format promises, and a CLI that answers with exit codes and never with a
traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchform import checks, loader
from batchform.build import analyze_text
from batchform.checks import Finding, Rule
from batchform.diagnostics import BatchformError, Diagnostic, Level
from batchform.model import Environment, parse_environment
from batchform.report.diagnostics import format_diagnostic
from batchform.units import parse_disk_gib, parse_duration, parse_memory_mib
from tests.harness.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
GENOMICS = ROOT / "configs" / "genomics.yaml"

MINIMAL = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create:
      cidr: 10.0.0.0/16
      availability_zones: [us-west-2a, us-west-2b]
  security_groups:
    batch:
      description: Batch instances
compute_environments:
  ec2:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [m6i]
job_queues:
  main:
    priority: 1
    compute_environments: [ec2]
job_definitions:
  hello:
    image: public.ecr.aws/docker/library/busybox:1.36
    command: [echo, hello]
    vcpus: 1
    memory: 512 MiB
"""


def only(diags: list[Diagnostic], code: str) -> Diagnostic:
    found = [d for d in diags if d.code == code]
    assert len(found) == 1, f"expected one {code}, got {[(d.code, d.message) for d in diags]}"
    return found[0]


def test_minimal_file_is_clean() -> None:
    analysis = analyze_text(MINIMAL, "demo.yaml")
    assert analysis.env is not None
    assert analysis.diagnostics == []


# --- load ------------------------------------------------------------------------------------


def test_yaml_syntax_error_shows_the_line_and_a_caret() -> None:
    text = MINIMAL.replace("[us-west-2a, us-west-2b]", "[us-west-2a, us-west-2b")
    analysis = analyze_text(text, "demo.yaml")
    d = only(analysis.diagnostics, "BF001")
    assert d.level == Level.ERROR and d.file == "demo.yaml"
    assert d.line is not None and d.col is not None
    assert "YAML syntax error" in d.message
    assert d.excerpt is not None
    lines = d.excerpt.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.rstrip().endswith("^"))
    # the caret sits under column `col` of the numbered line just above it
    numbered = lines[caret - 1]
    assert numbered.strip().startswith(f"{d.line} |")
    bar = numbered.index("| ") + 2
    assert lines[caret].index("^") - bar == d.col - 1


def test_duplicate_key_names_both_places() -> None:
    text = MINIMAL + "    vcpus: 2\n"
    d = only(analyze_text(text, "demo.yaml").diagnostics, "BF002")
    first_line = MINIMAL.splitlines().index("    vcpus: 1") + 1
    assert (d.line, d.col) == (len(MINIMAL.splitlines()) + 1, 5)
    assert "'vcpus'" in d.message
    assert f"first at line {first_line}, column 5" in d.message


def test_top_level_must_be_a_mapping() -> None:
    d = only(analyze_text("- a\n- b\n", "x.yaml").diagnostics, "BF003")
    assert (d.line, d.col) == (1, 1)
    assert "mapping" in d.message


def test_empty_file_and_two_documents_are_rejected() -> None:
    assert "empty" in only(analyze_text("", "x.yaml").diagnostics, "BF003").message
    assert only(analyze_text("a: 1\n---\nb: 2\n", "x.yaml").diagnostics, "BF003").line == 3


def test_alias_bomb_is_a_diagnostic_not_a_hang() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    d = only(analyze_text("\n".join(lines) + "\n", "bomb.yaml").diagnostics, "BF001")
    assert "too large" in d.message


def test_unreadable_file(tmp_path: Path) -> None:
    from batchform.build import analyze

    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    d = only(analyze(bad).diagnostics, "BF004")
    assert d.file == str(bad)
    assert only(analyze(tmp_path / "missing.yaml").diagnostics, "BF004").file


# --- model -----------------------------------------------------------------------------------


def test_unknown_key_suggests_the_closest_name() -> None:
    text = MINIMAL.replace("    max_vcpus: 16", "    max_vcpus: 16\n    instance_type: [c6i]")
    d = only(analyze_text(text, "demo.yaml").diagnostics, "BF101")
    assert "instance_type" in d.message
    assert d.hint == "did you mean 'instance_types'?"
    assert d.path == ("compute_environments", "ec2", "instance_type")
    assert d.line == MINIMAL.splitlines().index("    max_vcpus: 16") + 2


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    text = MINIMAL.replace("region: us-west-2", "region: us-west-2\nzzz: 1")
    d = only(analyze_text(text, "demo.yaml").diagnostics, "BF101")
    assert d.hint is not None and "valid keys here" in d.hint and "job_queues" in d.hint


def test_missing_required_key_is_reported_where_it_belongs() -> None:
    text = MINIMAL.replace("    max_vcpus: 16\n", "")
    d = only(analyze_text(text, "demo.yaml").diagnostics, "BF102")
    assert "max_vcpus" in d.message
    assert d.path == ("compute_environments", "ec2")


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("    vcpus: 1", "    vcpus: [1]", ("job_definitions", "hello", "vcpus")),
        ("    priority: 1", "    priority: high", ("job_queues", "main", "priority")),
        ("    type: EC2", "    type: ec2", ("compute_environments", "ec2", "type")),
        (
            "      cidr: 10.0.0.0/16",
            "      cidr: 10.0.0.0/33",
            ("network", "vpc", "create", "cidr"),
        ),
        (
            "    command: [echo, hello]",
            "    command: echo",
            ("job_definitions", "hello", "command"),
        ),
        ("name: demo", "name: Demo_Env", ("name",)),
    ],
)
def test_wrong_types_are_located_errors(old: str, new: str, path: tuple[str, ...]) -> None:
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    analysis = analyze_text(text, "demo.yaml")
    assert analysis.env is None
    d = only(analysis.diagnostics, "BF103")
    assert d.path == path
    assert d.line == MINIMAL.splitlines().index(old) + 1


def test_enum_error_lists_allowed_values() -> None:
    text = MINIMAL.replace("    type: EC2", "    type: EC3")
    d = only(analyze_text(text, "demo.yaml").diagnostics, "BF103")
    assert d.hint is not None and "FARGATE" in d.hint


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90), ("90s", 90), ("15m", 900), ("4h", 14400), ("2d", 172800), (" 3 h ", 10800)],
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "1.5h", "-5", True, -1, 2.5, "h"])
def test_bad_durations_say_what_is_accepted(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "mib"),
    [(512, 512), ("512 MiB", 512), ("32 GiB", 32768), ("1 TiB", 1048576), ("1.5 GiB", 1536)],
)
def test_memory_sizes(text: object, mib: int) -> None:
    assert parse_memory_mib(text) == mib


@pytest.mark.parametrize(
    ("text", "gib"), [(50, 50), ("50 GiB", 50), ("1 TiB", 1024), ("2048 MiB", 2)]
)
def test_disk_sizes(text: object, gib: int) -> None:
    assert parse_disk_gib(text) == gib


@pytest.mark.parametrize("bad", ["32 GB", "lots", False, "0.3 KiB"])
def test_bad_memory_sizes(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_memory_mib(bad)


def test_units_reach_the_model() -> None:
    text = MINIMAL.replace("    memory: 512 MiB", "    memory: 2 GiB\n    timeout: 15m")
    analysis = analyze_text(text, "demo.yaml")
    assert analysis.env is not None
    job = analysis.env.job("hello")
    assert (job.memory, job.timeout) == (2048, 900)


def test_bad_size_in_file_is_located() -> None:
    text = MINIMAL.replace("    memory: 512 MiB", "    memory: 512 MB")
    d = only(analyze_text(text, "demo.yaml").diagnostics, "BF103")
    assert d.path == ("job_definitions", "hello", "memory")
    assert "GiB, not GB" in d.message


def test_parse_environment_never_raises_on_garbage() -> None:
    for raw in (None, [], "text", {"version": {"a": [1, 2]}}, {1: 2}):
        env, diags = parse_environment(raw)
        assert env is None and diags


# --- checks ----------------------------------------------------------------------------------


@pytest.fixture
def crashing_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def broken(env: object) -> Iterator[Finding]:
        raise KeyError("boom")

    rules = {**checks._RULES, "BF999": Rule("BF999", Level.WARNING, "broken", broken)}
    monkeypatch.setattr(checks, "_RULES", rules)
    yield


@pytest.mark.usefixtures("crashing_rule")
def test_a_crashing_rule_is_a_diagnostic_and_the_others_still_run() -> None:
    text = MINIMAL.replace("    memory: 512 MiB", "    memory: 512 MiB\n    privileged: true")
    diags = analyze_text(text, "demo.yaml").diagnostics
    crash = only(diags, "BF000")
    assert "BF999" in crash.message and "KeyError" in crash.message
    assert only(diags, "BF462")


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def with_warning(tmp_path: Path) -> Path:
    path = tmp_path / "warn.yaml"
    path.write_text(
        MINIMAL.replace("    memory: 512 MiB", "    memory: 512 MiB\n    privileged: true")
    )
    return path


@pytest.fixture
def with_error(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL.replace("[ec2]", "[ec3]"))
    return path


def test_validate_clean_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(MINIMAL)
    result = run_cli("validate", path)
    assert result.returncode == 0
    assert "OK: 1 file(s) checked, 0 errors, 0 warnings, 0 infos" in result.stdout


def test_validate_errors_exit_1_with_location(with_error: Path) -> None:
    result = run_cli("validate", with_error)
    assert result.returncode == 1
    line = with_error.read_text().splitlines().index("    compute_environments: [ec3]") + 1
    assert f"{with_error}:{line}:28: error BF204: 'ec3' is not defined" in result.stdout
    assert "did you mean 'ec2'?" in result.stdout
    assert "FAILED" in result.stdout


def test_warnings_pass_unless_strict(with_warning: Path) -> None:
    assert run_cli("validate", with_warning).returncode == 0
    strict = run_cli("validate", "--strict", with_warning)
    assert strict.returncode == 1
    assert "warning BF462" in strict.stdout


def test_ignore_silences_a_warning_but_never_an_error(with_warning: Path, with_error: Path) -> None:
    silenced = run_cli("validate", "--strict", "--ignore", "BF462", with_warning)
    assert silenced.returncode == 0
    assert "BF462" not in silenced.stdout
    both = run_cli("validate", "--ignore", "BF462,BF204", with_error)
    assert both.returncode == 1 and "BF204" in both.stdout


def test_ignore_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ignored.yaml"
    text = MINIMAL.replace("region: us-west-2", "region: us-west-2\nignore: [BF462, BF4620]")
    path.write_text(
        text.replace("    memory: 512 MiB", "    memory: 512 MiB\n    privileged: true")
    )
    result = run_cli("validate", "--format", "json", path)
    codes = [d["code"] for d in json.loads(result.stdout)["diagnostics"]]
    assert codes == ["BF499"]  # the typo'd code is reported, the real one silenced


def test_json_format_parses(with_error: Path, with_warning: Path) -> None:
    result = run_cli("validate", "--format", "json", with_error, with_warning)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["version"] == 1
    by_code = {d["code"]: d for d in data["diagnostics"]}
    assert {"BF204", "BF462"} <= set(by_code)
    err = by_code["BF204"]
    line = with_error.read_text().splitlines().index("    compute_environments: [ec3]") + 1
    assert (err["level"], err["file"], err["line"], err["col"]) == (
        "error",
        str(with_error),
        line,
        28,
    )
    assert err["path"] == ["job_queues", "main", "compute_environments", 0]
    assert err["hint"] == "did you mean 'ec2'?"


def test_rules_lists_every_code_in_json() -> None:
    result = run_cli("rules", "--format", "json")
    rules = json.loads(result.stdout)
    codes = [r["code"] for r in rules]
    assert codes == sorted(codes) and len(codes) == len(set(codes))
    assert {"BF201", "BF460", "BF480", "BF499"} <= set(codes)
    assert all(r["level"] in ("error", "warning", "info") and r["summary"] for r in rules)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    "breakage",
    [
        ("compute_environments: [spot, ondemand]", "compute_environments: [spot, on-demand]"),
        ("    vcpus: 8\n", "    vcpus: eight\n"),
        ("  high:\n", "  high\n"),
    ],
    ids=["dangling-reference", "wrong-type", "yaml-syntax"],
)
def test_compile_bad_input_exits_1_and_leaves_output_untouched(
    tmp_path: Path, breakage: tuple[str, str]
) -> None:
    out = tmp_path / "generated"
    first = run_cli("compile", GENOMICS, "-o", out)
    assert first.returncode == 0, first.stderr
    (out / "genomics-prod" / "terraform.tfvars").write_text("mine = 1\n")
    before = _snapshot(out)

    text = GENOMICS.read_text(encoding="utf-8")
    assert breakage[0] in text
    broken = tmp_path / "genomics.yaml"
    broken.write_text(text.replace(breakage[0], breakage[1], 1), encoding="utf-8")
    result = run_cli("compile", broken, "-o", out)
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert f"{broken}:" in result.stderr
    assert _snapshot(out) == before


def test_compile_missing_file_exits_1(tmp_path: Path) -> None:
    result = run_cli("compile", tmp_path / "nope.yaml", "-o", tmp_path / "out")
    assert result.returncode == 1
    assert "BF004" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_render_failure_is_bf009_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import jinja2

    from batchform import cli, render

    def missing_template(name: str) -> jinja2.Template:
        raise jinja2.TemplateNotFound(name)

    real = render.make_environment

    def broken_environment() -> jinja2.Environment:
        env = real()
        monkeypatch.setattr(env, "get_template", missing_template)
        return env

    monkeypatch.setattr(render, "make_environment", broken_environment)
    config = tmp_path / "ok.yaml"
    config.write_text(MINIMAL)
    code = cli.main(["compile", str(config), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "error BF009: internal error rendering" in err and "TemplateNotFound" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("!!python/object:os.system x", id="unsafe-tag"),
        pytest.param("!!int 'x'", id="bad-explicit-int"),
        pytest.param("\x00", id="nul-character"),
        pytest.param("[a, b", id="unclosed-flow"),
    ],
)
def test_unreadable_values_are_located(value: str) -> None:
    text = f"version: 1\nname: demo\ntags:\n  stamp: {value}\n"
    diags = analyze_text(text, "demo.yaml").diagnostics
    d = only(diags, "BF001")
    assert d.line is not None and d.line >= 4, format_diagnostic(d)


def test_keys_may_override_a_merge() -> None:
    text = MINIMAL.replace(
        "  ec2:\n    type: EC2\n",
        "  ec2:\n    <<: &common {type: SPOT, max_vcpus: 4}\n    type: EC2\n",
    ).replace("    max_vcpus: 16\n", "")
    analysis = analyze_text(text, "demo.yaml")
    assert [d.code for d in analysis.diagnostics] == []
    assert analysis.env is not None
    assert analysis.env.compute_environments["ec2"].type == "EC2"


_EQUIVALENCE_CASES = [
    *sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml")),
    *sorted((Path(__file__).resolve().parent / "errors").glob("bf0*.yaml")),
]


@pytest.mark.skipif(loader._FAST_LOADER is None, reason="PyYAML was built without libyaml")
@pytest.mark.parametrize("path", _EQUIVALENCE_CASES, ids=lambda p: p.name)
def test_libyaml_with_memoised_tags_reads_files_as_the_pure_parser_does(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path (libyaml, tag resolution memoised per scalar) is an optimisation only: the
    same data, positions and errors as PyYAML's pure-Python reference parser."""
    text = path.read_bytes().decode("utf-8", errors="replace")

    def read() -> tuple[object, ...]:
        try:
            doc = loader.load_text(text, path.name)
        except BatchformError as exc:
            return ("error", [format_diagnostic(d) for d in exc.diagnostics])
        return (doc.data, doc.positions, doc.key_positions)

    fast = read()
    monkeypatch.setattr(loader, "_FAST_LOADER", None)
    assert read() == fast


def test_the_frozen_environment_carries_no_state_that_fills_up() -> None:
    """The merge of ``job_defaults`` is derived when the model is validated: asking for jobs
    adds nothing to the model (a frozen model whose ``__dict__`` grows is not frozen), and a
    ``model_copy`` that replaces job definitions or defaults merges its own."""
    analysis = analyze_text(GENOMICS.read_text(encoding="utf-8"), "genomics.yaml")
    env = analysis.env
    assert env is not None
    before = dict(env.__dict__)
    merged = {key: env.job(key) for key in env.job_definitions}
    assert env.__dict__ == before and set(before) == set(type(env).model_fields)
    key = next(iter(env.job_definitions))
    own = env.job_definitions[key].model_copy(update={"image": "example.org/other:1"})
    copy = env.model_copy(update={"job_definitions": {**env.job_definitions, key: own}})
    assert copy.job(key).image == "example.org/other:1"
    assert env.job(key) == merged[key] != copy.job(key)
    defaults = env.job_defaults.model_copy(update={"log_retention_days": 7})
    retained = env.model_copy(update={"job_defaults": defaults})
    assert {retained.job(k).log_retention_days for k in env.job_definitions} <= {7} | {
        env.job_definitions[k].log_retention_days for k in env.job_definitions
    }
    assert any(retained.job(k).log_retention_days == 7 for k in env.job_definitions)


def test_a_value_derived_from_the_environment_is_computed_once_per_environment() -> None:
    """``Environment.derived`` (the checks' list of containers, for one): computed once for an
    environment, and again for a copy, which may have other job definitions."""
    env = analyze_text(GENOMICS.read_text(encoding="utf-8"), "genomics.yaml").env
    assert env is not None
    calls: list[int] = []

    def count(e: Environment) -> int:
        calls.append(1)
        return len(e.job_definitions)

    assert env.derived("test.count", count) == env.derived("test.count", count)
    assert len(calls) == 1
    copy = env.model_copy(update={"job_definitions": {}})
    assert copy.derived("test.count", count) == 0 != env.derived("test.count", count)
    assert len(calls) == 2
