"""Robustness: any mutation of an example in ``configs/`` yields located diagnostics or
Terraform that ``terraform validate`` accepts; never a traceback.

Hypothesis mutates the parsed examples the ways people and tools break files: keys dropped or
added (near-misses of real ones), values of the wrong type, references swapped for other names of
the document, random text and numbers, unicode, deep nesting and huge values, and finally raw
edits of the YAML text itself. Runs are derandomized so CI sees the same 300 examples each time;
a failure prints the mutated file to reproduce it with ``batchform validate``.

Each accepted mutation's rendered files are kept; ``test_accepted_outputs_pass_terraform_validate``
writes each to ``module_<n>/`` under one root, calls them all as child modules from a generated
``main.tf`` and runs ``terraform init`` + ``terraform validate`` once. Child modules may keep their
``provider "aws"`` block (legacy, but valid for a module called without count/for_each); the
``backend`` block is removed because Terraform only honours it in a root module.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchform.build import analyze_text, render_environment
from batchform.checks import CODE_CHECK_CRASHED
from batchform.diagnostics import BatchformError
from batchform.report.diagnostics import format_diagnostic
from batchform.sandbox.terraform import TerraformError
from tests.harness import terraform as tf
from tests.harness.every_argument import PROVIDER5_CONFIGS
from tests.harness.yaml_files import read_yaml

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))
# Mutations start from the provider 5 examples: the accepted outputs go to `terraform validate`,
# and this machine has no provider 6 (the provider 6 example is checked against the 6.x schemas
# in tests/test_provider_schema.py).
BASES: dict[str, Any] = {
    p.name: read_yaml(p.read_text(encoding="utf-8")) for p in PROVIDER5_CONFIGS
}
FILE = "fuzz.yaml"
MAX_MODULES = 40  # distinct accepted outputs handed to terraform validate

# The terraform test validates what the mutation tests accepted (ACCEPTED, in this process):
# under xdist they run on one worker, so the mutations are not generated twice.
pytestmark = pytest.mark.xdist_group("fuzz-accepted-outputs")

FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values that sit on the edges the format and AWS care about.
EDGE_STRINGS = [
    "",
    " ",
    "${var.x}",
    "%{ if true }x%{ endif }",
    '"quoted"',
    "back\\slash",
    "line\nbreak",
    "tab\there",
    "Ref::missing",
    "*",
    "0.0.0.0/0",
    "::/0",
    "10.0.0.0/33",
    "nan",
    "1e309",
    "-1",
    "ü日本語🙂",
    "\u202e\u0000",
    "a" * 300,
    "arn:aws:iam::123456789012:role/x",
    "arn:aws:secretsmanager:us-west-2:123456789012:secret:s",
    "ENABLED",
    "DISABLED",
    "EC2",
    "SPOT",
    "FARGATE",
    "FARGATE_SPOT",
    "optimal",
    "default_arm64",
    "c6i.32xlarge",
    "p4d",
    "a1",
    "1 TiB",
    "0 MiB",
    "15m",
    "0s",
    "BF460",
    "BF9999",
    "us-east-1",
    "private",
    "public",
    "all",
    "none",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([0, 1, -1, 2, 3, 4, 16, 60, 99, 100, 101, 1000, 1001, 10**6, 2**31, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.25, 0.5, 1.5, 1e-9]),
    st.text(max_size=24),
    st.sampled_from(EDGE_STRINGS),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.sampled_from(EDGE_STRINGS), inner, max_size=4)
    ),
    max_leaves=8,
)


def all_paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path below ``node`` (not the root itself), parents before children."""
    items: list[tuple[Any, Any]]
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from all_paths(child, (*prefix, key))


