"""The bundled examples: golden output, determinism and real Terraform.

``generated/`` is committed; these tests keep it honest. Set ``UPDATE_GOLDEN=1`` to rewrite it
from ``configs/`` (then read the diff before committing it). That each example applies on moto
with an empty plan afterwards is ``test_apply_on_moto_then_plan_is_empty`` in
``tests/test_verify_e2e.py``, on the deployment the verify tests share.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from batchform.build import analyze, render_environment, source_label
from batchform.emit import check, emit
from tests.harness import terraform as tf
from tests.harness.cli import run_cli
from tests.harness.every_argument import PROVIDER5_CONFIGS, PROVIDER6_CONFIGS

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
GENERATED = ROOT / "generated"


def _render(config: Path) -> tuple[str, dict[str, str]]:
    analysis = analyze(config)
    errors = [d for d in analysis.diagnostics if d.level == "error"]
    assert analysis.env is not None and not errors, errors
    return analysis.env.name, render_environment(analysis.env, source_label(analysis))


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda p: p.stem)
def example(request: pytest.FixtureRequest) -> tuple[Path, str, dict[str, str]]:
    config: Path = request.param
    name, files = _render(config)
    return config, name, files


def test_there_are_at_least_three_examples() -> None:
    assert len(CONFIGS) >= 3


def test_examples_validate_without_warnings(example: tuple[Path, str, dict[str, str]]) -> None:
    config, _, _ = example
    diags = analyze(config).diagnostics
    assert [d for d in diags if d.level != "info"] == []


def test_generated_folder_is_current(example: tuple[Path, str, dict[str, str]]) -> None:
    config, name, files = example
    directory = GENERATED / name
    if os.environ.get("UPDATE_GOLDEN"):
        emit(files, directory)
    result = check(files, directory)
    assert not result.stale, (
        f"generated/{name}/ differs from {config.name} (UPDATE_GOLDEN=1 rewrites it):\n"
        + "".join(result.diffs.values())
    )


def test_output_has_no_machine_specific_text(example: tuple[Path, str, dict[str, str]]) -> None:
    _, _, files = example
    for name, text in files.items():
        assert str(ROOT) not in text, name
        assert not re.search(r"/(tmp|home|root|work)/", text), name
        assert not re.search(r"\b20\d\d-\d\d-\d\dT\d\d:", text), f"{name} holds a timestamp"
        assert "desired_vcpus" not in text, name


def test_compile_gives_identical_bytes_across_processes(tmp_path: Path) -> None:
    """Two compiles in fresh interpreters with different hash seeds write the same bytes."""
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = run_cli("compile", *CONFIGS, "-o", out, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(
            {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        )
    assert outputs[0] == outputs[1]
    assert outputs[0]


@pytest.mark.terraform
@pytest.mark.parametrize("config", PROVIDER5_CONFIGS, ids=lambda p: p.stem)
def test_terraform_validate_and_fmt(
    config: Path, tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    name, _ = _render(config)
    module = tmp_path / name
    shutil.copytree(GENERATED / name, module)
    tf.fmt_check(module)
    tf.init(module, backend=False)
    tf.validate(module)


@pytest.mark.terraform
@pytest.mark.parametrize("config", PROVIDER6_CONFIGS, ids=lambda p: p.stem)
def test_provider6_example_is_fmt_clean(
    config: Path, tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    """`terraform fmt` needs no provider; `init` and `validate` need a 6.x provider this machine
    lacks, so tests/test_provider_schema.py checks the output against the 6.x schemas."""
    name, _ = _render(config)
    module = tmp_path / name
    shutil.copytree(GENERATED / name, module)
    tf.fmt_check(module)
