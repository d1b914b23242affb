"""Hostile input (issue 10): values keep their meaning, every validating regex anchors the whole
string, no input ends in a traceback, and whatever batchform prints or writes stays inert text.

The rule being tested is in docs/environment.md ("How values are read"): an unquoted number in
a field that holds text is used exactly as written; a boolean or null there, a boolean where a
number belongs, a null key and a lone surrogate are located errors.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import typing
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

import compiler
from compiler import model

ROOT = Path(__file__).resolve().parent.parent
COMPILER = ROOT / "compiler"

# --- every regex anchors the whole string ----------------------------------------------------

RE_CALLS = {"compile", "match", "fullmatch", "search"}


def _compiler_modules() -> list[Any]:
    names = [m.name for m in pkgutil.walk_packages(compiler.__path__, "compiler.")]
    return [importlib.import_module(n) for n in sorted(names) if not n.endswith("__main__")]


def _module_patterns() -> dict[str, re.Pattern[str]]:
    """Every compiled pattern a module of the compiler keeps (validators live there)."""
    found: dict[str, re.Pattern[str]] = {}
    for module in _compiler_modules():
        for attr, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found[f"{module.__name__}.{attr}"] = value
    return found


def _inline_patterns() -> dict[str, re.Pattern[str]]:
    """Patterns written inline: ``re.match(r"...", text)`` and friends with a literal pattern."""
    found: dict[str, re.Pattern[str]] = {}
    for path in sorted(COMPILER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in RE_CALLS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno} re.{node.func.attr}"
            pattern = node.args[0].value
            flags = _flags(node)
            if node.func.attr == "fullmatch":
                pattern = f"(?:{pattern})\\Z"  # what fullmatch asks of the text
            found[where] = re.compile(pattern, flags)
    return found


def _flags(call: ast.Call) -> int:
    """The flags argument of a ``re`` call (``re.M | re.S``), evaluated; 0 when absent."""
    position = 1 if isinstance(call.func, ast.Attribute) and call.func.attr == "compile" else 2
    flag_node = call.args[position] if len(call.args) > position else None
    for keyword in call.keywords:
        if keyword.arg == "flags":
            flag_node = keyword.value
    if flag_node is None:
        return 0
    value = eval(compile(ast.Expression(flag_node), "<flags>", "eval"), {"re": re})
    return int(value)


def _ends_anchored(pattern: re.Pattern[str]) -> bool:
    """True for a validator: a pattern that means to match up to the end of the text."""
    if pattern.flags & re.MULTILINE:
        return False  # scans lines of a longer text (terraform output), validates nothing
    text = pattern.pattern
    return text.endswith(r"\Z") or (text.endswith("$") and not text.endswith(r"\$"))


def _texts(pattern: re.Pattern[str]) -> st.SearchStrategy[str]:
    """Texts the pattern accepts whole, without a newline of their own."""
    return st.from_regex(pattern, fullmatch=True).filter(lambda s: "\n" not in s)


EXAMPLES = settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


ANCHORED = {
    name: p for name, p in {**_module_patterns(), **_inline_patterns()}.items() if _ends_anchored(p)
}


def test_the_walk_finds_the_validators() -> None:
    """The walk itself works: it sees the validators issue 10 names (instance types, ARNs,
    mount paths, tags), and the inline ones."""
    names = " ".join(ANCHORED)
    for expected in ("_INSTANCE_TYPE", "ROLE_ARN", "MOUNT_PATH", "_TAG_TEXT", "re.fullmatch"):
        assert expected in names
    assert len(ANCHORED) >= 25


@pytest.mark.parametrize("name", sorted(ANCHORED))
@EXAMPLES
@given(data=st.data())
def test_no_pattern_accepts_a_trailing_newline(name: str, data: st.DataObject) -> None:
    """``$`` matches before a final newline, so ``^...$`` with ``re.match`` lets ``owner: |``
    tags, instance types, ARNs and paths carrying a newline through; every validator must end
    in ``\\Z`` (or be used with ``re.fullmatch``), and none may let ``\\s`` swallow it."""
    pattern = ANCHORED[name]
    text = data.draw(_texts(pattern))
    assert pattern.match(text) is not None
    assert pattern.match(text + "\n") is None, f"{name} ({pattern.pattern!r}) accepts a newline"


def _model_patterns() -> dict[str, str]:
    found: dict[str, str] = {}
    models = [v for v in vars(model).values() if isinstance(v, type) and issubclass(v, BaseModel)]
    for cls in models:
        for field_name, field in cls.model_fields.items():
            for meta in [*field.metadata, *_nested_metadata(field.annotation)]:
                pattern = getattr(meta, "pattern", None)
                if isinstance(pattern, str):
                    found[f"{cls.__name__}.{field_name}"] = pattern
    return found


def _nested_metadata(annotation: Any) -> list[Any]:
    out: list[Any] = list(getattr(annotation, "__metadata__", ()))
    for arg in typing.get_args(annotation):
        out += _nested_metadata(arg)
    return out


MODEL_PATTERNS = _model_patterns()


@pytest.mark.parametrize("name", sorted(MODEL_PATTERNS))
@EXAMPLES
@given(data=st.data())
def test_model_patterns_reject_a_trailing_newline(name: str, data: st.DataObject) -> None:
    """pydantic checks ``pattern=`` with Rust's regex engine, where ``$`` is the end of the
    text; proven here on the model's own patterns rather than assumed."""
    pattern = MODEL_PATTERNS[name]
    adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)])
    text = data.draw(_texts(re.compile(pattern.replace("$", r"\Z"))))
    assert adapter.validate_python(text) == text
    with pytest.raises(ValidationError):
        adapter.validate_python(text + "\n")