def strings_in(node: Any) -> list[str]:
    """Every string (keys included) of the document: candidates for swapped references."""
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append(str(k))
            out.extend(strings_in(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(strings_in(v))
    elif isinstance(node, str):
        out.append(node)
    return sorted(set(out))


def names_in(node: Any) -> list[str]:
    """The keys of named things (``spot``, ``batch``, ``fair``) and other key-shaped strings."""
    return [s for s in strings_in(node) if re.fullmatch(r"[a-z][a-z0-9-]{0,31}", s)] or ["x"]


def get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def nested(depth: int, leaf: Any) -> Any:
    for i in range(depth):
        leaf = [leaf] if i % 2 else {"k": leaf}
    return leaf


# Most mutations keep the value's type, so that many files get past the schema and exercise
# the checks and the renderer; the rest break the shape on purpose.
OPERATIONS = ["keep_type"] * 10 + ["swap"] * 4 + ["drop"] * 2
OPERATIONS += ["replace", "retype", "deep", "huge", "add_key", "clone", "edge"]
# Gentle mutations only recombine what the examples already hold (names, enum values, numbers
# nearby): most such files pass the schema, so they exercise the checks and the renderer.
GENTLE_OPERATIONS = ["keep_type"] * 3 + ["swap", "drop"]
INTERESTING_INTS = [0, 1, -1, 2, 3, 4, 16, 60, 99, 100, 101, 255, 1000, 1001, 86400, 10**6]


def same_type(old: Any, data: Any, gentle: bool) -> st.SearchStrategy[Any]:
    """Another value of the type ``old`` has (a list or mapping loses or repeats an item)."""
    if isinstance(old, bool):
        return st.just(not old)
    if isinstance(old, int):
        if gentle:
            return st.sampled_from(INTERESTING_INTS)
        return st.sampled_from(INTERESTING_INTS) | st.integers(-(2**40), 2**40)
    if isinstance(old, float):
        return st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 999.9999, 1000.0, -1.0, 1e-9])
    if isinstance(old, str):
        if gentle:
            return st.sampled_from(strings_in(data))
        return (
            st.sampled_from(strings_in(data)) | st.sampled_from(EDGE_STRINGS) | st.text(max_size=16)
        )
    if isinstance(old, list) and old:
        return st.sampled_from([old[1:], old[:-1], old + old[-1:], old[::-1], []])
    if isinstance(old, dict) and old:
        return st.sampled_from(sorted(old)).map(lambda k: {x: v for x, v in old.items() if x != k})
    return values


@st.composite
def mutated_documents(draw: st.DrawFn, gentle: bool = False) -> str:
    """The YAML text of one example after one to four mutations."""
    # Paths and operations come from a seeded Random: hypothesis's own choices lean towards the
    # first item (the top-level `version`), which would break almost every file the same way.
    rnd = draw(st.randoms(use_true_random=True))
    name = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[name])
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4]))):
        paths = list(all_paths(data))
        if not paths:
            break
        path = rnd.choice(paths)
        parent, key = get(data, path[:-1]), path[-1]
        op = rnd.choice(GENTLE_OPERATIONS if gentle else OPERATIONS)
        if op == "keep_type":
            parent[key] = draw(same_type(parent[key], data, gentle))
        elif op == "drop":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(values)
        elif op == "swap":  # another name of the document: a reference to the wrong thing
            parent[key] = draw(st.sampled_from(names_in(data)))
        elif op == "retype":
            old = parent[key]
            parent[key] = draw(
                st.sampled_from([[old], str(old), {"value": old}, len(str(old)), bool(old)])
            )
        elif op == "deep":
            parent[key] = nested(draw(st.integers(min_value=1, max_value=80)), parent[key])
        elif op == "huge":
            parent[key] = draw(
                st.sampled_from(["x" * 20000, 10**40, -(10**40), list(range(500)), 1e308])
            )
        elif op == "edge":
            parent[key] = draw(st.sampled_from(EDGE_STRINGS))
        elif op == "add_key" and isinstance(parent, dict):
            near = [f"{key}s", f"{key}"[:-1] or "x", f"{key}_id", "extra"]
            parent[draw(st.sampled_from(near))] = draw(values)
        elif op == "clone" and isinstance(parent, dict):
            new_key = draw(st.sampled_from([f"{key}-2", "x", "Bad_Key", "a" * 40]))
            parent[new_key] = copy.deepcopy(parent[key])
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    if not gentle and rnd.random() < 0.1:  # a raw edit of the text
        at = rnd.randrange(len(text) + 1)
        junk = rnd.choice(["\t", ":", "- ", "{", "]", "&a ", "*a", "\n  x", "'", "#"])
        text = text[:at] + junk + text[at:]
    return text


# digest of the rendered files -> (the environment file, its rendered files)
ACCEPTED: dict[str, tuple[str, dict[str, str]]] = {}


