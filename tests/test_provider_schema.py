"""Generated modules against provider schemas: the real provider 5 binary's, and provider 6's
committed extracts (compiler/data/aws_provider_schemas/, made by
compiler/data/generate_provider_schema.py from the cdktf bindings' JSII assemblies).

The checker (tests/harness/provider_schema.py) is proven on provider 5 first: every example
passes against the schema ``terraform providers schema -json`` prints, and mutated modules fail
with the mistake named. Against provider 6 the same checker lists what batchform's 5.x output
would break; the list is exactly the provider's v6 upgrade guide entry that applies
(website/docs/guides/version-6-upgrade.html.markdown in hashicorp/terraform-provider-aws,
"resource/aws_batch_compute_environment: `compute_environment_name_prefix` has been renamed to
`name_prefix`"), so a new incompatibility, or a fix, shows here.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from compiler.build import analyze, analyze_text, render_environment
from compiler.data import generate_provider_schema as generator
from tests.harness import terraform as tf
from tests.harness.provider_schema import aws_schemas, problems
from tests.test_requirements import EVERYTHING

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
SCHEMA_DIR = generator.OUTPUT_DIR
PROVIDER6 = sorted(SCHEMA_DIR.glob("6.*.json"))

PROVIDER6_RENAMED = {
    ("aws_batch_compute_environment", "compute_environment_name_prefix"): "name_prefix",
}
"""Arguments of batchform's provider 5 output that provider 6 renamed (its upgrade guide)."""


@cache
def rendered() -> dict[str, dict[str, str]]:
    """The files of every bundled example and of a file using every optional argument."""
    out: dict[str, dict[str, str]] = {}
    for config in CONFIGS:
        analysis = analyze(config)
        assert analysis.env is not None
        out[config.name] = render_environment(analysis.env, config.name)
    analysis = analyze_text(EVERYTHING, "everything.yaml")
    assert analysis.env is not None
    out["everything.yaml"] = render_environment(analysis.env, "everything.yaml")
    return out


def _schema(path: Path) -> dict[str, dict[str, Any]]:
    return aws_schemas(json.loads(path.read_text("utf-8")))


@pytest.mark.terraform
def test_every_example_matches_the_real_provider5_schema(
    tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    module = tmp_path / "tiny"
    shutil.copytree(ROOT / "generated" / "tiny", module)
    tf.init(module, backend=False)
    schema = aws_schemas(json.loads(tf.terraform(["providers", "schema", "-json"], module).stdout))
    found = {name: problems(files, schema) for name, files in rendered().items()}
    assert found == {name: [] for name in found}


@pytest.mark.parametrize("schema_file", PROVIDER6, ids=lambda p: p.stem)
def test_provider6_breaks_exactly_the_renamed_arguments(schema_file: Path) -> None:
    schema = _schema(schema_file)
    expected: list[str] = []
    found: list[str] = []
    for name, files in sorted(rendered().items()):
        found += [f"{name}: {p}" for p in problems(files, schema)]
        for (rtype, argument), _new in PROVIDER6_RENAMED.items():
            for file_name, text in sorted(files.items()):
                for label in _labels(text, rtype) if argument in text else ():
                    expected.append(
                        f"{name}: {file_name}: resource {rtype}.{label}: "
                        f"unknown argument or block {argument}"
                    )
    assert sorted(found) == sorted(expected)
    assert expected, "the examples no longer use the renamed argument: update this test"


def _labels(text: str, rtype: str) -> list[str]:
    prefix = f'resource "{rtype}" "'
    return [
        line[len(prefix) :].split('"')[0] for line in text.splitlines() if line.startswith(prefix)
    ]


@pytest.mark.parametrize("schema_file", PROVIDER6, ids=lambda p: p.stem)
def test_provider6_has_the_renamed_arguments_new_names(schema_file: Path) -> None:
    resources = _schema(schema_file)["resource"]
    for (rtype, old), new in PROVIDER6_RENAMED.items():
        attributes = resources[rtype]["attributes"]
        assert new in attributes and old not in attributes


def test_every_emitted_type_is_in_the_extracted_schemas() -> None:
    """A new resource type in the output needs a row in the generator's lists."""
    listed = {("resource", t) for t in generator.RESOURCES} | {
        ("data", t) for t in generator.DATA_SOURCES
    }
    emitted = {
        (section, line.split('"')[1])
        for files in rendered().values()
        for text in files.values()
        for line in text.splitlines()
        for section in ("resource", "data")
        if line.startswith(f'{section} "')
    }
    assert emitted - listed == set()


def test_schema_files_name_their_source_release() -> None:
    assert [p.stem for p in PROVIDER6] == ["6.25.0", "6.62.0"]
    for path in PROVIDER6:
        document = json.loads(path.read_text("utf-8"))
        assert document["generated_from"].endswith(f"hashicorp/aws {path.stem}")


# --- the checker fails on each kind of mistake --------------------------------------------

TINY = """\
resource "aws_batch_job_queue" "main" {
  name     = "q"
  priority = 1
  state    = "ENABLED"
%s
}
"""
ORDER = (
    "  compute_environment_order {\n"
    "    order               = 0\n"
    '    compute_environment = "x"\n'
    "  }\n"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (ORDER + '  colour = "blue"\n', "unknown argument or block colour"),
        (ORDER.replace("    order               = 0\n", ""), "required argument order is missing"),
        (ORDER + '  timeouts = "5m"\n', "timeouts is a block, written as an attribute"),
        ("", None),
    ],
)
def test_checker_names_each_mistake(body: str, message: str | None) -> None:
    schema = _schema(PROVIDER6[0])
    text = TINY % body
    found = problems({"job_queues.tf": text}, schema)
    if message is None:
        assert found == []
    else:
        assert [p.split(": ", 2)[-1] for p in found] == [message]


def test_checker_refuses_a_repeated_single_block_and_an_unknown_type() -> None:
    schema = _schema(PROVIDER6[0])
    launch_template = '    launch_template {\n      launch_template_id = "lt"\n    }\n'
    text = (
        'resource "aws_batch_compute_environment" "ce" {\n  type = "MANAGED"\n'
        '  compute_resources {\n    max_vcpus = 1\n    subnets   = []\n    type      = "EC2"\n'
        f"{launch_template}{launch_template}  }}\n}}\n"
        'resource "aws_batch_widget" "w" {\n}\n'
    )
    assert problems({"x.tf": text}, schema) == [
        "x.tf: resource aws_batch_compute_environment.ce.compute_resources[0]: "
        "block launch_template appears 2 times (at most 1)",
        "x.tf: resource aws_batch_widget.w: the provider has no resource aws_batch_widget",
    ]
