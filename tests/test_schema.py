"""`batchform schema`: the JSON Schema editors use to complete and check environment files.

The schema must accept every bundled example (an editor that underlines a valid file is worse
than none), reject what the model rejects in shape (unknown keys, bad enumerations, malformed
keys), accept units both as numbers and as strings, and the committed copy in docs/ must be
what the model produces now.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from batchform.cli import main
from batchform.model import parse_environment
from batchform.overlay import load_chain, show
from batchform.schema import SCHEMA_DIALECT, SCHEMA_ID, environment_schema, schema_text
from tests.harness.yaml_files import read_yaml

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "configs").glob("*.yaml"))
COMMITTED = ROOT / "docs" / "batchform.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = environment_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def load(path: Path) -> dict[str, Any]:
    """The environment a file describes: an overlay (``extends``) is only part of one, so it is
    checked merged with its bases, as batchform reads it."""
    text = path.read_text(encoding="utf-8")
    data: dict[str, Any] = read_yaml(text)
    if "extends" in data:
        merged: dict[str, Any] = read_yaml(show(load_chain(str(path))))
        return merged
    return data


def errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    """Every message, including those inside ``anyOf`` branches (optional sections)."""
    found: list[str] = []
    pending = list(validator.iter_errors(data))
    while pending:
        error = pending.pop()
        found.append(error.message)
        pending.extend(error.context or [])
    return found


def test_schema_identifies_itself() -> None:
    schema = environment_schema()
    assert schema["$schema"] == SCHEMA_DIALECT
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"].startswith("batchform environment file")
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"version", "name", "region", "network"}


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    assert errors(validator, load(path)) == []


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ((), "regoin"),
        (("compute_environments", "spot"), "max_vcpu"),
        (("network", "vpc", "create"), "cidr_block"),
        (("job_definitions", "align", "retry"), "attempt"),
    ],
)
def test_unknown_key_is_rejected(
    validator: jsonschema.Draft202012Validator, where: tuple[str, ...], key: str
) -> None:
    data = load(ROOT / "configs" / "genomics.yaml")
    node = data
    for part in where:
        node = node[part]
    node[key] = 1
    assert any(f"'{key}' was unexpected" in m for m in errors(validator, data))
    # The model agrees: the schema never accepts what `batchform validate` rejects in shape.
    assert parse_environment(data)[0] is None


def test_malformed_map_key_is_rejected(validator: jsonschema.Draft202012Validator) -> None:
    data = load(ROOT / "configs" / "genomics.yaml")
    data["job_queues"]["High_Priority"] = data["job_queues"].pop("high")
    assert errors(validator, data)
    assert parse_environment(data)[0] is None


def test_enumerations_are_checked(validator: jsonschema.Draft202012Validator) -> None:
    data = load(ROOT / "configs" / "genomics.yaml")
    data["compute_environments"]["spot"]["type"] = "SPOTTY"
    assert any("SPOTTY" in m for m in errors(validator, data))


@pytest.mark.parametrize(
    ("path", "value", "valid"),
    [
        (("job_defaults", "timeout"), 3600, True),
        (("job_defaults", "timeout"), "12h", True),
        (("job_defaults", "timeout"), "12 hours", False),
        (("job_definitions", "align", "memory"), 32768, True),
        (("job_definitions", "align", "memory"), "32 GiB", True),
        (("job_definitions", "align", "memory"), "32 GB", False),
        (("launch_templates", "scratch-1tb", "scratch_volume", "size"), "1 TiB", True),
        (("launch_templates", "scratch-1tb", "scratch_volume", "size"), 1024, True),
        (("tags", "cost-center"), 4711, True),
    ],
)
def test_units_accept_numbers_and_strings(
    validator: jsonschema.Draft202012Validator,
    path: tuple[str, ...],
    value: object,
    valid: bool,
) -> None:
    data = copy.deepcopy(load(ROOT / "configs" / "genomics.yaml"))
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    assert (errors(validator, data) == []) is valid
    assert (parse_environment(data)[0] is not None) is valid


def test_committed_copy_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "docs/batchform.schema.json is stale: run `batchform schema -o docs/batchform.schema.json`"
    )


def test_cli_prints_and_writes_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed)["$id"] == SCHEMA_ID
    out = tmp_path / "schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == printed
