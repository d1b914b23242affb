"""Rules of issue 12's compute, IAM and naming keys (BF560-BF579): names the file chooses
(``aws_name``, ``aws_name_prefix``), existing launch templates, and IAM path, boundary and
managed policies.

The AWS name pattern of each kind is BF400, a compute environment prefix's length BF321, and
two resources of one kind with one name BF493 (``compiler/batchform/build.py``, which also
compares the files compiled together).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from batchform.checks import Finding, rule
from batchform.diagnostics import Level
from batchform.model import Environment
from batchform.naming import NAMED_BATCH_SECTIONS, named


@rule("BF560", Level.ERROR, "both aws_name and aws_name_prefix are set")
def aws_name_or_prefix(env: Environment) -> Iterator[Finding]:
    """An exact name and a prefix contradict each other; rather than silently prefer one,
    ask for the one the author meant."""
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


# --- existing launch templates ---------------------------------------------------------------

LAUNCH_TEMPLATE_ID = re.compile(r"^lt-([0-9a-f]{8}|[0-9a-f]{17})\Z")
# EC2 CreateLaunchTemplate, LaunchTemplateName: 3-128 characters of [a-zA-Z0-9().-/_]
LAUNCH_TEMPLATE_NAME = re.compile(r"^[a-zA-Z0-9().\-/_]{3,128}\Z")
VERSION_NUMBER = re.compile(r"^[1-9][0-9]{0,17}\Z")
LT_SPEC_DOC = (
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_LaunchTemplateSpecification.html"
)


@rule("BF561", Level.ERROR, "an existing launch template is not pinned to a version number")
def existing_launch_template_version(env: Environment) -> Iterator[Finding]:
    """Batch resolves ``$Latest`` and ``$Default`` once, when the compute environment is
    created (or its infrastructure updated): a new version of the template never reaches the
    CE by itself, and nothing in the plan would show it (API_LaunchTemplateSpecification)."""
    for key, ce in env.compute_environments.items():
        lt = ce.existing_launch_template
        if lt is None:
            continue
        path = ("compute_environments", key, "launch_template")
        hint = (
            'write the version number you tested, e.g. version: "7"; Batch resolves $Latest '
            "and $Default only when the compute environment is created or updated, so later "
            f"versions would never reach it ({LT_SPEC_DOC})"
        )
        if lt.version is None:
            yield Finding(
                path,
                f"the existing launch template of compute environment '{key}' has no version",
                hint,
            )
        elif not VERSION_NUMBER.match(lt.version):
            yield Finding(
                (*path, "version"),
                f"launch template version '{lt.version}' is not a version number",
                hint,
            )


@rule("BF562", Level.ERROR, "an existing launch template's id or name is malformed")
def existing_launch_template_reference(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        lt = ce.existing_launch_template
        if lt is None:
            continue
        path = ("compute_environments", key, "launch_template")
        if lt.id is not None and not LAUNCH_TEMPLATE_ID.match(lt.id):
            yield Finding(
                (*path, "id"),
                f"'{lt.id}' is not a launch template id",
                "ids are lt- and 17 hexadecimal digits (lt-0123456789abcdef0); use name: for "
                "a template's name",
            )
        if lt.name is not None and not LAUNCH_TEMPLATE_NAME.match(lt.name):
            yield Finding(
                (*path, "name"),
                f"'{lt.name}' is not a launch template name",
                "names are 3-128 letters, digits and ( ) . - / _ (EC2 CreateLaunchTemplate)",
            )
