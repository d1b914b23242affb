"""Terraform blocks that hand deployed resources to the compiled module.

- ``import`` blocks (Terraform >= 1.5,
  https://developer.hashicorp.com/terraform/language/import): one per adopted resource, to the
  address batchform generates for it (the type and the plan's label, read from the plan's own
  contexts so the two cannot disagree), with the id the AWS provider imports it by
  (hashicorp/terraform-provider-aws ``website/docs/r/batch_*.html.markdown``, "Import"
  sections: a compute environment by its name, a job queue, scheduling policy and job
  definition by their ARN; ``website/docs/r/scheduler_schedule.html.markdown``: a schedule by
  ``<group>/<name>``; ``iam_role`` and ``iam_role_policy``: a role by its name, an inline
  policy by ``<role name>:<policy name>``).
- ``removed`` blocks (Terraform >= 1.7,
  https://developer.hashicorp.com/terraform/language/resources/syntax#removing-resources) for
  ``--from-terraform``: pasted into the old configuration, they make its state forget the
  resources without destroying them.

The imports file lives beside the environment file, ``<file>.imports.tf`` (``research.yaml``
-> ``research.imports.tf``), and ``batchform compile`` copies it into ``generated/<name>/`` as
``imports.tf`` (:func:`placed_imports`): the import blocks reach the module on the first
compile after ``batchform import``, and leaving them there afterwards changes nothing (Terraform
skips an ``import`` block whose address is already in the state). Because ``compile`` copies
it into a module that is applied, the file must consist of ``import`` blocks and comments only,
and must be a regular file (a symbolic link is refused, as emit refuses them).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from batchform.codes import CODE_IMPORTS_FILE
from batchform.diagnostics import BatchformError, Diagnostic, Level
from batchform.hcl import comment_safe, hcl_string
from batchform.importer.result import Adopted
from batchform.model import Environment
from batchform.plan import build_plan

IMPORTS_HEADER = "# batchform import:"
"""The first words of an imports file: compile copies only files that start with them."""
IMPORTS_SUFFIX = ".imports.tf"
PLACED_NAME = "imports.tf"
MAX_IMPORTS_BYTES = 8 << 20

_CONTEXT_LABELS = {
    "aws_batch_compute_environment": ("compute_environments.tf", "compute_environments"),
    "aws_batch_scheduling_policy": ("scheduling_policies.tf", "policies"),
    "aws_batch_job_queue": ("job_queues.tf", "queues"),
    "aws_batch_job_definition": ("job_definitions.tf", "jobs"),
    "aws_cloudwatch_log_group": ("logs.tf", "log_groups"),
    "aws_scheduler_schedule": ("schedules.tf", "schedules"),
    "aws_iam_role": ("iam.tf", "roles"),
}
BY_NAME = ("aws_cloudwatch_log_group",)
"""Types whose plan label is not the key's (``job_<key>``): found by their name instead."""


def _plan_labels(env: Environment) -> dict[str, dict[str, str]]:
    """``{type: {label: name}}`` of what the plan generates (``import { to = ... }`` must name
    one of these labels)."""
    files = build_plan(env, "import").files
    out: dict[str, dict[str, str]] = {}
    for tf_type, (file, key) in _CONTEXT_LABELS.items():
        context: Any = files.get(file)
        entries = context.get(key, []) if isinstance(context, dict) else []
        out[tf_type] = {str(entry["label"]): str(entry.get("name", "")) for entry in entries}
    roles: Any = files.get("iam.tf")
    out["aws_iam_role_policy"] = {
        str(policy["label"]): str(policy["name"])
        for role in (roles.get("roles", []) if isinstance(roles, dict) else [])
        for policy in role.get("inline_policies", [])
    }
    return out


def addresses(env: Environment, adopted: list[Adopted]) -> list[tuple[str, Adopted]]:
    """``(address, resource)`` of every adopted resource still in ``env``, in file order."""
    from batchform.naming import label

    labels = _plan_labels(env)
    out: list[tuple[str, Adopted]] = []
    for item in adopted:
        known = labels.get(item.tf_type, {})
        if item.tf_type in BY_NAME:
            found = [lab for lab, name in known.items() if name == item.aws_name]
            wanted = found[0] if found else ""
        else:
            wanted = label(item.key)
        if wanted in known:
            out.append((f"{item.tf_type}.{wanted}", item))
    return out


