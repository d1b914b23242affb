"""The plan's contract (compiler/batchform/plan/contract.py) and the templates agree, key by key.

mypy checks the plan modules that write the contexts and the Python consumers that read them
(verify, diff, the benchmarks); the templates are Jinja, which mypy cannot see. This test reads
each template's syntax tree, follows every attribute or item access from the context's top-level
names through ``for`` and ``set`` to the TypedDict it lands on, and checks both directions:

- every key a template reads is declared by its type (a renamed key fails here, not at render
  time with one particular environment file);
- every declared key is read by the template, or by a consumer named in :data:`CONSUMERS`
  (whose source must still read it), so no key is kept alive by nothing.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest
from jinja2 import nodes

from batchform.plan import contract
from batchform.render import make_environment, templates_dir

ROOT = templates_dir().parent

FILES: dict[str, Any] = get_type_hints(contract.PlanFiles)

CONSUMERS: dict[tuple[str, str], str] = {
    ("AlertRuleEntry", "event"): "compiler/batchform/verify/operations.py",
}
"""Keys no template writes, with the consumer that reads them (``["<key>"]`` in its source)."""

LIST_FILTERS_KEEPING_ITEMS = ("selectattr", "rejectattr", "list", "sort", "unique")
"""Jinja filters whose result holds the same entries as their input."""


# --- types --------------------------------------------------------------------------------------


def _without_none(kind: Any) -> Any:
    """``X | None`` -> ``X``; other unions and plain types as they are."""
    if get_origin(kind) in (Union, types.UnionType):
        rest = [a for a in get_args(kind) if a is not type(None)]
        return rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
    return kind


def _item(kind: Any) -> Any:
    """The entry type of ``list[X]`` (``None`` for anything else)."""
    kind = _without_none(kind)
    return _without_none(get_args(kind)[0]) if get_origin(kind) is list else None


def _keys(kind: Any) -> dict[str, Any]:
    return get_type_hints(kind)


def _reachable(kind: Any, seen: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every TypedDict a context type holds, by name, itself included."""
    seen = {} if seen is None else seen
    kind = _without_none(kind)
    if is_typeddict(kind):
        if kind.__name__ in seen:
            return seen
        seen[kind.__name__] = kind
        for value in _keys(kind).values():
            _reachable(value, seen)
    for arg in get_args(kind):
        _reachable(arg, seen)
    return seen


# --- reading a template ---------------------------------------------------------------------------


@dataclass
class Reads:
    """What one or more templates read: keys per TypedDict name, and keys they do not declare."""

    keys: dict[str, set[str]] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)  # written with .items(): every key is read
    undeclared: list[str] = field(default_factory=list)
    unknown_names: list[str] = field(default_factory=list)

    def read(self, kind: Any, key: str, where: str) -> Any:
        """Record ``kind[key]`` and return the type it holds (``None`` when unknown)."""
        kind = _without_none(kind)
        if not is_typeddict(kind):
            return None
        self.keys.setdefault(kind.__name__, set()).add(key)
        declared = _keys(kind)
        if key not in declared:
            self.undeclared.append(f"{where}: {kind.__name__} has no key '{key}'")
            return None
        return _without_none(declared[key])


