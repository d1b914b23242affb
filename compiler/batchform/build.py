"""Runs the stages in order: load -> model -> checks for each file, the cross-file checks of the
files given together, then plan -> render.

Kept free of output, of writing files and of process-wide state: the CLI decides what to print
and how the garbage collector runs (``compiler/batchform/gc_policy.py``), and ``emit`` writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath

from batchform.checks import run_checks
from batchform.diagnostics import (
    BatchformError,
    Diagnostic,
    Level,
    has_errors,
    sort_diagnostics,
    with_location,
)
from batchform.loader import Document, read_source
from batchform.model import Environment, parse_environment
from batchform.overlay import Reader, load_chain, load_chain_text


@dataclass
class Analysis:
    """What is known about one environment file after loading, modelling and checking it."""

    file: str
    document: Document | None = None
    env: Environment | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    placed: dict[str, str] = field(default_factory=dict)
    """Files ``compile`` places in the module beside what it renders: ``imports.tf`` when
    ``batchform import`` wrote one beside the environment file (importer/blocks.py)."""

    def failed(self, strict: bool = False) -> bool:
        return self.env is None or has_errors(self.diagnostics, strict)


def analyze_document(doc: Document, ignore: tuple[str, ...] = ()) -> Analysis:
    env, diags = parse_environment(doc.data)
    if env is not None:
        diags = [*run_checks(env, ignore), *collisions_in_file(doc, env)]
    located = [with_location(d, doc.file, doc.positions) for d in diags]
    return Analysis(doc.file, doc, env, sort_diagnostics(located))


def analyze(path: str | FsPath, ignore: tuple[str, ...] = ()) -> Analysis:
    """Load, model and check one file. Never raises for bad input: problems are diagnostics."""
    try:
        doc = load_chain(str(path))
    except BatchformError as exc:
        return Analysis(str(path), diagnostics=sort_diagnostics(exc.diagnostics))
    analysis = analyze_document(doc, ignore)
    # Read with the file, so that `validate` reports an unusable imports file (BF580) as
    # `compile` does, and `compile` stops before it writes anything.
    from batchform.importer.blocks import placed_imports

    try:
        analysis.placed = placed_imports(path)
    except BatchformError as exc:
        analysis.diagnostics = sort_diagnostics([*analysis.diagnostics, *exc.diagnostics])
    return analysis


def analyze_text(
    text: str, file: str = "<input>", ignore: tuple[str, ...] = (), read: Reader = read_source
) -> Analysis:
    """As :func:`analyze` for text in hand; ``read`` reads the bases it extends, if any."""
    try:
        doc = load_chain_text(text, file, read)
    except BatchformError as exc:
        return Analysis(file, diagnostics=sort_diagnostics(exc.diagnostics))
    return analyze_document(doc, ignore)


def source_label(a: Analysis) -> str:
    """The environment file's name as the generated header states it, with the chain of bases
    it extends (``dev.yaml (extends staging.yaml -> prod.yaml)``), paths relative to it."""
    label = FsPath(a.file).name
    bases = a.document.sources[1:] if a.document is not None else ()
    if not bases:
        return label
    here = os.path.dirname(a.file) or "."
    chain = " -> ".join(os.path.relpath(base, here).replace(os.sep, "/") for base in bases)
    return f"{label} (extends {chain})"


def render_environment(env: Environment, source_name: str) -> dict[str, str]:
    """Plan and render a checked environment: ``{file name: text}`` for ``generated/<name>/``."""
    from batchform.plan import build_plan
    from batchform.render import render_plan

    return render_plan(build_plan(env, source_name))


# --- several files compiled together -----------------------------------------------------------

# Sections whose keys become ``<name>-<key>`` AWS names (compiler/batchform/naming.py), with the
# kind of
# resource a user would recognise. Batch, EC2 and launch-template names are unique per region,
# IAM role names per account.
NAMED_SECTIONS = (
    ("compute_environments", "compute environment"),
    ("job_queues", "job queue"),
    ("job_definitions", "job definition"),
    ("scheduling_policies", "scheduling policy"),
    ("launch_templates", "launch template"),
    ("schedules", "schedule"),
)


@dataclass(frozen=True)
class _Named:
    kind: str
    scope: str  # the region, or "global" for IAM
    path: tuple[str | int, ...]
    what: str  # "job queue 'hello'"
    name: str = ""  # the name as written, where the identity compares it without case


def _aws_names(env: Environment) -> list[tuple[tuple[str, str, str], _Named]]:
    """``((kind, scope, AWS name), where it comes from)`` for every AWS name an environment
    makes, in file order; one name twice is a collision inside the file."""
    from batchform.derive import generated_role_names

    out: list[tuple[tuple[str, str, str], _Named]] = []
    for section, kind in NAMED_SECTIONS:
        for key in getattr(env, section):
            name, path = _chosen_name(env, section, key)
            # a CE's prefix never equals another CE's exact name: Terraform appends a suffix
            prefixed = (
                section == "compute_environments" and env.compute_environments[key].aws_name is None
            )
            space = "compute environment name prefix" if prefixed else kind
            what = f"{kind} '{key}'"
            out.append(((space, env.region, name), _Named(space, env.region, path, what)))
    out += _security_group_names(env)
    for purpose, name in generated_role_names(env):
        out.append(
            (
                ("IAM role", "global", name),
                _Named("IAM role", "global", ("name",), f"the generated IAM role for '{purpose}'"),
            )
        )
    return out


def _vpc_scope(env: Environment) -> str:
    """Where security group names must be unique: the VPC. An existing VPC is one scope for
    every file that names it; a VPC a file creates is its own."""
    existing = env.network.vpc.existing
    if existing is not None:
        return f"{env.region}/{existing.vpc_id}"
    return f"{env.region}/vpc of environment {env.name}"


def _security_group_names(env: Environment) -> list[tuple[tuple[str, str, str], _Named]]:
    """The groups the file creates (batchform's default one included) and the groups batchform
    adds itself (VPC endpoints, EFS mount targets), by name. EC2 compares group names without
    case ("Names are case-insensitive and must be unique within the VPC", CreateSecurityGroup),
    so the name in the identity is lower-cased."""
    from batchform.derive import ENDPOINTS_SG_KEY, MOUNT_TARGETS_SG_KEY, interface_endpoints
    from batchform.naming import aws_name

    kind, scope = "security group", _vpc_scope(env)
    out: list[tuple[tuple[str, str, str], _Named]] = []
    for key in env.security_group_definitions():
        name, path = _chosen_name(env, "security_groups", key)
        named = _Named(kind, scope, path, f"{kind} '{key}'", name)
        out.append(((kind, scope, name.lower()), named))
    own = [(ENDPOINTS_SG_KEY, bool(interface_endpoints(env)))]
    own.append((MOUNT_TARGETS_SG_KEY, env.network.vpc.create is not None and bool(env.network.efs)))
    for key, made in own:
        if made and key not in env.network.security_groups:  # that key is BF218's or BF258's
            name = aws_name(env.name, key)
            what = f"batchform's security group '{key}'"
            out.append(((kind, scope, name.lower()), _Named(kind, scope, ("name",), what, name)))
    return out


def _chosen_name(env: Environment, section: str, key: str) -> tuple[str, tuple[str | int, ...]]:
    """The AWS name (a compute environment's exact name or prefix) of one keyed resource, and
    the path of what chose it (:func:`batchform.naming.name_source`); a launch template's name
    is always ``<name>-<key>``."""
    from batchform import naming

    if section not in naming.NAMED_SECTIONS:
        return naming.aws_name(env.name, key), (section, key)
    path = naming.name_source(env, section, key)
    if section == "compute_environments":
        exact = naming.compute_environment_name(env, key)
        return exact or naming.compute_environment_prefix(env, key) or "", path
    return naming.resource_name(env, section, key), path


def collisions_in_file(doc: Document, env: Environment) -> list[Diagnostic]:
    """Two resources of one kind in one file with one AWS name (``aws_name`` or
    ``aws_name_prefix`` chosen so, or matching another's ``<name>-<key>``): the second would
    fail to create or, for job definitions, register revisions over the first. Each later one
    is in error at the key that makes its name, naming the first."""
    from batchform.diagnostics import locate
    from batchform.naming import CODE_NAME_COLLISION

    seen: dict[tuple[str, str, str], _Named] = {}
    out: list[Diagnostic] = []
    for ident, named in _aws_names(env):
        first = seen.setdefault(ident, named)
        if first is named:
            continue
        pos = locate(first.path, doc.positions)
        where = f" at {pos.file or doc.file}:{pos.line}:{pos.col}" if pos else ""
        out.append(
            Diagnostic(
                CODE_NAME_COLLISION,
                Level.ERROR,
                f"{named.what} gets the AWS name '{named.name or ident[2]}', which "
                f"{first.what}{where} also gets"
                + (
                    f" ('{first.name}': EC2 compares group names without case)"
                    if first.name != named.name
                    else ""
                ),
                path=named.path,
                hint="give each resource of a kind its own aws_name (or key)",
            )
        )
    return out


def _where(a: Analysis, path: tuple[str | int, ...]) -> str:
    from batchform.diagnostics import locate

    pos = locate(path, a.document.positions) if a.document is not None else None
    return f"{pos.file or a.file}:{pos.line}:{pos.col}" if pos else a.file


def analyze_files(paths: Sequence[str | FsPath], ignore: tuple[str, ...] = ()) -> list[Analysis]:
    """Load, model and check each file, then check the files against each other (what one
    ``validate`` or ``compile`` of several files must refuse). Never raises for bad input."""
    analyses = [analyze(path, ignore) for path in paths]
    cross_file_diagnostics(analyses)
    return analyses


def cross_file_diagnostics(analyses: list[Analysis]) -> None:
    """Add the cross-file errors to the later of each pair of files that collide.

    Each file is checked on its own first; files that failed are left out. A file whose
    environment name is taken already gets that one error only: every one of its AWS names
    would collide too, and a flood of them would hide the cause.
    """
    valid = [a for a in analyses if a.env is not None and not a.failed()]
    found: dict[int, list[Diagnostic]] = {}
    duplicates = _duplicate_environment_names(valid)
    for a, diag in duplicates:
        found.setdefault(id(a), []).append(diag)
    named_once = [a for a in valid if id(a) not in found]
    for a, diag in _colliding_aws_names(named_once):
        found.setdefault(id(a), []).append(diag)
    for a in valid:
        if id(a) in found:
            assert a.document is not None
            located = [with_location(d, a.file, a.document.positions) for d in found[id(a)]]
            a.diagnostics = sort_diagnostics([*a.diagnostics, *located])


def _duplicate_environment_names(valid: list[Analysis]) -> Iterator[tuple[Analysis, Diagnostic]]:
    """Two files with one environment name would write the same ``generated/<name>/`` and
    manage the same AWS resources: the later file is in error, naming the earlier one."""
    from batchform.naming import CODE_NAME_COLLISION

    first: dict[str, Analysis] = {}
    for a in valid:
        assert a.env is not None
        earlier = first.setdefault(a.env.name, a)
        if earlier is a:
            continue
        yield (
            a,
            Diagnostic(
                CODE_NAME_COLLISION,
                Level.ERROR,
                f"environment name '{a.env.name}' is also used by "
                f"{_where(earlier, ('name',))}; both would write the output directory "
                f"{a.env.name}/ and the same AWS resources",
                path=("name",),
                hint="give each environment file its own name",
            ),
        )


def _colliding_aws_names(valid: list[Analysis]) -> Iterator[tuple[Analysis, Diagnostic]]:
    """Two files whose ``<name>-<key>`` names coincide (``adv`` + ``test-hello`` and
    ``adv-test`` + ``hello``) would create, or silently re-register over, each other's
    resources: the later file is in error at the key, naming the earlier one's."""
    from batchform.naming import CODE_NAME_COLLISION

    seen: dict[tuple[str, str, str], tuple[Analysis, _Named]] = {}
    for a in valid:
        assert a.env is not None
        for ident, named in _aws_names(a.env):
            other = seen.setdefault(ident, (a, named))
            if other[0] is a:
                continue
            first, first_named = other
            yield (
                a,
                Diagnostic(
                    CODE_NAME_COLLISION,
                    Level.ERROR,
                    f"{named.what} gets the AWS name '{ident[2]}', which {first_named.what} "
                    f"of {_where(first, first_named.path)} also gets",
                    path=named.path,
                    hint="rename the key, the environment or the aws_name so the AWS names differ",
                ),
            )
