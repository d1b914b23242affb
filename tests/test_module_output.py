"""``terraform.output: module``: the environment as a child module (docs/module-output.md).

What a user embedding the module relies on: no provider or backend block (the caller's are
used), every tag the root module would give a resource still reaches it (a child module has no
``default_tags``), the variables a caller may set default to the file's values, the README's
``module`` block, BF360 for a backend, and that verify and diff read the same plan values as
for a root module. The e2e test embeds the bundled example in a root module and applies it on
moto.
"""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from batchform.build import analyze, analyze_text, render_environment
from batchform.diagnostics import Level
from batchform.diff.engine import diff_environments
from batchform.diff.result import Risk
from batchform.hcl import ModuleTags, Variable, VariableList, hcl
from batchform.model import Environment
from batchform.overlay import load_chain, show
from batchform.plan import build_plan
from batchform.plan.contract import file_contexts
from batchform.sandbox.duplicates import duplicate_creates
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import (
    OVERRIDE_FILENAME,
    WRAPPED_MODULE,
    resource_blocks,
    write_moto_copy,
    write_moto_module,
)
from tests.harness import terraform as tf
from tests.harness.cli import run_cli
from tests.harness.deploy import deployed_module
from tests.harness.every_argument import CONFIGS, EVERYTHING, PROVIDER5_CONFIGS
from tests.harness.small_env import unquote
from tests.harness.yaml_files import read_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "configs" / "fargate-module.yaml"
GENERATED = ROOT / "generated" / "etl-module"

ROOT_ONLY = {"providers.tf"}
MODULE_ONLY = {"variables.tf", "module.tf"}


def _env(text: str, name: str) -> Environment:
    analysis = analyze_text(text, str(ROOT / "configs" / name))
    assert analysis.env is not None, analysis.diagnostics
    assert not [d for d in analysis.diagnostics if d.level == Level.ERROR], analysis.diagnostics
    return analysis.env


def _as_module(text: str) -> str:
    """``text`` with ``output: module`` (and without the backend BF360 refuses)."""
    data = read_yaml(text)
    settings = data.setdefault("terraform", {})
    settings["output"] = "module"
    settings.pop("backend", None)
    return yaml.safe_dump(data, sort_keys=False)


def _pairs() -> Iterator[tuple[str, Environment, Environment]]:
    """Every provider 5 example (merged with its bases) and the every-argument file, as a root
    module and as a child module (the provider 6 example differs from its base only in what
    tests/test_provider_schema.py checks, and Terraform here has no provider 6 to validate it)."""
    sources = {c.name: show(load_chain(str(c))) for c in PROVIDER5_CONFIGS if c != EXAMPLE}
    sources["everything.yaml"] = EVERYTHING
    for name, text in sources.items():
        root = read_yaml(text)
        root.get("terraform", {}).pop("output", None)
        root_text = yaml.safe_dump(root, sort_keys=False)
        yield name, _env(root_text, name), _env(_as_module(root_text), name)


PAIRS = list(_pairs())
PAIRS_SOURCE = {c.name: c.read_text("utf-8") for c in CONFIGS}


