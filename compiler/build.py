"""Runs the stages in order for one file: load -> model -> checks, then plan -> render.

Kept free of output and of writing files: the CLI decides what to print and ``emit`` writes.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FsPath

from compiler.checks import run_checks
from compiler.diagnostics import (
    BatchformError,
    Diagnostic,
    has_errors,
    sort_diagnostics,
    with_location,
)
from compiler.loader import Document, read_source
from compiler.model import Environment, parse_environment
from compiler.overlay import Reader, load_chain, load_chain_text


@dataclass
class Analysis:
    """What is known about one environment file after loading, modelling and checking it."""

    file: str
    document: Document | None = None
    env: Environment | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def failed(self, strict: bool = False) -> bool:
        return self.env is None or has_errors(self.diagnostics, strict)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while one file goes through the stages.

    Why: a large file builds hundreds of thousands of objects that all stay alive until the
    stage ends (YAML nodes, the positions table, models, plan contexts), and every full
    collection re-scans all of them without finding garbage: with 5000 job definitions half of
    the compile's CPU time went to the collector (benchmarks/README.md). Reference counting
    still frees everything as usual; cyclic garbage waits for the collector to be back on.
    Nests; leaves the collector off if the caller had turned it off.

    On the way out, whatever the stages left alive (the document, the model, the rendered
    texts) is moved straight to the oldest generation: it was never scanned, so the first
    young-generation collection after the pause would otherwise walk all of it at once (0.4 s
    with 5000 job definitions, paid by whatever ran next, e.g. emit) only to promote it. The
    oldest generation is still collected as usual, so cyclic garbage among it is not leaked.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:  # leave a caller's own gc.freeze() alone
                gc.freeze()  # every tracked object -> the permanent generation...
                gc.unfreeze()  # ...and back into the oldest one, without a scan
            gc.enable()


def analyze_document(doc: Document, ignore: tuple[str, ...] = ()) -> Analysis:
    with collector_paused():
        env, diags = parse_environment(doc.data)
        if env is not None:
            diags = run_checks(env, ignore)
        located = [with_location(d, doc.file, doc.positions) for d in diags]
        return Analysis(doc.file, doc, env, sort_diagnostics(located))


def analyze(path: str | FsPath, ignore: tuple[str, ...] = ()) -> Analysis:
    """Load, model and check one file. Never raises for bad input: problems are diagnostics."""
    with collector_paused():
        try:
            doc = load_chain(str(path))
        except BatchformError as exc:
            return Analysis(str(path), diagnostics=sort_diagnostics(exc.diagnostics))
        return analyze_document(doc, ignore)


def analyze_text(
    text: str, file: str = "<input>", ignore: tuple[str, ...] = (), read: Reader = read_source
) -> Analysis:
    """As :func:`analyze` for text in hand; ``read`` reads the bases it extends, if any."""
    with collector_paused():
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
    from compiler.plan import build_plan
    from compiler.render import render_plan

    with collector_paused():
        return render_plan(build_plan(env, source_name))


# --- several files compiled together -----------------------------------------------------------

# Sections whose keys become ``<name>-<key>`` AWS names (compiler/naming.py), with the kind of
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


def _aws_names(env: Environment) -> dict[tuple[str, str, str], _Named]:
    """{(kind, scope, AWS name): where it comes from} for every AWS name an environment makes."""
    from compiler.derive import generated_role_names
    from compiler.naming import aws_name

    out: dict[tuple[str, str, str], _Named] = {}
    for section, kind in NAMED_SECTIONS:
        for key in getattr(env, section):
            name = aws_name(env.name, key)
            out[(kind, env.region, name)] = _Named(
                kind, env.region, (section, key), f"{kind} '{key}'"
            )
    for key in env.network.security_groups:
        kind = "security group"
        out[(kind, env.region, aws_name(env.name, key))] = _Named(
            kind, env.region, ("network", "security_groups", key), f"{kind} '{key}'"
        )
    for purpose, name in generated_role_names(env):
        out[("IAM role", "global", name)] = _Named(
            "IAM role", "global", ("name",), f"the generated IAM role for '{purpose}'"
        )
    return out


def _where(a: Analysis, path: tuple[str | int, ...]) -> str:
    from compiler.diagnostics import locate

    pos = locate(path, a.document.positions) if a.document is not None else None
    return f"{pos.file or a.file}:{pos.line}:{pos.col}" if pos else a.file


def cross_file_diagnostics(analyses: list[Analysis]) -> None:
    """Add an error to every file whose AWS names collide with an earlier file's.

    Two files with one environment name would write the same ``generated/<name>/``; two files
    whose ``<name>-<key>`` names coincide (``adv`` + ``test-hello`` and ``adv-test`` + ``hello``)
    would create, or silently re-register over, each other's resources. Each file is checked
    on its own first; files that failed are left out.
    """
    from compiler.diagnostics import Diagnostic, Level
    from compiler.naming import CODE_NAME_COLLISION

    seen_names: dict[str, Analysis] = {}
    seen: dict[tuple[str, str, str], tuple[Analysis, _Named]] = {}
    for a in analyses:
        if a.env is None or a.failed():
            continue
        found: list[Diagnostic] = []
        earlier = seen_names.get(a.env.name)
        if earlier is not None:
            found.append(
                Diagnostic(
                    CODE_NAME_COLLISION,
                    Level.ERROR,
                    f"environment name '{a.env.name}' is also used by "
                    f"{_where(earlier, ('name',))}; both would write the output directory "
                    f"{a.env.name}/ and the same AWS resources",
                    path=("name",),
                    hint="give each environment file its own name",
                )
            )
        else:
            seen_names[a.env.name] = a
            for ident, named in _aws_names(a.env).items():
                other = seen.get(ident)
                if other is None:
                    seen[ident] = (a, named)
                    continue
                first, first_named = other
                found.append(
                    Diagnostic(
                        CODE_NAME_COLLISION,
                        Level.ERROR,
                        f"{named.what} gets the AWS name '{ident[2]}', which {first_named.what} "
                        f"of {_where(first, first_named.path)} also gets",
                        path=named.path,
                        hint="rename the key (or an environment name) so the <name>-<key> AWS "
                        "names differ",
                    )
                )
        if found:
            assert a.document is not None
            located = [with_location(d, a.file, a.document.positions) for d in found]
            a.diagnostics = sort_diagnostics([*a.diagnostics, *located])
