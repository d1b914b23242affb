"""Run the real ``terraform`` binary offline, from a local provider mirror when there is one.

Why: the test machines have no internet, but ship the hashicorp/aws provider in a filesystem
mirror. Terraform only uses a mirror when a CLI configuration file says so, and the ambient
``TF_CLI_CONFIG_FILE`` may point at a file that does not exist. So the harness writes its own CLI
config (mirror + ``plugin_cache_dir``) and passes it to every subprocess through the environment;
the user's own Terraform setup is never touched.

Mirror lookup order: ``$BATCHFORM_TF_PLUGIN_MIRROR``, then well-known directories holding a
``registry.terraform.io/hashicorp/aws`` tree. Without a mirror the config has no
``filesystem_mirror`` block and Terraform falls back to the public registry.

Usage::

    from tests.harness import terraform as tf
    tf.init(module_dir)
    tf.validate(module_dir)
    code = tf.plan_detailed_exitcode(module_dir, env_extra=moto_env)  # 0 in sync, 2 diff

``configure(workdir)`` (called once per pytest session by the ``terraform_cli`` fixture) decides
where the CLI config and the shared plugin cache live; without it a private temporary directory is
created on first use and removed at interpreter exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

MIRROR_ENV_VAR = "BATCHFORM_TF_PLUGIN_MIRROR"
PROVIDER_SUBPATH = Path("registry.terraform.io") / "hashicorp" / "aws"
DEFAULT_TIMEOUT_S = 900.0


def terraform_available() -> bool:
    """Whether a ``terraform`` executable is on PATH."""
    return shutil.which("terraform") is not None


requires_terraform = pytest.mark.skipif(
    not terraform_available(), reason="terraform binary not found on PATH"
)
"""Skip marker for tests that run the real Terraform binary (the ``terraform``/``e2e`` markers
get the same skip automatically from ``tests/conftest.py``)."""


class TerraformError(RuntimeError):
    """A terraform subcommand failed; the message carries the command, exit code and output."""

    def __init__(self, args: Sequence[str], cwd: Path, result: subprocess.CompletedProcess[str]):
        self.result = result
        super().__init__(
            f"terraform {' '.join(args)} failed with exit code {result.returncode} in {cwd}\n"
            f"--- stderr ---\n{result.stderr.strip()}\n"
            f"--- stdout (last 4000 chars) ---\n{result.stdout.strip()[-4000:]}"
        )


def _candidate_mirrors() -> list[Path]:
    home = Path.home()
    xdg_data = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
    return [
        Path("/opt/tf-plugins"),
        home / ".terraform.d" / "plugins",
        xdg_data / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]


def find_provider_mirror() -> Path | None:
    """Return a filesystem-mirror root that holds hashicorp/aws, or None to use the registry.

    An explicit ``$BATCHFORM_TF_PLUGIN_MIRROR`` that lacks the provider is an error rather than
    a silent fallback: someone asked for that directory on purpose.
    """
    explicit = os.environ.get(MIRROR_ENV_VAR)
    if explicit:
        root = Path(explicit).expanduser()
        if not (root / PROVIDER_SUBPATH).is_dir():
            raise FileNotFoundError(
                f"${MIRROR_ENV_VAR}={explicit} has no {PROVIDER_SUBPATH} directory"
            )
        return root.resolve()
    for root in _candidate_mirrors():
        if (root / PROVIDER_SUBPATH).is_dir():
            return root.resolve()
    return None


def _hcl_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_cli_config(mirror: Path | None, plugin_cache_dir: Path) -> str:
    """Text of a Terraform CLI config using ``mirror`` (if any) for hashicorp/* providers.

    ``plugin_cache_may_break_dependency_lock_file`` lets ``init`` reuse the cache in throwaway
    module copies that have no lock file yet (Terraform >= 1.4 otherwise re-installs).
    """
    lines = [
        f"plugin_cache_dir = {_hcl_string(str(plugin_cache_dir))}",
        "plugin_cache_may_break_dependency_lock_file = true",
        "disable_checkpoint = true",
    ]
    if mirror is not None:
        lines += [
            "",
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {_hcl_string(str(mirror))}",
            '    include = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "  direct {",
            '    exclude = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class TerraformCLI:
    """Where the CLI config and plugin cache live; builds the subprocess environment."""

    cli_config: Path
    plugin_cache_dir: Path
    mirror: Path | None

    @classmethod
    def create(cls, workdir: Path, mirror: Path | None = None) -> TerraformCLI:
        """Write a CLI config (and an empty plugin cache) under ``workdir``."""
        mirror = mirror if mirror is not None else find_provider_mirror()
        workdir.mkdir(parents=True, exist_ok=True)
        cache = workdir / "plugin-cache"
        cache.mkdir(exist_ok=True)
        config = workdir / "terraformrc"
        config.write_text(render_cli_config(mirror, cache), encoding="utf-8")
        return cls(cli_config=config, plugin_cache_dir=cache, mirror=mirror)

    def env(self, env_extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The process environment for a terraform subprocess."""
        env = dict(os.environ)
        # Ambient settings that would make runs non-reproducible or interactive.
        for name in ("TF_PLUGIN_CACHE_DIR", "TF_WORKSPACE", "TF_LOG", "TF_DATA_DIR"):
            env.pop(name, None)
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
        )
        if env_extra:
            env.update(env_extra)
        return env


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
    binary = shutil.which("terraform")
    if binary is None:
        raise FileNotFoundError("terraform binary not found on PATH")
    cwd = Path(cwd)
    full = list(args)
    if full:
        full.insert(1, "-no-color")
        if full[0] in {"init", "plan", "apply", "destroy", "import", "refresh"}:
            full.insert(1, "-input=false")
    result = subprocess.run(
        [binary, *full],
        cwd=cwd,
        env=current().env(env_extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode not in ok_codes:
        raise TerraformError(full, cwd, result)
    return result


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
    """``terraform apply -auto-approve``."""
    return terraform(["apply", "-auto-approve"], directory, env_extra)


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
