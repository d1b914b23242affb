"""Rules for ``terraform.output: module``, a child module another configuration calls
(compiler/batchform/plan/module.py, docs/module-output.md).

Codes: BF360-BF369.
"""

from __future__ import annotations

from collections.abc import Iterator

from batchform.checks import Finding, rule
from batchform.diagnostics import Level
from batchform.model import Environment


@rule("BF360", Level.ERROR, "terraform.backend is set, but terraform.output: module has no state")
def backend_in_child_module(env: Environment) -> Iterator[Finding]:
    """A child module's state is its caller's: Terraform reads a ``backend`` only in the root
    module and ignores one in a child module with the warning "Backend configuration ignored"
    (hashicorp/terraform configs/config_build.go, https://github.com/hashicorp/terraform/pull/26954),
    so the state would never go where the file says."""
    if env.terraform.output != "module" or env.terraform.backend is None:
        return
    yield Finding(
        ("terraform", "backend"),
        "terraform.backend is set, but `terraform.output: module` writes a child module, whose "
        "state belongs to the configuration that calls it: Terraform ignores a backend there, "
        "so this one would never hold the state",
        "remove terraform.backend (configure the backend in the calling configuration), or "
        "use `output: root` to deploy this file on its own",
    )
