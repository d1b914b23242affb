"""Plan of a child module (``terraform.output: module``): ``variables.tf`` and ``module.tf``.

A child module is called from another configuration (``module "x" { source = ... }``) and has
no ``provider`` or ``backend`` of its own: it uses its caller's ``aws`` provider and state
(https://developer.hashicorp.com/terraform/language/modules/develop/providers). So what a root
module gets from its provider block comes from here instead:

- **tags**: a child module gets no ``default_tags`` from batchform, so every resource writes
  ``merge(local.tags, {...})`` (:class:`~batchform.hcl.ModuleTags`, made by
  :func:`batchform.derive.tags`), with ``local.tags = merge(var.tags, <the file's tags>)``:
  the caller's ``tags`` sit under the file's, as the caller's own provider ``default_tags``
  would, so the file's tags (which ``batchform verify`` checks) always hold;
- **region**: the caller's provider decides it, but the file's region is written into the
  module: VPC endpoint service names ``com.amazonaws.<region>.<service>``
  (https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html),
  availability zones, the ``awslogs-region`` every job's log driver sends to
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html), EFS ARNs in
  IAM policies. A ``data "aws_region"`` postcondition stops ``terraform plan`` before anything
  is created when the caller's provider is in another region;
- **an existing VPC**: its id and subnet lists become variables whose defaults are the file's
  values (:class:`~batchform.hcl.Variable`, :class:`~batchform.hcl.VariableList`, made by
  :mod:`batchform.refs`), so the module works unchanged and a caller can pass its own.

Why no backend: Terraform ignores a ``backend`` in a child module (state belongs to the root),
so check BF360 refuses a file that asks for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchform import requirements
from batchform.hcl import Expr, ModuleTags, hcl, hcl_string
from batchform.model import Environment
from batchform.naming import label
from batchform.plan.contract import ModuleContext, PlanFiles, VariableEntry, file_contexts
from batchform.refs import SUBNET_IDS_VARIABLES, VPC_ID_VARIABLE

TAGS_VARIABLE = "tags"
SUBNET_USE = {
    "private": "compute environments with `subnets: private` and the interface VPC endpoints.",
    "public": "compute environments with `subnets: public`.",
}


def is_module(env: Environment) -> bool:
    return env.terraform.output == "module"


def variables(env: Environment) -> list[VariableEntry]:
    """What a caller may set: ``tags`` always, an existing VPC's id and the subnet lists it
    names (defaults: the file's values)."""
    found: list[VariableEntry] = [
        {
            "name": TAGS_VARIABLE,
            "type": Expr("map(string)"),
            "description": (
                "Tags for every resource of this module, under the environment file's own tags "
                "(a key the file also sets keeps the file's value)."
            ),
            "default": {},
            "validation": None,
        }
    ]
    existing = env.network.vpc.existing
    if existing is None:
        return found
    found.append(
        {
            "name": VPC_ID_VARIABLE,
            "type": Expr("string"),
            "description": "The existing VPC the environment runs in (default: the file's).",
            "default": existing.vpc_id,
            "validation": None,
        }
    )
    for tier, listed in (
        ("private", existing.private_subnets),
        ("public", existing.public_subnets),
    ):
        if listed:
            found.append(
                {
                    "name": SUBNET_IDS_VARIABLES[tier],
                    "type": Expr("list(string)"),
                    "description": (
                        f"The {tier} subnets of that VPC (default: the file's): " + SUBNET_USE[tier]
                    ),
                    "default": list(listed),
                    "validation": None,
                }
            )
    return found


def region_error(env: Environment, attribute: str) -> Expr:
    """The postcondition's message, naming the caller's region (``self.<attribute>``); the
    text around it goes through :func:`~batchform.hcl.hcl_string` like every other string."""
    before = (
        f"This batchform module is compiled for {env.region} (its availability zones, VPC "
        "endpoint names and job log settings name that region), but the calling "
        "configuration's aws provider is in "
    )
    after = (
        f". Pass it a provider in {env.region} (in the module block: providers = "
        "{ aws = aws.<alias> }), or change `region` in the environment file and compile again."
    )
    return Expr(hcl_string(before)[:-1] + "${self." + attribute + "}" + hcl_string(after)[1:])


def module_block(env: Environment) -> list[str]:
    """The HCL a caller pastes to use this module (README.md's "Use as a module"): a provider
    in the file's region, and the ``module`` block with each variable at its default,
    commented out. Values are written by :func:`~batchform.hcl.hcl`."""
    lines = [
        'provider "aws" {',
        f"  region = {hcl_string(env.region)} # this module is compiled for (and checks) it",
        "}",
        "",
        f'module "{label(env.name)}" {{',
        "  # The path from your configuration to this directory (`batchform compile -o DIR`).",
        f"  source = {hcl_string('./generated/' + env.name)}",
        "",
        "  # Optional; each defaults to the environment file's value.",
    ]
    for entry in variables(env):
        value = hcl(entry["default"]).splitlines()
        lines.append(f"  # {entry['name']} = {value[0]}")
        lines += [f"  # {'  ' if line != ']' else ''}{line}" for line in value[1:]]
    return [*lines, "}"]


AWS_MAX_TAGS = 50
"""Tags one AWS resource may carry (https://docs.aws.amazon.com/tag-editor/latest/userguide/
tagging.html); check BF232 holds the file to it, the ``tags`` variable's validation the caller."""


JSON_DOCUMENTS = frozenset(
    {"policy", "assume_role_policy", "container_properties", "input", "event_pattern"}
)
"""Keys whose values are AWS JSON documents (:data:`~batchform.plan.contract.JsonObject`):
they hold no tags argument, and most of a large plan's values, so the walk skips them."""


def _most_own_tags(root: Mapping[str, Any]) -> int:
    """The most tags any resource of a plan carries besides the file's ``tags``."""
    most = 0
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ModuleTags):
            most = max(most, len(node.keys() - node.common.keys()))
        elif isinstance(node, dict):
            stack += [
                v for k, v in node.items() if isinstance(v, dict | list) and k not in JSON_DOCUMENTS
            ]
        elif isinstance(node, list):
            stack += [v for v in node if isinstance(v, dict | list)]
    return most