def imports_text(env: Environment, adopted: list[Adopted], source: str) -> str:
    """The imports file for ``env``."""
    lines = [
        f"{IMPORTS_HEADER} adopts the deployed resources of {comment_safe(source)} into the",
        "# module `batchform compile` writes (Terraform >= 1.5). `batchform compile` copies this",
        f"# file into generated/{env.name}/imports.tf; see docs/importing.md.",
    ]
    for address, item in addresses(env, adopted):
        lines += [
            "",
            "import {",
            f"  to = {address}",
            f"  id = {hcl_string(item.import_id)}",
            "}",
        ]
    return "\n".join(lines) + "\n"


def removed_text(addresses_: list[str], source: str) -> str:
    """``removed`` blocks for the old configuration's addresses (Terraform >= 1.7)."""
    lines = [
        "# batchform import --from-terraform: paste into the old configuration (Terraform >= 1.7)",
        f"# once the resources are adopted by {comment_safe(source)}: its state then forgets",
        "# them without destroying them. Delete the old resource blocks at the same time.",
    ]
    for address in addresses_:
        lines += [
            "",
            "removed {",
            f"  from = {address}",
            "",
            "  lifecycle {",
            "    destroy = false",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


# --- compile: the imports file beside the environment file --------------------------------------

_BLOCK = re.compile(
    r"import \{\n"
    r"  to = [A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*\n"
    r'  id = "[^"\\$%\n]*"\n'
    r"\}\n?"
)


def imports_path(config: str | Path) -> Path:
    """``configs/research.yaml`` -> ``configs/research.imports.tf``."""
    path = Path(config)
    return path.with_name(f"{path.stem}{IMPORTS_SUFFIX}")


def _problem(path: Path, message: str, hint: str, line: int | None = None) -> BatchformError:
    diag = Diagnostic(
        CODE_IMPORTS_FILE,
        Level.ERROR,
        message,
        file=str(path),
        line=line,
        col=1 if line is not None else None,
        hint=hint,
    )
    return BatchformError([diag])


def _read_regular(path: Path) -> str | None:
    """The file's text, ``None`` when there is none; a symlink, a non-regular file, one too
    large or not UTF-8 is an error (never followed, never half-read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _problem(
            path,
            f"the imports file cannot be opened: {exc.strerror or exc}",
            "it must be a regular file, not a symbolic link; delete it if the environment is "
            "already adopted",
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_IMPORTS_BYTES:
            raise _problem(
                path,
                "the imports file is not a regular file of at most 8 MiB",
                "it is written by `batchform import`; write it again with --force",
            )
        data = handle.read(MAX_IMPORTS_BYTES + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _problem(
            path, "the imports file is not UTF-8", "write it again with --force"
        ) from None


def _only_import_blocks(text: str) -> int | None:
    """The 1-based line of the first line that is neither a comment, a blank line nor part of
    an ``import`` block as :func:`imports_text` writes it; ``None`` when all are."""
    position = 0
    line = 1
    while position < len(text):
        match = _BLOCK.match(text, position)
        if match:
            line += match.group(0).count("\n")
            position = match.end()
            continue
        end = text.find("\n", position)
        end = len(text) if end < 0 else end + 1
        current = text[position:end].strip()
        if current and not current.startswith("#"):
            return line
        position = end
        line += 1
    return None


def placed_imports(config: str | Path) -> dict[str, str]:
    """``{"imports.tf": text}`` when the environment file has an imports file beside it (see
    the module docstring), else ``{}``; an unusable file is a located BF580 error."""
    path = imports_path(config)
    text = _read_regular(path)
    if text is None:
        return {}
    if not text.startswith(IMPORTS_HEADER):
        raise _problem(
            path,
            f"the imports file does not start with `{IMPORTS_HEADER}`",
            "compile copies only files `batchform import` wrote; rename it if it is yours",
        )
    bad = _only_import_blocks(text)
    if bad is not None:
        raise _problem(
            path,
            "the imports file holds something other than `import` blocks and comments",
            "compile copies it into the module it writes, so only import blocks are accepted; "
            "write it again with `batchform import --force`",
            line=bad,
        )
    return {PLACED_NAME: text}
