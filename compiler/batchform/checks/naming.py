"""Names the file chooses (``aws_name``, ``aws_name_prefix``): BF560-BF579 rules of issue 12.

The AWS name pattern of each kind is BF400, a compute environment prefix's length BF321, and
two resources of one kind with one name BF493 (``compiler/batchform/build.py``, which also
compares the files compiled together).
"""

from __future__ import annotations

from collections.abc import Iterator

from batchform.checks import Finding, rule
from batchform.diagnostics import Level
from batchform.model import Environment
from batchform.naming import NAMED_BATCH_SECTIONS, named


@rule("BF560", Level.ERROR, "both aws_name and aws_name_prefix are set")
def aws_name_or_prefix(env: Environment) -> Iterator[Finding]:
    """An exact name and a prefix contradict each other: say which one wins instead of
    silently dropping one."""
    for section in NAMED_BATCH_SECTIONS:
        for key in getattr(env, section):
            entry = named(env, section, key)
            if entry.aws_name is not None and entry.aws_name_prefix is not None:
                yield Finding(
                    (section, key, "aws_name_prefix"),
                    f"{section}.{key} sets both aws_name '{entry.aws_name}' and "
                    f"aws_name_prefix '{entry.aws_name_prefix}'",
                    "keep aws_name for an exact name (to adopt an existing resource), or "
                    "aws_name_prefix for a name made from a prefix and the key",
                )
