"""Render stage: plan contexts -> ``{file name: text}``, through Jinja.

One Jinja environment (:func:`make_environment`, ``StrictUndefined``) with the HCL filters of
:mod:`compiler.hcl` registered: ``hcl`` writes any plan value as an HCL literal (strings always
escaped by ``hcl_string``), and only the Terraform references the plan wraps in
:class:`~compiler.hcl.Expr` are written verbatim. Each template reads one context type of
:mod:`compiler.plan.contract`; ``tests/test_contract.py`` checks that they agree.

Templates lay out blocks; :func:`compiler.hclfmt.format_hcl` then indents and aligns the text
exactly as ``terraform fmt`` would. Only the build stage (and so the CLI) imports this module:
verify, diff and checks use :mod:`compiler.hcl` and never pay for importing Jinja.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

import jinja2

from compiler.codes import CODE_RENDER
from compiler.diagnostics import BatchformError, Diagnostic, Level
from compiler.hcl import hcl, hcl_key, hcl_string, html_comment
from compiler.hclfmt import format_hcl
from compiler.plan import Plan
from compiler.plan.contract import file_contexts


def templates_dir() -> Path:
    """``templates/`` beside the package in a checkout, or the copy shipped in the wheel."""
    here = Path(__file__).resolve().parent
    source = here.parent / "templates"
    if source.is_dir():
        return source
    return here / "templates"


@cache
def make_environment() -> jinja2.Environment:
    """The one Jinja environment every template is rendered with."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["hcl"] = hcl
    env.filters["hcl_string"] = hcl_string
    env.filters["hcl_key"] = hcl_key
    env.filters["html_comment"] = html_comment
    return env


def render_template(name: str, context: Mapping[str, object]) -> str:
    """Render ``templates/<name>.j2`` and lay it out like ``terraform fmt``."""
    try:
        template = make_environment().get_template(f"{name}.j2")
        text = template.render(**context)
    except (jinja2.TemplateError, TypeError, ValueError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
        raise BatchformError(
            [
                Diagnostic(
                    CODE_RENDER,
                    Level.ERROR,
                    f"internal error rendering {name}{where}: {type(exc).__name__}: {exc}",
                    hint="please report this with the environment file that caused it",
                )
            ]
        ) from exc
    if name.endswith(".tf"):
        return format_hcl(text)
    return text.rstrip("\n") + "\n"


def render_plan(plan: Plan) -> dict[str, str]:
    """Render every file of a plan, in sorted order. A file the plan left out is not written."""
    contexts = file_contexts(plan.files)
    return {
        name: render_template(name, {"header": plan.header, **contexts[name]})
        for name in sorted(contexts)
    }