def _tags_paths(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every ``tags`` argument in parsed HCL, nested blocks included."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "tags":
                yield f"{path}.tags", value
            else:
                yield from _tags_paths(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _tags_paths(item, f"{path}[{index}]")


# --- what is written -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "root", "module"), PAIRS, ids=[p[0] for p in PAIRS])
def test_child_module_has_no_provider_or_backend_and_keeps_the_constraint(
    name: str, root: Environment, module: Environment
) -> None:
    files = render_environment(module, name)
    assert set(files) == set(render_environment(root, name)) - ROOT_ONLY | MODULE_ONLY
    for text in (t for n, t in files.items() if n.endswith(".tf")):
        assert 'provider "aws"' not in text
        assert "backend" not in hcl2.loads(files["versions.tf"])["terraform"][0]
    versions = unquote(hcl2.loads(files["versions.tf"]))["terraform"][0]
    aws = versions["required_providers"][0]["aws"]
    assert aws["version"] == module.terraform.aws_provider


@pytest.mark.parametrize(("name", "root", "module"), PAIRS, ids=[p[0] for p in PAIRS])
def test_every_tags_argument_of_the_root_module_is_merged_over_local_tags(
    name: str, root: Environment, module: Environment
) -> None:
    """Every ``tags`` the root module writes (resources, launch template tag specifications, a
    compute environment's instance tags) is ``merge(local.tags, ...)`` in the child module,
    where no provider ``default_tags`` exist; nothing else gains or loses tags."""
    root_files, module_files = render_environment(root, name), render_environment(module, name)
    for file_name, text in root_files.items():
        if not file_name.endswith(".tf") or file_name in ROOT_ONLY:
            continue
        before = dict(_tags_paths(hcl2.loads(text)))
        after = dict(_tags_paths(hcl2.loads(module_files[file_name])))
        assert set(after) == set(before), file_name
        for path, value in after.items():
            assert value == "${local.tags}" or value.startswith("${merge(local.tags, {"), (
                f"{file_name} {path}: {value}"
            )


@pytest.mark.parametrize(("name", "root", "module"), PAIRS, ids=[p[0] for p in PAIRS])
def test_verify_and_diff_read_the_same_plan_values_in_both_modes(
    name: str, root: Environment, module: Environment
) -> None:
    """The plan contexts verify and diff compare are equal: module output changes only how a
    value is written (a variable, merged tags), never the value."""
    before = file_contexts(build_plan(root, name).files)
    after = file_contexts(build_plan(module, name).files)
    shared = set(before) - ROOT_ONLY - {"versions.tf", "README.md"}
    assert {f: after.get(f) for f in shared} == {f: before[f] for f in shared}


@pytest.mark.parametrize(("name", "root", "module"), PAIRS[:2], ids=[p[0] for p in PAIRS[:2]])
def test_diff_between_the_modes_changes_no_resource_and_says_the_state_moves(
    name: str, root: Environment, module: Environment
) -> None:
    to_module, to_root = diff_environments(root, module), diff_environments(module, root)
    assert to_module.changes == [] and to_root.changes == []
    moved = [n for n in to_module.notes if n.text.startswith("terraform.output root -> module")]
    assert [n.risk for n in moved] == [Risk.FAILS]
    assert f"module.{module.name.replace('-', '_')}.<address>" in moved[0].text
    assert any(n.text.startswith("terraform.output module -> root") for n in to_root.notes)


def test_module_tags_write_only_what_local_tags_lacks() -> None:
    tags = ModuleTags({"team": "a", "tier": "gold", "batchform:key": "x"}, {"team": "a"})
    assert hcl(tags) == 'merge(local.tags, {\ntier = "gold"\n"batchform:key" = "x"\n})'
    assert tags == {"team": "a", "tier": "gold", "batchform:key": "x"}
    assert hcl(ModuleTags({"team": "a"}, {"team": "a"})) == "local.tags"
    assert hcl(ModuleTags({"team": "b"}, {"team": "a"})) == 'merge(local.tags, {\nteam = "b"\n})'


def test_variables_are_written_as_references_and_compare_as_their_defaults() -> None:
    vpc, subnets = Variable("vpc-1", "vpc_id"), VariableList(["subnet-1"], "private_subnet_ids")
    assert (hcl(vpc), hcl(subnets)) == ("var.vpc_id", "var.private_subnet_ids")
    assert (vpc, subnets) == ("vpc-1", ["subnet-1"])


@pytest.mark.parametrize(
    "value",
    [
        ModuleTags({"team": "a", "tier": "gold"}, {"team": "a"}),
        Variable("vpc-1", "vpc_id"),
        VariableList(["subnet-1"], "private_subnet_ids"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_written_forms_survive_copies_and_pickling(value: object) -> None:
    """A plan may be copied or sent to another process: the value and its written form stay."""
    for copied in (pickle.loads(pickle.dumps(value)), copy.deepcopy(value), copy.copy(value)):
        assert type(copied) is type(value) and copied == value and hcl(copied) == hcl(value)


def test_bundled_example_variables_default_to_the_files_values() -> None:
    analysis = analyze(EXAMPLE)
    assert analysis.env is not None
    existing = analysis.env.network.vpc.existing
    assert existing is not None
    parsed = unquote(hcl2.loads((GENERATED / "variables.tf").read_text("utf-8")))
    variables = {name: body for block in parsed["variable"] for name, body in block.items()}
    types = {n: v["type"].removeprefix("${").removesuffix("}") for n, v in variables.items()}
    assert types == {
        "tags": "map(string)",
        "vpc_id": "string",
        "private_subnet_ids": "list(string)",
        "public_subnet_ids": "list(string)",
    }
    assert {n: v["default"] for n, v in variables.items()} == {
        "tags": {},
        "vpc_id": existing.vpc_id,
        "private_subnet_ids": existing.private_subnets,
        "public_subnet_ids": existing.public_subnets,
    }
    assert all(v["description"] for v in variables.values())
    network = (GENERATED / "network.tf").read_text("utf-8")
    ces = (GENERATED / "compute_environments.tf").read_text("utf-8")
    assert existing.vpc_id not in network and "var.vpc_id" in network
    assert "subnets            = var.public_subnet_ids" in ces
    # A compute environment that lists its own subnet ids keeps them.
    assert '["subnet-0f99e88d77c66b551", "subnet-0f99e88d77c66b552"]' in ces


def test_tags_variable_keeps_every_resource_within_the_aws_tag_limit() -> None:
    """The most any resource adds to the file's tags here is a job definition's own five and
    batchform's two: the file's 40 tags and the caller's may have 43 keys together."""
    tags = "".join(f"  t{i:02}: v\n" for i in range(40))
    job = "    tags: {" + ", ".join(f"j{i}: v" for i in range(5)) + "}\n"
    text = PAIRS_SOURCE["tiny.yaml"].replace(
        "region: us-east-1\n", f"region: us-east-1\ntags:\n{tags}"
    )
    text = text.replace("    memory: 2 GiB\n", "    memory: 2 GiB\n" + job)
    files = render_environment(_env(_as_module(text), "tiny.yaml"), "tiny.yaml")
    variable = unquote(hcl2.loads(files["variables.tf"]))["variable"][0]["tags"]
    validation = variable["validation"][0]
    assert validation["condition"].startswith("${length(setunion(keys(var.tags), [")
    assert validation["condition"].endswith(")) <= 43}")
    assert "at most 43 keys" in validation["error_message"]
    assert "carries up to 7 of its own" in validation["error_message"]


def test_a_created_vpc_gives_only_the_tags_variable() -> None:
    name, _, module = next(p for p in PAIRS if p[0] == "tiny.yaml")
    variables = unquote(hcl2.loads(render_environment(module, name)["variables.tf"]))["variable"]
    assert [next(iter(v)) for v in variables] == ["tags"]


def test_region_check_names_the_files_region_for_each_provider_major() -> None:
    text = EVERYTHING.replace("terraform:\n", 'terraform:\n  aws_provider: "~> 6.0"\n', 1)
    for source, attribute in ((EVERYTHING, "name"), (text, "region")):
        files = render_environment(_env(_as_module(source), "everything.yaml"), "e.yaml")
        check = unquote(hcl2.loads(files["module.tf"]))["data"][0]["aws_region"]["current"]
        condition = check["lifecycle"][0]["postcondition"][0]
        assert condition["condition"] == f'${{self.{attribute} == "us-west-2"}}'
        assert f"${{self.{attribute}}}" in condition["error_message"]
        assert "compiled for us-west-2" in condition["error_message"]


def test_readme_has_the_module_block_to_paste() -> None:
    readme = (GENERATED / "README.md").read_text("utf-8")
    block = readme.split("```hcl\n", 1)[1].split("```", 1)[0]
    parsed = unquote(hcl2.loads(block))
    assert parsed["provider"][0]["aws"]["region"] == "us-east-1"
    assert parsed["module"][0]["etl_module"]["source"] == "./generated/etl-module"
    for name in ("tags", "vpc_id", "private_subnet_ids", "public_subnet_ids"):
        assert f"  # {name} = " in block


def test_root_output_readme_has_no_module_section() -> None:
    assert "## Use as a module" not in (ROOT / "generated" / "tiny" / "README.md").read_text()


def test_backend_with_module_output_is_a_located_error(tmp_path: Path) -> None:
    config = tmp_path / "mod.yaml"
    text = (ROOT / "configs" / "tiny.yaml").read_text("utf-8")
    config.write_text(
        text.replace(
            "region: us-east-1\n",
            "region: us-east-1\nterraform:\n  output: module\n"
            "  backend:\n    s3: {bucket: b, key: k.tfstate, region: us-east-1}\n",
        ),
        "utf-8",
    )
    result = run_cli("validate", config)
    assert result.returncode == 1
    assert f"{config}:9:3: error BF360:" in result.stdout + result.stderr
    assert "remove terraform.backend" in result.stdout + result.stderr


def test_moto_copy_of_a_child_module_wraps_it_in_a_root_module(tmp_path: Path) -> None:
    """The sandbox and the test harness deploy a child module through a root module of their
    own, in their work directory: the generated directory is never written to."""
    before = {p.name: p.read_bytes() for p in GENERATED.iterdir()}
    dest = write_moto_copy(GENERATED, tmp_path / "m", "http://127.0.0.1:1", region="us-east-1")
    assert {p.name: p.read_bytes() for p in GENERATED.iterdir()} == before
    wrapper = unquote(hcl2.loads((dest / "main.tf").read_text("utf-8")))
    assert wrapper["module"][0][WRAPPED_MODULE]["source"] == f"./{WRAPPED_MODULE}"
    root_override = unquote(hcl2.loads((dest / OVERRIDE_FILENAME).read_text("utf-8")))
    assert root_override["provider"][0]["aws"]["region"] == "us-east-1"
    child_override = (dest / WRAPPED_MODULE / OVERRIDE_FILENAME).read_text("utf-8")
    assert "provider" not in child_override and "backend" not in child_override
    assert "job_state_time_limit_action" in child_override  # the moto gap, per resource


def test_sandbox_module_files_of_a_child_module_are_wrapped(tmp_path: Path) -> None:
    """``batchform sandbox`` writes the compiled files from memory (``write_moto_module``):
    the same wrapping, and the moto gap lookups see the child's resources."""
    files = {p.name: p.read_text("utf-8") for p in GENERATED.iterdir() if p.is_file()}
    dest = write_moto_module(files, tmp_path / "m", "http://127.0.0.1:1")
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        ["main.tf", OVERRIDE_FILENAME, WRAPPED_MODULE]
    )
    assert "aws_batch_job_queue" in resource_blocks(dest)
    address = "module.environment.aws_security_group.etl_tasks"
    output = f"Error: creating: InvalidGroup.Duplicate\n\n  with {address},\n"
    assert duplicate_creates(output, lambda rtype, label: f"{rtype}:{label}") == [
        (address, "aws_security_group:etl_tasks")
    ]


@pytest.mark.terraform
def test_every_example_as_a_child_module_is_fmt_clean_and_validates(
    tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    """Every example and the every-argument file compiled with ``output: module``, called from
    one root module: `terraform fmt -check` and `terraform validate` (which checks each child
    against the real provider 5 schema, references to var/local included)."""
    calls = []
    for name, _, module in PAIRS:
        directory = tmp_path / module.name
        directory.mkdir()
        for file_name, text in render_environment(module, name).items():
            (directory / file_name).write_text(text, "utf-8")
        calls.append(
            f'module "{module.name.replace("-", "_")}" {{\n  source = "./{module.name}"\n}}\n'
        )
    (tmp_path / "main.tf").write_text("\n".join(calls), "utf-8")
    tf.fmt_check(tmp_path)
    tf.init(tmp_path, backend=False)
    tf.validate(tmp_path)


# --- on the emulator -------------------------------------------------------------------------


@pytest.mark.e2e
def test_example_embedded_in_a_root_module_applies_and_verifies(
    moto: MotoServer, terraform_cli: tf.TerraformCLI, tmp_path: Path
) -> None:
    """`terraform validate` and `apply` of the bundled module example through a root module
    that calls it, an empty re-plan, and `batchform verify` exit 0 (without the one setting
    moto does not store, sandbox/override.py MOTO_GAPS)."""
    merged = read_yaml(show(load_chain(str(EXAMPLE))))
    for queue in merged["job_queues"].values():
        queue.pop("time_limit_actions", None)
    config = tmp_path / "etl-module.yaml"
    config.write_text(yaml.safe_dump(merged, sort_keys=False), "utf-8")
    with deployed_module(moto, config, tmp_path) as deployment:
        root = deployment.module
        assert not (root / WRAPPED_MODULE / "providers.tf").exists()
        tf.validate(root, moto.env())
        assert tf.plan(root, moto.env()).returncode == 0
        state = tf.terraform(["state", "list"], root, moto.env()).stdout.split()
        assert "module.environment.aws_batch_job_queue.etl" in state
        queue = moto.client("batch", region="us-east-1").describe_job_queues(
            jobQueues=["etl-module-etl"]
        )["jobQueues"][0]
        assert queue["tags"]["team"] == "data-platform"  # the file's tags, no default_tags
        result = run_cli(
            "verify", deployment.config, "--endpoint-url", moto.url, env=moto.process_env()
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.e2e
def test_a_caller_with_too_many_tags_is_stopped_at_plan(
    moto: MotoServer, terraform_cli: tf.TerraformCLI, tmp_path: Path
) -> None:
    """AWS refuses a 51st tag on a resource at apply time, one resource at a time; the
    ``tags`` variable's validation refuses the caller's tags at plan, naming the limit."""
    module = write_moto_copy(GENERATED, tmp_path / "m", moto.url, region="us-east-1")
    wrapper = module / "main.tf"
    many = ", ".join(f'k{i} = "v"' for i in range(46))
    wrapper.write_text(
        wrapper.read_text("utf-8").replace("}\n", f"  tags = {{ {many} }}\n}}\n"), "utf-8"
    )
    tf.init(module, moto.env())
    result = tf.terraform(["plan"], module, moto.env(), ok_codes=(1,))
    text = " ".join((result.stdout + result.stderr).split())
    assert "Invalid value for variable" in text and "at most 47 keys" in text, text


@pytest.mark.e2e
def test_a_caller_in_another_region_is_stopped_at_plan(
    moto: MotoServer, terraform_cli: tf.TerraformCLI, tmp_path: Path
) -> None:
    """The file's region is written into the module (endpoint service names, awslogs-region),
    so a caller whose provider is elsewhere must fail before anything is created."""
    module = write_moto_copy(GENERATED, tmp_path / "m", moto.url, region="eu-west-1")
    tf.init(module, moto.env())
    result = tf.terraform(["plan"], module, moto.env(), ok_codes=(1,))
    text = " ".join((result.stdout + result.stderr).split())
    assert "compiled for us-east-1" in text and "provider is in eu-west-1" in text, text
    assert not moto.client("batch", region="eu-west-1").describe_job_queues()["jobQueues"]


def test_diff_names_module_resources_as_the_calling_configuration_plans_them(
    tmp_path: Path,
) -> None:
    """A reviewer holds ``batchform diff`` beside the caller's ``terraform plan``, which names
    the module's resources ``module.<label>.<address>`` (the label the generated README's
    ``module`` block uses)."""
    base = EXAMPLE.parent / "fargate.yaml"  # the example extends it by a relative path
    (tmp_path / base.name).write_text(base.read_text(encoding="utf-8"), encoding="utf-8")
    text = EXAMPLE.read_text(encoding="utf-8")
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(text, encoding="utf-8")
    new.write_text(text + "job_queues: {etl: {priority: 7}}\n", encoding="utf-8")
    result = run_cli("diff", old, new, "--format", "json")
    assert result.returncode == 0, result.stderr
    addresses = [c["address"] for c in json.loads(result.stdout)["changes"]]
    assert addresses == ["module.etl_module.aws_batch_job_queue.etl"]
    readme = (GENERATED / "README.md").read_text(encoding="utf-8")
    assert 'module "etl_module"' in readme
