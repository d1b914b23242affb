"""Render stage: plan contexts -> ``{file name: text}``, through Jinja.

One Jinja environment (:func:`make_environment`, ``StrictUndefined``) with the HCL filters of
:mod:`batchform.hcl` registered: ``hcl`` writes any plan value as an HCL literal (strings always
escaped by ``hcl_string``), and only the Terraform references the plan wraps in
:class:`~batchform.hcl.Expr` are written verbatim. Each template reads one context type of
:mod:`batchform.plan.contract`; ``tests/test_contract.py`` checks that they agree.

Templates lay out blocks; :func:`batchform.hclfmt.format_hcl` then indents and aligns the text
exactly as ``terraform fmt`` would. Only the build stage (and so the CLI) imports this module:
verify, diff and checks use :mod:`batchform.hcl` and never pay for importing Jinja.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2

from batchform.codes import CODE_RENDER
from batchform.diagnostics import BatchformError, Diagnostic, Level
from batchform.hcl import hcl, hcl_key, hcl_string, html_comment
from batchform.hclfmt import format_hcl
from batchform.plan import Plan
from batchform.plan.contract import file_contexts


def templates_dir() -> Path:
    """The templates shipped as the package's own data, ``batchform.templates``.

    A wheel installs them as ``batchform/templates/``; the editable install of a checkout maps
    ``batchform.templates`` to the repository's top-level ``templates/`` folder (pyproject.toml,
    ``package-dir``). Nothing else is looked at, so a ``templates`` directory another
    distribution put in site-packages can never be picked up.
    """
    return Path(str(resources.files("batchform.templates")))


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