class _Walker:
    def __init__(self, where: str, reads: Reads) -> None:
        self.where = where
        self.reads = reads

    def type_of(self, node: nodes.Node, scope: dict[str, Any]) -> Any:
        """The contract type ``node`` evaluates to (``None`` when it is not one), recording
        every key read on the way."""
        if isinstance(node, nodes.Name):
            if node.name not in scope:
                self.reads.unknown_names.append(f"{self.where}: {node.name}")
                return None
            return scope[node.name]
        if isinstance(node, nodes.Getattr):
            return self.reads.read(self.type_of(node.node, scope), node.attr, self.where)
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            return self.reads.read(self.type_of(node.node, scope), node.arg.value, self.where)
        if (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Getattr)
            and node.node.attr in ("items", "keys", "values")
        ):
            owner = _without_none(self.type_of(node.node.node, scope))
            if is_typeddict(owner):
                self.reads.whole.add(owner.__name__)
                self.reads.keys.setdefault(owner.__name__, set()).update(_keys(owner))
            return None
        if isinstance(node, nodes.Filter) and node.node is not None:
            inner = self.type_of(node.node, scope)
            for arg in [*node.args, *(k.value for k in node.kwargs)]:
                self.type_of(arg, scope)
            if node.name in ("selectattr", "rejectattr") and node.args:
                first = node.args[0]
                if isinstance(first, nodes.Const) and isinstance(first.value, str):
                    self.reads.read(_item(inner), first.value, self.where)
            return inner if node.name in LIST_FILTERS_KEEPING_ITEMS else None
        for child in node.iter_child_nodes():
            self.visit(child, scope)
        return None

    def visit(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.For):
            inner = dict(scope)
            for name, kind in self._loop_targets(node, scope):
                inner[name] = kind
            if node.test is not None:
                self.type_of(node.test, inner)
            for child in node.body:
                self.visit(child, inner)
            for child in node.else_:
                self.visit(child, scope)
        elif isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            scope[node.target.name] = self.type_of(node.node, scope)
        elif isinstance(node, nodes.Expr):
            self.type_of(node, scope)
        else:
            for child in node.iter_child_nodes():
                self.visit(child, scope)

    def _loop_targets(self, node: nodes.For, scope: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        """``for x in xs`` binds ``x`` to the entry type of ``xs``; ``for a, b in [(c, d), ...]``
        binds each name to the type its position holds in every tuple alike."""
        target, source = node.target, node.iter
        if isinstance(target, nodes.Name):
            yield target.name, _item(self.type_of(source, scope))
            return
        assert isinstance(target, nodes.Tuple)
        names = [t.name for t in target.items if isinstance(t, nodes.Name)]
        if isinstance(source, nodes.List) and all(isinstance(i, nodes.Tuple) for i in source.items):
            columns: list[set[Any]] = [set() for _ in names]
            for row in source.items:
                assert isinstance(row, nodes.Tuple)
                for i, value in enumerate(row.items):
                    columns[i].add(self.type_of(value, scope))
            for name, kinds in zip(names, columns, strict=True):
                yield name, (next(iter(kinds)) if len(kinds) == 1 else None)
            return
        self.type_of(source, scope)
        for name in names:
            yield name, None


def read_template(source: str, context: Any, where: str, reads: Reads) -> None:
    """Walk one template with the keys of ``context`` (a TypedDict) as its variables; the
    top-level names it uses are the context's keys it reads."""
    tree = make_environment().parse(source)
    declared = _keys(context)
    scope = {name: _without_none(kind) for name, kind in declared.items()}
    scope.update(dict.fromkeys(contract.RENDER_GLOBALS, str))
    _Walker(where, reads).visit(tree, scope)
    used = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    reads.keys.setdefault(context.__name__, set()).update(used & set(declared))


def _read_all() -> Reads:
    reads = Reads()
    for name, context in FILES.items():
        source = (templates_dir() / f"{name}.j2").read_text(encoding="utf-8")
        read_template(source, context, f"templates/{name}.j2", reads)
    return reads


READS = _read_all()


# --- the tests ----------------------------------------------------------------------------------


def test_every_template_renders_a_file_of_the_contract() -> None:
    templates = {p.name.removesuffix(".j2") for p in templates_dir().glob("*.j2")}
    assert templates == set(FILES)


def test_templates_read_only_keys_their_context_declares() -> None:
    assert READS.undeclared == []
    assert READS.unknown_names == []


@pytest.mark.parametrize("file_name", sorted(FILES))
def test_every_key_of_a_context_is_read_by_its_template_or_a_named_consumer(
    file_name: str,
) -> None:
    unread = []
    for type_name, kind in _reachable(FILES[file_name]).items():
        for key in _keys(kind):
            if key in READS.keys.get(type_name, set()):
                continue
            consumer = CONSUMERS.get((type_name, key))
            if consumer is not None and f'["{key}"]' in (ROOT / consumer).read_text("utf-8"):
                continue
            unread.append(f"{type_name}.{key}")
    assert unread == []


def test_a_renamed_key_is_caught_in_both_directions() -> None:
    """The walk must see through ``for``, ``set``, filters and ``.items()``, or it proves
    nothing: a template reading a key the type lost, and a type key no template reads."""
    reads = Reads()
    source = (
        "{% for q in queues | selectattr('priority') %}{% set o = q.compute_environment_order %}"
        "{{ q.nmae }}{% for a in q.time_limit_actions %}{{ a.action }}{% endfor %}{% endfor %}"
    )
    read_template(source, contract.JobQueuesContext, "inline", reads)
    assert reads.undeclared == ["inline: JobQueueEntry has no key 'nmae'"]
    assert {"priority", "compute_environment_order", "time_limit_actions"} <= reads.keys[
        "JobQueueEntry"
    ]
    assert "name" not in reads.keys["JobQueueEntry"]
    assert reads.keys["TimeLimitActionEntry"] == {"action"}


def test_the_contract_has_no_free_form_values_but_json_documents() -> None:
    """mypy sees every key only if no entry is typed ``Any``: the one exception is a JSON
    document's body (:data:`batchform.plan.contract.JsonObject`), whose shape is AWS's."""
    loose = []
    for file_name, context in FILES.items():
        for type_name, kind in _reachable(context).items():
            for key, value in _keys(kind).items():
                json_document = value in (contract.JsonObject, contract.JsonObject | None)
                if _has_any(value) and not (key in _JSON_KEYS and json_document):
                    loose.append(f"{file_name}: {type_name}.{key}")
    assert loose == []


def _has_any(kind: Any) -> bool:
    return kind is Any or any(_has_any(arg) for arg in get_args(kind))


_JSON_KEYS = {
    "policy",
    "assume_role_policy",
    "container_properties",
    "node_properties",
    "ecs_properties",
    "input",
    "event_pattern",
}
