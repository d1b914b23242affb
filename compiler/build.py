"""Runs the stages in order for one file: load -> model -> checks, then plan -> render.

Kept free of output and of writing files: the CLI decides what to print and ``emit`` writes.
"""

from __future__ import annotations

import gc
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
from compiler.loader import Document, load_file, load_text
from compiler.model import Environment, parse_environment


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
            doc = load_file(path)
        except BatchformError as exc:
            return Analysis(str(path), diagnostics=sort_diagnostics(exc.diagnostics))
        return analyze_document(doc, ignore)


def analyze_text(text: str, file: str = "<input>", ignore: tuple[str, ...] = ()) -> Analysis:
    with collector_paused():
        try:
            doc = load_text(text, file)
        except BatchformError as exc:
            return Analysis(file, diagnostics=sort_diagnostics(exc.diagnostics))
        return analyze_document(doc, ignore)


def render_environment(env: Environment, source_name: str) -> dict[str, str]:
    """Plan and render a checked environment: ``{file name: text}`` for ``generated/<name>/``."""
    from compiler.plan import build_plan
    from compiler.render import render_plan

    with collector_paused():
        return render_plan(build_plan(env, source_name))
