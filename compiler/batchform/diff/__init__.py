"""Semantic diff of two environment files: what a change does to AWS, and whether it is dangerous.

A reviewer of a pull request that edits ``configs/prod.yaml`` sees the YAML diff and the
generated ``.tf`` diff, but neither says which resources Terraform will *replace*, which changes
reach running jobs, or which ones AWS will refuse halfway through an apply. This package answers
that without AWS credentials or Terraform state, by comparing the two *plans* (the render
contexts of :mod:`batchform.plan`, which hold exactly the Terraform arguments the compiler
writes) resource by resource, and applying what the provider decides:

- arguments that force a new resource (``name``, ``cidr_block``, a security group's
  ``description``, ...);
- the compute environment rules of provider 5.x (``resourceComputeEnvironmentCustomizeDiff``):
  name prefix, placement group and spot fleet role always replace; adding or removing the launch
  template block always replaces; every other ``compute_resources`` change except the vCPU
  bounds replaces a CE that is not *updatable* (service-linked role and BEST_FIT_PROGRESSIVE or
  SPOT_CAPACITY_OPTIMIZED, before and after; subnets and security groups of Fargate CEs are
  exempt). Note that the provider does **not** count SPOT_PRICE_CAPACITY_OPTIMIZED as updatable
  before 6.10.0, although AWS itself can update such a CE in place (``requirements.
  updatable_strategies`` follows the oldest release the file's constraint admits);
- knock-on changes: a replaced subnet or security group gives the CEs that use it a new id, and
  a changed launch template gets a new version that every CE using it picks up (the CE pins
  ``latest_version``), so those CEs update or are replaced too. The provider itself cannot see
  that new version while planning; a CE it cannot update in place is replaced by the
  ``lifecycle.replace_triggered_by`` the compiler writes for it
  (:func:`batchform.plan.compute.replace_triggers`), so the plan says "replace" up front;
- AWS refusals that ``terraform plan`` cannot see: a queue created without a fair-share policy can
  never get one, and a policy cannot be removed from a queue.

Modules, in the order data flows:

- ``result``: the result types (:class:`EnvironmentDiff`, :class:`ResourceChange`, ...);
- ``arguments``: the arguments a template writes beyond its context's entries (``vpc_id``, a
  role's parts, Elastic IPs, the topic policy, event targets), as the engine compares them;
- ``provider``: the provider's force-new table (``KINDS``: every resource type the templates
  write) and CE rules;
- ``engine``: two models in, an :class:`EnvironmentDiff` out (pure);
- ``notes``: the risk notes, one small function per kind;
- ``git``: the old file as it was at a git revision (``diff --base``).

The output (text, Markdown, JSON) is :mod:`batchform.report.diff`'s.
"""

from batchform.diff.engine import diff_environments
from batchform.diff.git import GitError, base_reader, read_at_git_ref
from batchform.diff.result import (
    Action,
    AttributeChange,
    EnvironmentDiff,
    Note,
    ResourceChange,
    Risk,
)

__all__ = [
    "Action",
    "AttributeChange",
    "EnvironmentDiff",
    "GitError",
    "Note",
    "ResourceChange",
    "Risk",
    "base_reader",
    "diff_environments",
    "read_at_git_ref",
]
