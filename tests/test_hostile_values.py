"""Hostile input (issue 10): values keep their meaning, every validating regex anchors the whole
string, no input ends in a traceback, and whatever batchform prints or writes stays inert text.

The rule being tested is in docs/environment.md ("How values are read"): an unquoted number in
a field that holds text is used exactly as written; a boolean or null there, a boolean where a
number belongs, a null key and a lone surrogate are located errors.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import typing
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

import batchform
from batchform import cli, derive, loader, model
from batchform.build import analyze_text, render_environment
from batchform.diagnostics import Diagnostic, Level
from batchform.hcl import hcl_string
from batchform.report.diagnostics import format_diagnostic
from batchform.verify.batch import compare_container
from batchform.verify.result import ResourceCheck
from tests.harness.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
COMPILER = ROOT / "compiler" / "batchform"

# --- every regex anchors the whole string ----------------------------------------------------

RE_CALLS = {"compile", "match", "fullmatch", "search"}


def _compiler_modules() -> list[Any]:
    names = [m.name for m in pkgutil.walk_packages(batchform.__path__, "batchform.")]
    return [importlib.import_module(n) for n in sorted(names) if not n.endswith("__main__")]


def _module_patterns() -> dict[str, re.Pattern[str]]:
    """Every compiled pattern a module of the compiler keeps (validators live there)."""
    found: dict[str, re.Pattern[str]] = {}
    for module in _compiler_modules():
        for attr, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found[f"{module.__name__}.{attr}"] = value
    return found


def _inline_patterns() -> dict[str, re.Pattern[str]]:
    """Patterns written inline: ``re.match(r"...", text)`` and friends with a literal pattern."""
    found: dict[str, re.Pattern[str]] = {}
    for path in sorted(COMPILER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in RE_CALLS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno} re.{node.func.attr}"
            pattern = node.args[0].value
            flags = _flags(node)
            if node.func.attr == "fullmatch":
                pattern = f"(?:{pattern})\\Z"  # what fullmatch asks of the text
            found[where] = re.compile(pattern, flags)
    return found


def _flags(call: ast.Call) -> int:
    """The flags argument of a ``re`` call (``re.M | re.S``), evaluated; 0 when absent."""
    position = 1 if isinstance(call.func, ast.Attribute) and call.func.attr == "compile" else 2
    flag_node = call.args[position] if len(call.args) > position else None
    for keyword in call.keywords:
        if keyword.arg == "flags":
            flag_node = keyword.value
    if flag_node is None:
        return 0
    value = eval(compile(ast.Expression(flag_node), "<flags>", "eval"), {"re": re})
    return int(value)


def _ends_anchored(pattern: re.Pattern[str]) -> bool:
    """True for a validator: a pattern that means to match up to the end of the text."""
    if pattern.flags & re.MULTILINE:
        return False  # scans lines of a longer text (terraform output), validates nothing
    text = pattern.pattern
    return text.endswith(r"\Z") or (text.endswith("$") and not text.endswith(r"\$"))


def _texts(pattern: re.Pattern[str]) -> st.SearchStrategy[str]:
    """Texts the pattern accepts whole, without a newline of their own."""
    return st.from_regex(pattern, fullmatch=True).filter(lambda s: "\n" not in s)


EXAMPLES = settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


ANCHORED = {
    name: p for name, p in {**_module_patterns(), **_inline_patterns()}.items() if _ends_anchored(p)
}


def test_the_walk_finds_the_validators() -> None:
    """The walk itself works: it sees the validators issue 10 names (instance types, ARNs,
    mount paths, tags), and the inline ones."""
    names = " ".join(ANCHORED)
    for expected in ("_INSTANCE_TYPE", "ROLE_ARN", "MOUNT_PATH", "_TAG_TEXT", "re.fullmatch"):
        assert expected in names
    assert len(ANCHORED) >= 25


@pytest.mark.parametrize("name", sorted(ANCHORED))
@EXAMPLES
@given(data=st.data())
def test_no_pattern_accepts_a_trailing_newline(name: str, data: st.DataObject) -> None:
    """``$`` matches before a final newline, so ``^...$`` with ``re.match`` lets ``owner: |``
    tags, instance types, ARNs and paths carrying a newline through; every validator must end
    in ``\\Z`` (or be used with ``re.fullmatch``), and none may let ``\\s`` swallow it."""
    pattern = ANCHORED[name]
    text = data.draw(_texts(pattern))
    assert pattern.match(text) is not None
    assert pattern.match(text + "\n") is None, f"{name} ({pattern.pattern!r}) accepts a newline"


def _model_patterns() -> dict[str, str]:
    found: dict[str, str] = {}
    models = [v for v in vars(model).values() if isinstance(v, type) and issubclass(v, BaseModel)]
    for cls in models:
        for field_name, field in cls.model_fields.items():
            for meta in [*field.metadata, *_nested_metadata(field.annotation)]:
                pattern = getattr(meta, "pattern", None)
                if isinstance(pattern, str):
                    found[f"{cls.__name__}.{field_name}"] = pattern
    return found


def _nested_metadata(annotation: Any) -> list[Any]:
    out: list[Any] = list(getattr(annotation, "__metadata__", ()))
    for arg in typing.get_args(annotation):
        out += _nested_metadata(arg)
    return out


MODEL_PATTERNS = _model_patterns()


@pytest.mark.parametrize("name", sorted(MODEL_PATTERNS))
@EXAMPLES
@given(data=st.data())
def test_model_patterns_reject_a_trailing_newline(name: str, data: st.DataObject) -> None:
    """pydantic checks ``pattern=`` with Rust's regex engine, where ``$`` is the end of the
    text; proven here on the model's own patterns rather than assumed."""
    pattern = MODEL_PATTERNS[name]
    adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)])
    text = data.draw(_texts(re.compile(pattern.replace("$", r"\Z"))))
    assert adapter.validate_python(text) == text
    with pytest.raises(ValidationError):
        adapter.validate_python(text + "\n")


