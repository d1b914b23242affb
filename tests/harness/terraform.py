"""Run the real ``terraform`` binary offline in tests, from a local provider mirror.

The implementation (mirror lookup, CLI config, running subcommands in their own process group)
lives in ``batchform.sandbox.terraform``, shared with ``batchform sandbox``. This module keeps the
test-facing API: a session-wide CLI config with a shared plugin cache (``configure``, called by
the ``terraform_cli`` fixture; without it a self-cleaning temporary one is made on first use),
and one function per subcommand::

    from tests.harness import terraform as tf
    tf.init(module_dir)
    tf.validate(module_dir)
    code = tf.plan_detailed_exitcode(module_dir, env_extra=moto_env)  # 0 in sync, 2 diff
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from batchform.sandbox import terraform as _tf
from batchform.sandbox.terraform import DEFAULT_TIMEOUT_S, TerraformCLI, terraform_available

requires_terraform = pytest.mark.skipif(
    not terraform_available(), reason="terraform binary not found on PATH"
)
"""Skip marker for tests that run the real Terraform binary (the ``terraform``/``e2e`` markers
get the same skip automatically from ``tests/conftest.py``)."""

_current: TerraformCLI | None = None


def configure(workdir: Path, mirror: Path | None = None) -> TerraformCLI:
    """Make ``workdir`` the home of the CLI config and shared plugin cache for later calls."""
    global _current
    _current = TerraformCLI.create(workdir, mirror)
    return _current


def current() -> TerraformCLI:
    """The configured CLI settings, creating a self-cleaning temporary home on first use."""
    global _current
    if _current is None:
        workdir = Path(tempfile.mkdtemp(prefix="batchform-tf-"))
        atexit.register(shutil.rmtree, workdir, True)
        _current = TerraformCLI.create(workdir)
    return _current


def terraform(
    args: Sequence[str],
    cwd: Path | str,
    env_extra: Mapping[str, str] | None = None,
    *,
    ok_codes: Sequence[int] = (0,),
    timeout: float = DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run ``terraform <args>`` in ``cwd``; raise TerraformError unless the exit code is allowed.

    ``-no-color`` is added to every subcommand; ``-input=false`` to those that accept it.
    """
    return _tf.run(current(), args, cwd, env_extra, ok_codes=ok_codes, timeout=timeout)


def init(
    directory: Path | str, env_extra: Mapping[str, str] | None = None, *, backend: bool = True
) -> subprocess.CompletedProcess[str]:
    """``terraform init``; ``backend=False`` skips backend setup (enough for validate)."""
    args = ["init"]
    if not backend:
        args.append("-backend=false")
    return terraform(args, directory, env_extra)


def validate(
    directory: Path | str, env_extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``terraform validate`` (needs a prior ``init``)."""
    return terraform(["validate"], directory, env_extra)


def fmt_check(directory: Path | str) -> subprocess.CompletedProcess[str]:
    """``terraform fmt -check -diff -recursive``; fails listing the files that need formatting."""
    return terraform(["fmt", "-check", "-diff", "-recursive"], directory)


def apply(
    directory: Path | str, env_extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``terraform apply -auto-approve``, importing creates moto answered as duplicates after
    an SDK retry (see ``batchform.sandbox.terraform.apply_importing_duplicates``)."""
    result, _ = _tf.apply_importing_duplicates(current(), directory, env_extra)
    return result


def destroy(
    directory: Path | str, env_extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``terraform destroy -auto-approve``."""
    return terraform(["destroy", "-auto-approve"], directory, env_extra)


def plan(
    directory: Path | str, env_extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``terraform plan -detailed-exitcode``; exit code 0 (no changes) or 2 (changes), else raise.

    Use this when an assertion message should show the planned diff (``result.stdout``).
    """
    return terraform(["plan", "-detailed-exitcode"], directory, env_extra, ok_codes=(0, 2))


def plan_detailed_exitcode(
    directory: Path | str, env_extra: Mapping[str, str] | None = None
) -> int:
    """0 when the deployed state matches the configuration, 2 when a plan has changes."""
    return plan(directory, env_extra).returncode


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "TerraformCLI",
    "apply",
    "configure",
    "current",
    "destroy",
    "fmt_check",
    "init",
    "plan",
    "plan_detailed_exitcode",
    "requires_terraform",
    "terraform",
    "terraform_available",
    "validate",
]