def limit_caller_tags(env: Environment, files: PlanFiles) -> None:
    """Give the ``tags`` variable a validation that keeps every resource within AWS's tag
    limit, once the whole plan is known: ``terraform plan`` then names the variable, instead
    of AWS refusing one resource halfway through an apply. Counted per resource as the file's
    tags plus the caller's (keys in both count once) plus the most any resource adds of its own
    (a caller's key equal to one of those counts twice: the bound errs on the safe side)."""
    context = files.get("variables.tf")
    if context is None:
        return
    own = _most_own_tags(file_contexts(files))
    room = AWS_MAX_TAGS - own
    keys = "keys(var.tags)"
    if env.tags:
        keys = f"setunion({keys}, {hcl(sorted(env.tags))})"
    tags = next(v for v in context["variables"] if v["name"] == TAGS_VARIABLE)
    tags["validation"] = {
        "condition": Expr(f"length({keys}) <= {room}"),
        "error_message": (
            f"AWS allows {AWS_MAX_TAGS} tags per resource, and a resource of this module carries "
            f"up to {own} of its own (batchform:environment, batchform:key, Name, ...): the "
            f"environment file's tags and var.tags together may have at most {room} keys."
        ),
    }


def plan(env: Environment) -> PlanFiles:
    """``variables.tf`` and ``module.tf`` for a child module, nothing for a root module."""
    if not is_module(env):
        return {}
    major = requirements.provider_major(env.terraform.aws_provider)
    attribute = "region" if major >= 6 else "name"
    context: ModuleContext = {
        "common_tags": dict(sorted(env.tags.items())),
        "region": env.region,
        "region_attribute": attribute,
        "region_error": region_error(env, attribute),
    }
    return {"variables.tf": {"variables": variables(env)}, "module.tf": context}
