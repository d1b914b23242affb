"""``batchform import``: read, map, check exactness, write the file and its imports file.

Exit codes: 0 the adoption is exact (the first apply only imports, and adds batchform's own
tags); 2 something was left out (listed at the end of the file, at its place in it, and on
standard output) or the written file does not validate; 1 nothing was written (the account
could not be read, an output exists without ``--force``, a symbolic link was in the way).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from batchform import naming
from batchform.diagnostics import Level
from batchform.hcl import comment_safe
from batchform.importer import blocks, exactness, jobs, schedules, yamltext
from batchform.importer.assemble import adopt
from batchform.importer.read import Progress, ReadError, Snapshot, read_account, scheduler_role
from batchform.importer.result import Adoption
from batchform.importer.terraform import (
    OldConfiguration,
    TerraformReadError,
    read_old,
    removed_addresses,
)
from batchform.verify import fetch
from batchform.verify.clients import Clients, ReadOnlyViolation, make_clients

REMOVED_SUFFIX = ".removed.tf"
"""``research.removed.tf``: the ``removed`` blocks to paste into the old configuration."""

EXIT_EXACT = 0
EXIT_FAILED = 1
EXIT_LEFT_OUT = 2


class WriteRefused(Exception):
    """An output path that must not be written (exists without --force, a symlink)."""


@dataclass(frozen=True)
class Request:
    """What the command line asked for."""

    region: str
    output: Path
    profile: str | None = None
    endpoint_url: str | None = None
    queues: Sequence[str] = ()
    job_definitions: Sequence[str] = ()
    name: str | None = None
    force: bool = False
    from_terraform: Path | None = None


@dataclass
class Outcome:
    """What was written and what the user must know."""

    adoption: Adoption
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_EXACT if self.adoption.exact and not self.errors else EXIT_LEFT_OUT


# --- writing -------------------------------------------------------------------------------


def check_target(path: Path, force: bool) -> None:
    """Refuse a symlink always (it would redirect the write), an existing file without
    ``--force``, and a missing directory."""
    if path.is_symlink():
        raise WriteRefused(f"{path} is a symbolic link: batchform import never writes through one")
    if path.exists() and not force:
        raise WriteRefused(f"{path} exists: pass --force to replace it")
    if path.exists() and not path.is_file():
        raise WriteRefused(f"{path} is not a regular file")
    if not path.parent.is_dir():
        raise WriteRefused(f"the directory {path.parent} does not exist")


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to a new temporary beside ``path`` (``O_EXCL|O_NOFOLLOW``, never through
    an existing name), then rename it over ``path``: a reader never sees half a file, and a
    symlink planted after :func:`check_target` is replaced, not followed."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.batchform-tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temp, flags, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# --- the file's text -------------------------------------------------------------------------


def _comments(adoption: Adoption) -> dict[tuple[str | int, ...], list[str]]:
    out: dict[tuple[str | int, ...], list[str]] = {}
    for item in adoption.left_out:
        out.setdefault(item.path, []).append(f"left out: {item.what}: {item.why}")
    return out


def _summary(snapshot: Snapshot) -> str:
    return (
        f"{len(snapshot.queues)} job queue(s), {len(snapshot.compute_environments)} compute "
        f"environment(s), {len(snapshot.policies)} scheduling policy(ies), "
        f"{len(snapshot.job_definitions)} job definition(s), {len(snapshot.schedules)} "
        "schedule(s)"
    )


def environment_text(adoption: Adoption, snapshot: Snapshot, imports_name: str) -> str:
    header = [
        f"Imported by `batchform import` from {snapshot.region}: {_summary(snapshot)}.",
        "AWS names are kept (`aws_name`, or the prefix Terraform made a name from), so nothing",
        f"is renamed. `batchform compile` copies the import blocks of {imports_name} into the",
        "module; `terraform plan` then shows the imports (docs/importing.md says what to check",
        "before applying).",
    ]
    if adoption.document.get("job_definitions"):
        header += ["", *jobs.KEEP_OLD_REVISIONS]
    footer: list[str] = []
    if adoption.left_out:
        footer = [
            f"Left out ({len(adoption.left_out)}): what this file cannot hold as deployed; the",
            "first `terraform apply` changes it. Each is also written where it belongs above.",
            *(f"- {item.line()}" for item in adoption.left_out),
        ]
    if adoption.creates:
        footer += [
            *([""] if footer else []),
            f"Created by the first apply ({len(adoption.creates)}): resources batchform manages",
            "that no import block adopts:",
            *_grouped(adoption.creates),
        ]
    return yamltext.dump(adoption.document, header, _comments(adoption), footer)


def _grouped(addresses: list[str]) -> list[str]:
    """``- 3 aws_cloudwatch_log_group: job_a, job_b, job_c`` per resource type."""
    by_type: dict[str, list[str]] = {}
    for address in addresses:
        tf_type, label = address.split(".", 1)
        by_type.setdefault(tf_type, []).append(label)
    return [f"- {len(labels)} {t}: {', '.join(labels)}" for t, labels in by_type.items()]


# --- the command -----------------------------------------------------------------------------


def _progress(stream: TextIO) -> Progress | None:
    if not stream.isatty():
        return None

    def say(message: str) -> None:
        stream.write(f"batchform import: {message}...\n")
        stream.flush()

    return say


class Failed(Exception):
    """Nothing was written; the message says why (exit 1)."""


def _outputs(request: Request) -> tuple[Path, Path]:
    """The imports file and the removed-blocks file beside ``-o``, checked like it."""
    imports_file = blocks.imports_path(request.output)
    removed_file = request.output.with_name(f"{request.output.stem}{REMOVED_SUFFIX}")
    try:
        check_target(request.output, request.force)
        check_target(imports_file, request.force)
        if request.from_terraform is not None:
            check_target(removed_file, request.force)
    except WriteRefused as exc:
        raise Failed(f"{exc}; nothing was written") from None
    return imports_file, removed_file


def _read(request: Request, err: TextIO) -> tuple[Snapshot, OldConfiguration | None, Clients]:
    """The old Terraform configuration (with --from-terraform), then the account."""
    old: OldConfiguration | None = None
    schedules: Sequence[str] | None = None  # every schedule submitting to what is read
    queues, job_definitions = tuple(request.queues), tuple(request.job_definitions)
    try:
        if request.from_terraform is not None:
            old = read_old(request.from_terraform)
            queues += tuple(old.names("aws_batch_job_queue"))
            schedules = old.names("aws_scheduler_schedule")  # only those it manages
            job_definitions += tuple(old.names("aws_batch_job_definition"))
            if not queues and not job_definitions:
                raise ReadError(f"{request.from_terraform} manages no job queue or job definition")
        clients = make_clients(request.profile, request.region, request.endpoint_url)
        snapshot = read_account(
            clients,
            request.region,
            queues,
            job_definitions,
            _progress(err),
            every_job_definition=old is None,
            schedule_names=schedules,
        )
    except (ReadError, ReadOnlyViolation, TerraformReadError) as exc:
        raise Failed(f"{exc}; nothing was written") from None
    except (ClientError, BotoCoreError, ValueError) as exc:
        raise Failed(f"reading the account failed: {exc}") from None
    if not snapshot.queues and not snapshot.job_definitions:
        raise Failed(f"no job queue and no job definition in {request.region}")
    return snapshot, old, clients


def _adopt(request: Request, snapshot: Snapshot, clients: Clients) -> Adoption:
    """The document, with the log groups batchform would name adopted too."""
    adoption = adopt(snapshot, request.name)
    if adoption.document.get("job_definitions"):
        name = str(adoption.document["name"])
        try:
            groups = fetch.log_groups(clients.logs, naming.log_group_name(name, ""))
        except (ClientError, BotoCoreError) as exc:
            raise Failed(f"reading the log groups failed: {exc}") from None
        jobs.adopt_log_groups(adoption, name, groups)
    if adoption.document.get("schedules") and not schedules.scheduler_role_adopted(adoption):
        _adopt_named_scheduler_role(clients, snapshot, adoption)
    return adoption


def _adopt_named_scheduler_role(clients: Clients, snapshot: Snapshot, adoption: Adoption) -> None:
    """A role named as batchform names its scheduler role (``<name>-scheduler``, known only
    now that the environment has its name) that no kept schedule assumes: adopted too, since
    the first apply could not create it (the name is taken); the schedules' role change is
    listed by exactness."""
    name = naming.role_name(str(adoption.document["name"]), schedules.SCHEDULER_PURPOSE)
    try:
        role = scheduler_role(clients.iam, name)
    except (ClientError, BotoCoreError) as exc:
        raise Failed(f"reading the role {name} failed: {exc}") from None
    if role is not None:
        snapshot.roles[str(role["Arn"])] = role
        schedules.adopt_role_record(adoption, role)


def run(request: Request, out: TextIO, err: TextIO) -> int:
    """Run the command; print the summary on ``out`` and problems on ``err``."""
    try:
        imports_file, removed_file = _outputs(request)
        snapshot, old, clients = _read(request, err)
        adoption = _adopt(request, snapshot, clients)
        try:
            env = exactness.fit_to_model(adoption)
        except exactness.NotAdoptable as exc:
            raise Failed(f"{exc}; nothing was written") from None
    except Failed as exc:
        err.write(f"batchform import: error: {exc}\n")
        return EXIT_FAILED
    pairs = blocks.addresses(env, adoption.adopted)
    exactness.compare(env, snapshot, adoption, {address for address, _ in pairs})
    removed = None
    if old is not None:
        adopted = {(item.tf_type, item.aws_name) for _, item in pairs}
        removed = _removed(old, adoption, adopted, request.output.name)
    outcome = Outcome(adoption)
    write_file(request.output, environment_text(adoption, snapshot, imports_file.name))
    write_file(imports_file, blocks.imports_text(env, adoption.adopted, request.output.name))
    outcome.files = [request.output, imports_file]
    if removed is not None:
        write_file(removed_file, removed)
        outcome.files.append(removed_file)
    outcome.errors = _validate(request.output, err)
    _report(outcome, snapshot, out)
    return outcome.exit_code


def _removed(
    old: OldConfiguration, adoption: Adoption, adopted: set[tuple[str, str]], source: str
) -> str:
    """The ``removed`` blocks for the old configuration; what it manages but this import did
    not adopt (or cannot remove cleanly) is listed as left out."""
    addresses, notes = removed_addresses(old, adopted)
    for note in [*old.notes, *notes]:
        resource, _, why = note.partition(": ")
        adoption.leave_out((), resource, "in the old configuration", why)
    for r in old.resources:
        if r.name and (r.tf_type, r.name) not in adopted:
            adoption.leave_out(
                (),
                r.address,
                f"{r.tf_type} {r.name}",
                "managed by the old configuration but not adopted (not found, or not "
                "expressible); it stays there",
            )
    return blocks.removed_text(addresses, source)


def _validate(path: Path, err: TextIO) -> list[str]:
    """Check the written file as ``batchform validate`` would; errors are printed and make
    the import inexact (compile would refuse the file)."""
    from batchform.build import analyze
    from batchform.report import diagnostics as report

    analysis = analyze(path)
    shown = [d for d in analysis.diagnostics if d.level in (Level.ERROR, Level.WARNING)]
    if shown:
        err.write(report.format_text(shown))
    return [d.message for d in analysis.diagnostics if d.level == Level.ERROR]


def _report(outcome: Outcome, snapshot: Snapshot, out: TextIO) -> None:
    adoption = outcome.adoption
    out.write(f"imported {_summary(snapshot)}\n")
    for path in outcome.files:
        out.write(f"wrote {path}\n")
    out.write(f"{len(adoption.adopted)} resource(s) to adopt with import blocks\n")
    if snapshot.skipped_schedules:
        out.write(
            f"not imported ({len(snapshot.skipped_schedules)}): SubmitJob schedules of other "
            "queues or job definitions\n"
        )
        for line in snapshot.skipped_schedules:
            out.write(f"  . {comment_safe(line)}\n")
    if adoption.left_out:
        out.write(f"left out ({len(adoption.left_out)}): the first apply changes these\n")
        for item in adoption.left_out:
            out.write(f"  - {comment_safe(item.line())}\n")
    if adoption.creates:
        out.write(f"created by the first apply ({len(adoption.creates)}): no import adopts these\n")
        for address in adoption.creates:
            out.write(f"  + {address}\n")
    if outcome.errors:
        out.write(
            f"the written file has {len(outcome.errors)} error(s): fix them before compiling\n"
        )
    if outcome.exit_code == EXIT_EXACT:
        out.write(
            "exact: the first terraform plan only imports, adds batchform's tags and moves each "
            "queue's compute environments into compute_environment_order (docs/importing.md)\n"
        )


def main(request: Request) -> int:
    return run(request, sys.stdout, sys.stderr)