def check_document(text: str) -> None:
    """The property: diagnostics that say where, or rendered files; never an exception."""
    analysis = analyze_text(text, FILE)  # must not raise
    shown = "\n".join(format_diagnostic(d) for d in analysis.diagnostics)
    crashed = [d for d in analysis.diagnostics if d.code == CODE_CHECK_CRASHED]
    assert not crashed, f"a check crashed:\n{shown}\n--- input ---\n{text}"
    if analysis.failed():
        assert analysis.diagnostics, f"rejected without a diagnostic:\n{text}"
        unlocated = [d for d in analysis.diagnostics if d.file != FILE or d.line is None]
        assert not unlocated, f"diagnostics without a position:\n{shown}\n--- input ---\n{text}"
        return
    assert analysis.env is not None
    try:
        files = render_environment(analysis.env, FILE)
    except BatchformError as exc:  # rendering only fails on internal errors (BF009)
        reasons = "\n".join(format_diagnostic(d) for d in exc.diagnostics)
        pytest.fail(f"an accepted file does not render:\n{reasons}\n--- input ---\n{text}")
    assert files and all(isinstance(v, str) and v for v in files.values())
    assert render_environment(analysis.env, FILE) == files, "output is not deterministic"
    digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()
    ACCEPTED.setdefault(digest, (text, files))


@FUZZ_SETTINGS
@given(mutated_documents())
def test_mutations_never_crash(text: str) -> None:
    check_document(text)


@FUZZ_SETTINGS
@given(mutated_documents(gentle=True))
def test_gentle_mutations_never_crash(text: str) -> None:
    check_document(text)


def test_examples_are_accepted() -> None:
    """The unmutated examples are the baseline: each must compile."""
    for config in CONFIGS:
        analysis = analyze_text(config.read_text(encoding="utf-8"), str(config))
        assert not analysis.failed(), [format_diagnostic(d) for d in analysis.diagnostics]


def as_child_module(files: dict[str, str]) -> dict[str, str]:
    """A root module's files made callable as a child: the backend block goes (Terraform
    only reads it in the root)."""
    out = dict(files)
    if "versions.tf" in out:
        out["versions.tf"] = strip_block(
            out["versions.tf"], re.compile(r'^\s*backend\s+"[^"]*"\s*\{')
        )
    return out


def strip_block(text: str, opener: re.Pattern[str]) -> str:
    lines, out, depth = text.splitlines(keepends=True), [], 0
    for line in lines:
        if depth == 0 and opener.match(line):
            depth = line.count("{") - line.count("}")
            continue
        if depth > 0:
            depth += line.count("{") - line.count("}")
            continue
        out.append(line)
    return "".join(out)


def test_strip_block_removes_only_the_backend() -> None:
    text = 'terraform {\n  x = 1\n\n  backend "s3" {\n    a = {\n      b = 1\n    }\n  }\n}\n'
    assert strip_block(text, re.compile(r'^\s*backend\s+"[^"]*"\s*\{')) == (
        "terraform {\n  x = 1\n\n}\n"
    )


@pytest.mark.terraform
def test_accepted_outputs_pass_terraform_validate(
    tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    if not ACCEPTED:  # run on its own: collect the accepted mutations first
        test_mutations_never_crash()
        test_gentle_mutations_never_crash()
    examples = []  # always validated, whatever the mutations produced
    for config in PROVIDER5_CONFIGS:
        analysis = analyze_text(config.read_text(encoding="utf-8"), str(config))
        assert analysis.env is not None
        examples.append((config.name, render_environment(analysis.env, config.name)))
    mutants = [ACCEPTED[k] for k in sorted(ACCEPTED)]
    chosen = examples + mutants[: MAX_MODULES - len(examples)]
    main = []
    for n, (_, files) in enumerate(chosen):
        module = tmp_path / f"module_{n}"
        module.mkdir()
        for name, text in as_child_module(files).items():
            (module / name).write_text(text, encoding="utf-8")
        main.append(f'module "m{n}" {{\n  source = "./module_{n}"\n}}\n')
    (tmp_path / "main.tf").write_text("\n".join(main), encoding="utf-8")
    try:
        tf.init(tmp_path, backend=False)
        result = tf.validate(tmp_path)
    except TerraformError as exc:
        culprits = sorted({int(n) for n in re.findall(r"on module_(\d+)/", str(exc))})
        sources = "\n".join(f"--- module_{n} comes from ---\n{chosen[n][0]}" for n in culprits)
        pytest.fail(f"{exc}\n{sources}")
    assert "Success" in result.stdout, result.stdout
