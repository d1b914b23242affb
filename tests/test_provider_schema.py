"""Generated modules against provider schemas: the real provider 5 binary's, and provider 6's
committed extracts (compiler/batchform/data/aws_provider_schemas/, made by
compiler/batchform/data/generate_provider_schema.py from the cdktf bindings' JSII assemblies).

The checker (tests/harness/provider_schema.py) is proven on provider 5 first: every example
passes against the schema ``terraform providers schema -json`` prints, and mutated modules fail
with the mistake named. Against provider 6 the same checker lists what batchform's 5.x output
would break; the list is exactly the provider's v6 upgrade guide entry that applies
(website/docs/guides/version-6-upgrade.html.markdown in hashicorp/terraform-provider-aws,
"resource/aws_batch_compute_environment: `compute_environment_name_prefix` has been renamed to
`name_prefix`"), so a new incompatibility, or a fix, shows here.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from batchform import requirements
from batchform.build import analyze_text, render_environment, source_label
from batchform.cli import main
from batchform.data import generate_provider_schema as generator
from batchform.diagnostics import Level
from batchform.sandbox.terraform import PROVIDER_SUBPATH, find_provider_mirror, mirror_versions
from tests.harness import terraform as tf
from tests.harness.every_argument import (
    EVERYTHING,
    PROVIDER5_CONFIGS,
    PROVIDER6_CONFIGS,
    rendered_examples,
    rendered_provider6_examples,
)
from tests.harness.provider_schema import aws_schemas, problems
from tests.harness.small_env import blocks, unquote
from tests.harness.yaml_files import read_yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = generator.OUTPUT_DIR
PROVIDER6 = sorted(SCHEMA_DIR.glob("6.*.json"))

PROVIDER6_RENAMED = requirements.PROVIDER6_RENAMED


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
    found = {name: problems(files, schema) for name, files in rendered_examples().items()}
    assert found == {name: [] for name in found}


@pytest.mark.parametrize("schema_file", PROVIDER6, ids=lambda p: p.stem)
def test_provider6_breaks_exactly_the_renamed_arguments(schema_file: Path) -> None:
    schema = _schema(schema_file)
    expected: list[str] = []
    found: list[str] = []
    for name, files in sorted(rendered_examples().items()):
        found += [f"{name}: {p}" for p in problems(files, schema)]
        for (rtype, argument), _new in PROVIDER6_RENAMED.items():
            for file_name, text in sorted(files.items()):
                for label in _labels_with(text, rtype, argument):
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


def _labels_with(text: str, rtype: str, argument: str) -> list[str]:
    """Labels of the ``rtype`` resources whose body sets ``argument`` (a whole argument name:
    ``compute_environment_name`` is no part of ``compute_environment_name_prefix``)."""
    if argument not in text:
        return []
    resources = blocks(text).get(rtype, {})
    return [label for label in _labels(text, rtype) if argument in resources.get(label, {})]


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
        for files in rendered_examples().values()
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


# --- output for provider 6 -------------------------------------------------------------------


@cache
def rendered_for_provider6() -> dict[str, dict[str, str]]:
    """Every provider 5 example and the every-argument file, with
    ``terraform.aws_provider: "~> 6.0"``."""
    out: dict[str, dict[str, str]] = {}
    sources = {c.name: c.read_text("utf-8") for c in PROVIDER5_CONFIGS}
    sources["everything.yaml"] = EVERYTHING
    for name, text in sources.items():
        data = read_yaml(text)
        data.setdefault("terraform", {})["aws_provider"] = "~> 6.0"
        analysis = analyze_text(yaml.safe_dump(data, sort_keys=False), str(ROOT / "configs" / name))
        assert analysis.env is not None, analysis.diagnostics
        assert not [d for d in analysis.diagnostics if d.level == Level.ERROR]
        out[name] = render_environment(analysis.env, source_label(analysis))
    return out


@pytest.mark.parametrize("schema_file", PROVIDER6, ids=lambda p: p.stem)
def test_provider6_output_matches_the_provider6_schema(schema_file: Path) -> None:
    schema = _schema(schema_file)
    outputs = {**rendered_for_provider6(), **rendered_provider6_examples()}
    found = {name: problems(files, schema) for name, files in outputs.items()}
    assert found == {name: [] for name in found}


def test_there_is_a_provider6_example_and_it_is_written_for_6() -> None:
    """configs/genomics-provider6.yaml: provider 6 names, and no workaround 6.10.0 made
    unneeded (its Spot CE, SPOT_PRICE_CAPACITY_OPTIMIZED, has no replace trigger)."""
    assert [c.name for c in PROVIDER6_CONFIGS] == ["genomics-provider6.yaml"]
    ces = rendered_provider6_examples()["genomics-provider6.yaml"]["compute_environments.tf"]
    resources = unquote(hcl2.loads(ces))["resource"]
    spot = next(
        b["aws_batch_compute_environment"]["spot"]
        for b in resources
        if "spot" in b.get("aws_batch_compute_environment", {})
    )
    assert "name_prefix" in spot and "compute_environment_name_prefix" not in spot
    assert "replace_triggered_by" not in spot["lifecycle"][0]
    base = rendered_examples()["genomics.yaml"]["compute_environments.tf"]
    assert "replace_triggered_by" in base  # the provider 5 original keeps the workaround


def test_provider6_output_differs_only_by_the_renamed_arguments() -> None:
    """Same resources, same values: only the argument names provider 6 changed, and the
    version constraint itself."""
    for name, files in rendered_for_provider6().items():
        for file_name, text in files.items():
            if not file_name.endswith(".tf"):
                continue
            before = rendered_examples()[name][file_name]
            for (_rtype, old), new in requirements.PROVIDER6_RENAMED.items():
                before = before.replace(f"  {old} ", f"  {new} ")
            if file_name == "versions.tf":
                assert '"~> 6.0"' in text
                continue
            if file_name == "module.tf":
                # A child module's region check reads data.aws_region's `region`: 6.x deprecates
                # `name` (registry.terraform.io/providers/hashicorp/aws/6.0.0/docs/data-sources/
                # region), which 5.x has alone (compiler/batchform/plan/module.py).
                assert "self.region ==" in text
                before = before.replace("self.name", "self.region")
            assert hcl2.loads(text) == hcl2.loads(before), f"{name}: {file_name}"


# --- the sandbox says why it cannot deploy provider 6 output ---------------------------------


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        ("~> 6.0", "5.100.0", False),
        ("~> 6.0", "6.25.0", True),
        (">= 5.63.1, < 6.0.0", "5.100.0", True),
        ("!= 5.100.0", "5.100.0", False),
        ("> 5.100.0", "5.100.0", False),
        ("= 5.100.0", "5.100.0", True),
    ],
)
def test_admits(constraint: str, version: str, expected: bool) -> None:
    assert requirements.admits(constraint, version) is expected


def test_mirror_versions_reads_unpacked_and_packed_layouts(tmp_path: Path) -> None:
    root = tmp_path / PROVIDER_SUBPATH
    (root / "5.100.0" / "linux_amd64").mkdir(parents=True)
    (root / "terraform-provider-aws_5.9.0_linux_amd64.zip").write_bytes(b"")
    (root / "notes").mkdir()
    assert mirror_versions(tmp_path) == ["5.9.0", "5.100.0"]


@pytest.mark.e2e
def test_sandbox_of_provider6_output_names_the_mirror_and_the_constraint(
    tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    """No provider 6 binary is reachable: the sandbox says so instead of relaying Terraform's
    "Failed to query available provider packages"."""
    mirror = find_provider_mirror()
    if mirror is None or any(v.startswith("6.") for v in mirror_versions(mirror)):
        pytest.skip("needs a provider mirror without 6.x")
    config = tmp_path / "tiny6.yaml"
    data = read_yaml((ROOT / "configs" / "tiny.yaml").read_text("utf-8"))
    data["terraform"] = {"aws_provider": "~> 6.0"}
    config.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["sandbox", str(config)])
    text = out.getvalue()
    assert code == 1
    assert "terraform.aws_provider '~> 6.0' admits none of them" in text
    assert "Failed to query available provider packages" not in text
