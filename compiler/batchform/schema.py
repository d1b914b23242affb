"""JSON Schema of the environment file, for editors (completion and checking as a file is typed).

The schema is generated from :class:`batchform.model.Environment`, so it can never disagree with
the model about key names, enumerations or nesting. Two things pydantic cannot see by itself are
added here:

- Units. Durations, memory and disk sizes are ``int`` fields whose *before* validators also
  accept strings (``15m``, ``32 GiB``); tag values are strings that also accept numbers. Without
  help the schema would say ``integer`` / ``string`` and an editor would underline ``timeout: 4h``.
  :class:`_EnvironmentSchema` recognises those validators and writes what they accept.
- Maps keyed by a short key (``compute_environments: {spot: ...}``): pydantic lists the key
  pattern under ``patternProperties``; ``additionalProperties: false`` is added beside it so a key
  the model would reject (``Spot``, ``my_ce``) is flagged by the editor too.

The schema checks shape only, exactly like the model; cross-references and AWS rules stay with
``batchform validate``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from batchform import model
from batchform.units import parse_disk_gib, parse_duration, parse_memory_mib

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:batchform:environment:v1"
SCHEMA_TITLE = "batchform environment file (version 1)"

_DURATION_PATTERN = r"^\s*\d+\s*[smhd]\s*$"
_SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([KkMmGgTt][Ii][Bb])?\s*$"


def _number_or_string(number: str, pattern: str, description: str) -> JsonSchemaValue:
    return {
        "anyOf": [{"type": number, "minimum": 0}, {"type": "string", "pattern": pattern}],
        "description": description,
    }


def _validator_function(schema: Any) -> Any:
    """The Python function of a ``function-before`` core schema (with or without ``info``)."""
    function = schema.get("function", {})
    return function.get("function")


class _EnvironmentSchema(GenerateJsonSchema):
    """Writes what the model's *before* validators accept instead of their output type."""

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> Any:
        function = _validator_function(schema)
        if function is parse_duration:
            return _number_or_string(
                "integer", _DURATION_PATTERN, "Seconds, or a number with a unit: 90s, 15m, 4h, 2d."
            )
        if function is parse_memory_mib:
            return _number_or_string(
                "number", _SIZE_PATTERN, "MiB, or a size with a unit: 512 MiB, 32 GiB, 1 TiB."
            )
        if function is parse_disk_gib:
            return _number_or_string(
                "number", _SIZE_PATTERN, "GiB, or a size with a unit: 50 GiB, 1 TiB."
            )
        if function is model._string:
            return {"type": ["string", "number"]}
        return super().function_before_schema(schema)


def _close_keyed_maps(node: Any) -> None:
    """Add ``additionalProperties: false`` beside every ``patternProperties`` (see module doc)."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_keyed_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_keyed_maps(value)


def environment_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an environment file."""
    generated = model.Environment.model_json_schema(
        mode="validation", schema_generator=_EnvironmentSchema
    )
    _close_keyed_maps(generated)
    generated.pop("title", None)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": SCHEMA_TITLE,
        "description": (
            "One AWS Batch environment, compiled to Terraform by `batchform compile`. "
            "Shape only: run `batchform validate` for references and AWS rules."
        ),
        **generated,
    }


def schema_text() -> str:
    """The schema as the committed ``docs/batchform.schema.json`` holds it: stable, sorted keys."""
    return json.dumps(environment_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
