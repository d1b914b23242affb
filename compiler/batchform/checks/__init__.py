"""Checks stage: model -> diagnostics.

Each rule is a small named function registered with :func:`rule`, carrying a stable code, a
level and a one-line summary; the code goes into the one registry of codes
(:mod:`batchform.codes`, which ``batchform rules`` lists), and its documentation (explanation,
bad and good example, fix, sources) is data in ``compiler/batchform/checks/docs/``
(:mod:`batchform.ruledocs`). A rule yields
:class:`Finding` objects holding a *path* into the document; positions are resolved once,
centrally, by :func:`batchform.diagnostics.with_location`. A rule that crashes becomes a
``BF000`` diagnostic instead of a traceback, and the other rules still run.

Rule modules register themselves on import; every module of this package is a rule module and
is imported by :func:`all_rules` (no list to keep in sync).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from batchform.codes import CODE_CHECK_CRASHED, Stage, register
from batchform.diagnostics import Diagnostic, Level, Path
from batchform.model import Environment

if TYPE_CHECKING:
    from batchform.ruledocs import RuleDoc

__all__ = ["CODE_CHECK_CRASHED", "CheckFunction", "Finding", "Rule", "all_rules", "rule"]


@dataclass(frozen=True)
class Finding:
    path: Path
    message: str
    hint: str | None = None
    level: Level | None = None  # overrides the rule's level for this one finding


CheckFunction = Callable[[Environment], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    level: Level
    summary: str
    function: CheckFunction

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def doc(self) -> RuleDoc | None:
        """The rule's documentation entry (``compiler/batchform/checks/docs/``), if one is
        written."""
        from batchform.ruledocs import rule_docs

        return rule_docs().get(self.code)


_RULES: dict[str, Rule] = {}


def rule(code: str, level: Level, summary: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check, and its code in the registry of every code (compiler/batchform/codes.py,
    which
    refuses a code registered twice). Codes are stable: never reuse or renumber one."""

    def add(function: CheckFunction) -> CheckFunction:
        register(code, level, summary, Stage.CHECKS)
        _RULES[code] = Rule(code, level, summary, function)
        return function

    return add


def all_rules() -> list[Rule]:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}")
    return [_RULES[code] for code in sorted(_RULES)]


def _run_one(rule_: Rule, env: Environment) -> Iterator[Diagnostic]:
    try:
        findings = list(rule_.function(env))
    except Exception as exc:  # a broken rule must not hide the others' findings
        yield Diagnostic(
            CODE_CHECK_CRASHED,
            Level.ERROR,
            f"internal error in check {rule_.code} ({rule_.name}): {type(exc).__name__}: {exc}",
            hint="please report this; the other checks still ran",
        )
        return
    for f in findings:
        yield Diagnostic(rule_.code, f.level or rule_.level, f.message, path=f.path, hint=f.hint)


def run_checks(env: Environment, ignore: Iterable[str] = ()) -> list[Diagnostic]:
    """Run every rule; warnings and infos whose code is in ``ignore`` (or in the file's own
    ``ignore:`` list) are dropped. Errors cannot be silenced."""
    silenced = set(ignore) | set(env.ignore)
    out: list[Diagnostic] = []
    for rule_ in all_rules():
        for diag in _run_one(rule_, env):
            if diag.code in silenced and diag.level != Level.ERROR:
                continue
            out.append(diag)
    return out