# --- one case per class: what a user sees from the real CLI ----------------------------------

BASE = """\
version: 1
name: demo
region: us-west-2
tags:
  owner: platform
network:
  vpc:
    create:
      cidr: 10.0.0.0/16
      availability_zones: [us-west-2a, us-west-2b]
  security_groups:
    batch:
      description: Batch instances
iam:
  service_role: service-linked
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
    environment:
      MODE: fast
"""


def _with(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(args)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "Traceback" not in out
    return code, out


def _validate(text: str | bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``batchform validate`` on ``text``: asserts exit 1, returns the report."""
    config = tmp_path / "env.yaml"
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text, encoding="utf-8")
    code, out = _cli(["validate", str(config)], capsys)
    assert code == 1, out
    return out


def _finding(out: str, code: str) -> str:
    """The one report line of ``code``, as ``line:col: message``."""
    lines = [line for line in out.splitlines() if f" {code}: " in line]
    assert len(lines) == 1, out
    return lines[0].split("env.yaml:", 1)[1]


TEXT_AS_WRITTEN = ["3.10", "0755", "12:30", "1_000", "0x1F", "2024-01-01", "1.0e+3", ".inf"]


def test_unquoted_numbers_in_text_fields_compile_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """YAML 1.1 reads these as 3.1, 493, 750, 1000, 31, a date, 1000.0 and infinity; the file
    meant the text, in environment values, tags, commands, parameters and keys alike."""
    values = "\n".join(f"      V{i}: {v}" for i, v in enumerate(TEXT_AS_WRITTEN))
    text = (
        _with("      MODE: fast\n", f"      MODE: fast\n{values}\n")
        .replace("  owner: platform\n", "  owner: platform\n  cost-centre: 0755\n  1_000: 3.10\n")
        .replace("    command: [echo, hello]", "    command: [echo, 3.10, 12:30, Ref::0x1F]")
        .replace("    vcpus: 1\n", "    vcpus: 1\n    parameters:\n      0x1F: 0x1F\n")
        .replace("      MODE: fast\n", "      MODE: fast\n      on: 0o17\n")
    )
    config = tmp_path / "env.yaml"
    config.write_text(text, encoding="utf-8")
    code, out = _cli(["compile", str(config), "-o", str(tmp_path / "out")], capsys)
    assert code == 0, out
    tf = (tmp_path / "out" / "demo" / "job_definitions.tf").read_text("utf-8")
    for i, value in enumerate(TEXT_AS_WRITTEN):
        assert re.search(rf'name\s+= "V{i}"\s+value\s+= "{re.escape(value)}"', tf), value
    assert 'command = ["echo", "3.10", "12:30", "Ref::0x1F"]' in tf
    assert '"0x1F" = "0x1F"' in tf
    assert re.search(r'name\s+= "on"\s+value\s+= "0o17"', tf)
    providers = (tmp_path / "out" / "demo" / "providers.tf").read_text("utf-8")
    assert re.search(r'cost-centre\s+= "0755"', providers)
    assert re.search(r'"1_000"\s+= "3.10"', providers)


def test_verify_does_not_call_3_1_in_sync_with_3_10() -> None:
    """verify compares the compiled values, so the drifted `3.1` of an old compile differs."""
    analysis = analyze_text(_with("      MODE: fast\n", "      PY: 3.10\n"), "env.yaml")
    assert analysis.env is not None
    expected = derive.container_properties(analysis.env, "hello")
    assert expected["environment"] == [{"name": "PY", "value": "3.10"}]
    drifted = ResourceCheck("job_definitions", "hello")
    compare_container(
        drifted, expected, {**expected, "environment": [{"name": "PY", "value": "3.1"}]}
    )
    assert [d.attribute for d in drifted.differences] == ["containerProperties.environment"]
    same = ResourceCheck("job_definitions", "hello")
    compare_container(
        same, expected, {**expected, "environment": [{"name": "PY", "value": "3.10"}]}
    )
    assert same.differences == []


CASES = {
    # name: (file text, code, "line:col", words in the message)
    "null-value": (_with("MODE: fast", "MODE: null"), "BF103", "33:13", "found null"),
    "empty-value": (_with("MODE: fast", "MODE:"), "BF103", "33:12", "found null"),
    "boolean-text": (_with("MODE: fast", "MODE: yes"), "BF103", "33:13", "boolean true"),
    "null-key": (_with("MODE: fast", "~: fast"), "BF005", "33:7", "key is null"),
    "null-tag-key": (_with("  owner: platform", "  null: platform"), "BF005", "5:3", "null"),
    "boolean-vcpus": (_with("    vcpus: 1\n", "    vcpus: true\n"), "BF103", "30:12", "boolean"),
    "boolean-max-vcpus": (_with("max_vcpus: 16", "max_vcpus: on"), "BF103", "20:16", "boolean"),
    "boolean-priority": (_with("priority: 1", "priority: false"), "BF103", "24:15", "boolean"),
    "infinite-vcpus": (_with("    vcpus: 1\n", "    vcpus: .inf\n"), "BF103", "30:12", "finite"),
    "lone-surrogate": (_with("MODE: fast", 'MODE: "\\ud83d"'), "BF006", "33:13", "\\ud83d"),
    "reversed-pair": (_with("MODE: fast", 'MODE: "\\ude00\\ud83d"'), "BF006", "33:13", "ude00"),
    "block-scalar-tag": (
        _with("owner: platform", "owner: |\n    platform"),
        "BF230",
        "5:10",
        "'\\n'",
    ),
    "newline-instance-type": (
        _with("instance_types: [m6i]", 'instance_types: ["m6i\\n"]'),
        "BF307",
        "21:22",
        "m6i",
    ),
    "newline-role-arn": (
        _with(
            "service_role: service-linked",
            'service_role: "arn:aws:iam::123456789012:role/batch\\n"',
        ),
        "BF222",
        "15:17",
        "service_role",
    ),
    "newline-mount-path": (
        _with(
            "    instance_types: [m6i]\n",
            "    instance_types: [m6i]\n    launch_template: lt\n",
        ).replace(
            "iam:\n",
            "launch_templates:\n  lt:\n"
            '    scratch_volume: {size: 100, mount_path: "/scratch\\n"}\niam:\n',
        ),
        "BF329",
        "16:45",
        "mount path",
    ),
    "too-deep": (BASE + "x: " + "[" * 5000 + "\n", "BF001", "34:67", "levels deep"),
    "too-deep-block": (
        BASE + "x:\n" + "".join(" " * i + "-\n" for i in range(2000)),
        "BF001",
        "98:64",
        "levels deep",
    ),
    "unclosed-bracket": (
        _with("command: [echo, hello]", "command: [echo, hello"),
        "BF001",
        "30:",
        "starts at line 29, column 14",
    ),
    "unclosed-quote": (
        _with("image: public", 'image: "public'),
        "BF001",
        "",
        "starts at line 28, column 12",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_value_is_a_located_error(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, code, where, words = CASES[case]
    line = _finding(_validate(text, tmp_path, capsys), code)
    assert line.startswith(where), line
    assert words in line, line


def test_a_surrogate_pair_is_joined(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``json.dumps`` writes an emoji as two escapes; they are one character."""
    config = tmp_path / "env.yaml"
    config.write_text(_with("MODE: fast", 'MODE: "\\ud83d\\ude00"'), encoding="utf-8")
    code, out = _cli(["compile", str(config), "-o", str(tmp_path / "out")], capsys)
    assert code == 0, out
    tf = (tmp_path / "out" / "demo" / "job_definitions.tf").read_text("utf-8")
    assert '"\U0001f600"' in tf


def test_non_utf8_is_located_by_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _with("MODE: fast", "MODE: caf\u00e9 f\u00eate").encode("utf-8")
    text = text.replace("f\u00eate".encode(), b"f\xeate")  # Latin-1 among UTF-8
    line = _finding(_validate(text, tmp_path, capsys), "BF004")
    assert line.startswith("33:19: "), line  # characters, not bytes: the é before counts once
    assert "0xea" in line


def test_a_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(["validate", str(tmp_path)], capsys)
    assert code == 1 and "error BF004: cannot read file: it is a directory" in out


def test_a_device_is_refused_before_reading(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(["validate", "/dev/zero"], capsys)  # reading it would never end
    assert code == 1 and "error BF004: cannot read file: it is a device" in out


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    """The real CLI in a subprocess: a FIFO nobody writes to would block ``open`` forever."""
    fifo = tmp_path / "env.yaml"
    os.mkfifo(fifo)
    result = run_cli("validate", fifo, timeout=60)
    assert result.returncode == 1
    assert "error BF004: cannot read file: it is a FIFO" in result.stdout


def test_a_huge_file_is_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "env.yaml"
    with big.open("wb") as handle:  # sparse: the size is checked, never the bytes
        handle.truncate(loader.MAX_FILE_BYTES + 1)
    code, out = _cli(["validate", str(big)], capsys)
    assert code == 1 and "error BF004" in out and "at most 32 MiB" in out


# --- output text is inert --------------------------------------------------------------------


def test_diagnostics_keep_one_line_per_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tag key with a newline and a terminal escape is quoted, escaped, in one line."""
    out = _validate(_with("  owner: platform", '  "a\\nb\\x1b[31m": platform'), tmp_path, capsys)
    assert "\x1b" not in out
    line = _finding(out, "BF230")
    assert line.startswith("5:") and "a\\nb\\x1b[31m" in line


def test_format_text_escapes_every_control_character() -> None:
    diag = Diagnostic(
        "BF230", Level.ERROR, "bad 'x\ny\r\x1b\x85\u2028\u202e'", file="a\nb.yaml", line=1, col=2
    )
    first, *rest = format_diagnostic(diag).split("\n")
    assert rest == []
    assert first == "a\\nb.yaml:1:2: error BF230: bad 'x\\ny\\r\\x1b\\x85\\u2028\\u202e'"


def _readme(image: str, tmp_path: Path) -> str:
    analysis = analyze_text(BASE, "env.yaml")
    assert analysis.env is not None
    job = analysis.env.job_definitions["hello"].model_copy(update={"image": image})
    env = analysis.env.model_copy(update={"job_definitions": {"hello": job}})
    return render_environment(env, "env.yaml")["README.md"]


@pytest.mark.parametrize(
    "image",
    [
        "busybox\n# pwned\n",
        "busybox\r\n| injected | row |",
        "busybox | x | y",
        "<img src=x onerror=alert(1)>",
        "``busybox`` \u2028 - list",
    ],
)
def test_readme_values_cannot_add_markdown(image: str, tmp_path: Path) -> None:
    """A user value is one inert code span: no heading, no table row, no HTML of its own."""
    baseline = _readme("busybox", tmp_path)
    readme = _readme(image, tmp_path)
    assert len(readme.splitlines()) == len(baseline.splitlines())
    row = next(line for line in readme.splitlines() if line.startswith("| `hello`"))
    base_row = next(line for line in baseline.splitlines() if line.startswith("| `hello`"))
    assert row.count("|") == base_row.count("|")
    code_spans = re.sub(r"(`+)(.*?)\1", "", row)
    assert "<" not in code_spans and "#" not in code_spans


# --- hypothesis: the bundled examples with nasty scalars ---------------------------------------

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
NASTY_PLAIN = [
    "3.10",
    "0755",
    "12:30",
    "190:20:30",
    "1_000",
    "0x1F",
    "0o17",
    "-0",
    "2024-01-01",
    "1.0e+3",
    ".inf",
    "-.inf",
    ".nan",
    "9" * 30,
    "9" * 5000,
    "yes",
    "off",
    "true",
    "~",
    "null",
]
NASTY_QUOTED = [
    '"\\ud83d\\ude00"',
    '"\\ud83d"',
    '"\\ude00x"',
    '"tail\\n"',
    '"a\\x1b[31mb"',
    '"line\\u2028sep"',
    '"tab\\there"',
    '"nul\\0"',
    "'0755'",
]
# A rendered file holds these values as HCL strings, so the test can look for them.
RENDERED = ("environment", "command", "parameters")


def _scalar_values(text: str) -> list[tuple[tuple[str | int, ...], yaml.ScalarNode]]:
    """Every scalar value of the file (not keys), with its path."""
    found: list[tuple[tuple[str | int, ...], yaml.ScalarNode]] = []

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))
        elif isinstance(node, yaml.ScalarNode):
            found.append((path, node))

    walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    return found


SOURCES = {p.name: p.read_text("utf-8") for p in CONFIGS}
SCALARS = {name: _scalar_values(text) for name, text in SOURCES.items()}


def _meant(nasty: str) -> str | None:
    """The text a scalar stands for in a text field; ``None`` where it is no text at all."""
    if nasty[0] not in "\"'":
        return None if nasty in ("yes", "off", "true", "~", "null") else nasty
    value = yaml.safe_load(f"v: {nasty}")["v"]
    try:
        return str(value.encode("utf-16", "surrogatepass").decode("utf-16"))
    except UnicodeDecodeError:
        return None  # a lone surrogate: no text, a located error


def _model_value(env: model.Environment, path: tuple[str | int, ...]) -> Any:
    node: Any = env
    for part in path:
        if isinstance(node, BaseModel):
            node = getattr(node, str(part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(sorted(SOURCES)),
    index=st.integers(min_value=0, max_value=10_000),
    nasty=st.sampled_from(NASTY_PLAIN + NASTY_QUOTED),
)
def test_nasty_scalars_never_change_meaning(name: str, index: int, nasty: str) -> None:
    """Any value of a bundled example replaced by a nasty scalar: either located diagnostics,
    or a compile in which the value, wherever it is text, is exactly what was written."""
    path, node = SCALARS[name][index % len(SCALARS[name])]
    source = SOURCES[name]
    text = source[: node.start_mark.index] + nasty + source[node.end_mark.index :]
    analysis = analyze_text(text, "mutated.yaml")
    errors = [d for d in analysis.diagnostics if d.level == Level.ERROR]
    assert all(d.code != "BF000" for d in errors), [format_diagnostic(d) for d in errors]
    if errors:
        unlocated = [format_diagnostic(d) for d in errors if d.line is None]
        assert not unlocated, f"{nasty} at {path} in {name}:\n" + "\n".join(unlocated)
        return
    assert analysis.env is not None
    files = render_environment(analysis.env, "mutated.yaml")
    value = _model_value(analysis.env, path)
    if isinstance(value, str):
        meant = _meant(nasty)
        assert meant is not None and value == meant, f"{nasty!r} at {path} became {value!r}"
        if path[0] == "job_definitions" and any(p in RENDERED for p in path):
            assert hcl_string(value) in "".join(files.values()), (path, value)
