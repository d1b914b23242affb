"""Run the real ``terraform`` binary, offline from a provider mirror when there is one.

Why: CI machines and laptops behind a proxy often cannot reach the Terraform registry but have
the hashicorp/aws provider in a filesystem mirror. Terraform only uses a mirror when a CLI
configuration file says so, and the ambient ``TF_CLI_CONFIG_FILE`` may point at a file that does
not exist. So we write our own CLI config and pass it to every subprocess through the
environment; the user's own Terraform setup is never touched.

Mirror lookup order: ``$BATCHFORM_TF_PLUGIN_MIRROR``, then well-known directories holding a
``registry.terraform.io/hashicorp/aws`` tree. Without a mirror the caller may still write a
config (no ``filesystem_mirror`` block: Terraform uses the public registry) or keep the user's.

Every terraform subprocess runs in its own process group, so an interrupted run stops terraform
*and* its provider plugins (``run`` sends SIGINT to the group, then SIGKILL), never leaving a
provider process behind.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from batchform.sandbox.duplicates import EmulatorLookup, duplicate_creates

MIRROR_ENV_VAR = "BATCHFORM_TF_PLUGIN_MIRROR"
PROVIDER_SUBPATH = Path("registry.terraform.io") / "hashicorp" / "aws"
DEFAULT_TIMEOUT_S = 900.0
INTERRUPT_GRACE_S = 5.0
MAX_ERROR_CHARS = 400


def terraform_available() -> bool:
    """Whether a ``terraform`` executable is on PATH."""
    return shutil.which("terraform") is not None


class TerraformNotFound(FileNotFoundError):
    """No ``terraform`` executable on PATH."""

    def __init__(self) -> None:
        super().__init__(
            "terraform binary not found on PATH "
            "(install Terraform >= 1.5: https://developer.hashicorp.com/terraform/install)"
        )


class TerraformError(RuntimeError):
    """A terraform subcommand failed; the message carries the command, exit code and output."""

    def __init__(self, args: Sequence[str], cwd: Path, result: subprocess.CompletedProcess[str]):
        self.args_run = list(args)
        self.result = result
        super().__init__(
            f"terraform {' '.join(args)} failed with exit code {result.returncode} in {cwd}\n"
            f"--- stderr ---\n{result.stderr.strip()}\n"
            f"--- stdout (last 4000 chars) ---\n{result.stdout.strip()[-4000:]}"
        )

    def errors(self) -> list[str]:
        """One line per ``Error:`` terraform printed: ``<resource address>: <summary>``."""
        lines = [line.strip() for line in (self.result.stderr or self.result.stdout).splitlines()]
        found: list[str] = []
        for i, line in enumerate(lines):
            if not line.startswith("Error: "):
                continue
            summary = line.removeprefix("Error: ")
            for follow in lines[i + 1 :]:
                if follow.startswith("Error: "):
                    break
                if follow.startswith("with "):
                    summary = f"{follow.removeprefix('with ').rstrip(',')}: {summary}"
                    break
            # Request ids differ on every run and say nothing to the reader.
            summary = re.sub(r"RequestID: [^,]*, ", "", summary)
            if len(summary) > MAX_ERROR_CHARS:
                summary = summary[: MAX_ERROR_CHARS - 3] + "..."
            found.append(summary)
        return found or [(self.result.stderr or self.result.stdout).strip()[-2000:]]


def candidate_mirrors() -> list[Path]:
    """Directories where a provider filesystem mirror usually lives, in lookup order."""
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
    for root in candidate_mirrors():
        if (root / PROVIDER_SUBPATH).is_dir():
            return root.resolve()
    return None


def mirror_versions(mirror: Path) -> list[str]:
    """The hashicorp/aws releases a filesystem mirror holds, unpacked (``5.100.0/linux_amd64``)
    or packed (``terraform-provider-aws_5.100.0_linux_amd64.zip``)."""
    root = mirror / PROVIDER_SUBPATH
    found = {
        p.name for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d+\.\d+\.\d+", p.name)
    }
    found |= {
        m.group(1)
        for p in root.glob("terraform-provider-aws_*.zip")
        if (m := re.match(r"terraform-provider-aws_(\d+\.\d+\.\d+)_", p.name))
    }
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def _hcl_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_cli_config(mirror: Path | None, plugin_cache_dir: Path | None) -> str:
    """Text of a Terraform CLI config using ``mirror`` (if any) for hashicorp/* providers.

    ``plugin_cache_may_break_dependency_lock_file`` lets ``init`` reuse the cache in throwaway
    module copies that have no lock file yet (Terraform >= 1.4 otherwise re-installs). Without
    a cache, an unpacked mirror is linked, not copied, into ``.terraform`` (init takes ~1 s).
    """
    lines = []
    if plugin_cache_dir is not None:
        lines += [
            f"plugin_cache_dir = {_hcl_string(str(plugin_cache_dir))}",
            "plugin_cache_may_break_dependency_lock_file = true",
        ]
    lines.append("disable_checkpoint = true")
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
    """Where the CLI config (and plugin cache) live; builds the subprocess environment.

    ``cli_config`` None means: keep the user's own CLI configuration.
    """

    cli_config: Path | None
    plugin_cache_dir: Path | None
    mirror: Path | None

    @classmethod
    def create(
        cls, workdir: Path, mirror: Path | None = None, *, plugin_cache: bool = True
    ) -> TerraformCLI:
        """Write a CLI config (and, with ``plugin_cache``, an empty plugin cache) in ``workdir``."""
        mirror = mirror if mirror is not None else find_provider_mirror()
        workdir.mkdir(parents=True, exist_ok=True)
        cache: Path | None = None
        if plugin_cache:
            cache = workdir / "plugin-cache"
            cache.mkdir(exist_ok=True)
        config = workdir / "terraformrc"
        config.write_text(render_cli_config(mirror, cache), encoding="utf-8")
        return cls(cli_config=config, plugin_cache_dir=cache, mirror=mirror)

    @classmethod
    def for_user(cls, workdir: Path) -> TerraformCLI:
        """Use a provider mirror when there is one (a config in ``workdir``, no plugin cache);
        otherwise leave the user's Terraform configuration (registry, network mirror, cache)
        exactly as it is."""
        mirror = find_provider_mirror()
        if mirror is None:
            return cls(cli_config=None, plugin_cache_dir=None, mirror=None)
        return cls.create(workdir, mirror, plugin_cache=False)

    def env(self, env_extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The process environment for a terraform subprocess; an empty value in ``env_extra``
        removes that variable (``MotoServer.env()`` hides a user's AWS profile that way)."""
        env = dict(os.environ)
        # Ambient settings that would make runs non-reproducible or interactive.
        drop = ["TF_WORKSPACE", "TF_LOG", "TF_DATA_DIR"]
        if self.cli_config is not None:
            drop.append("TF_PLUGIN_CACHE_DIR")
        for name in drop:
            env.pop(name, None)
        env.update(TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
        if self.cli_config is not None:
            env["TF_CLI_CONFIG_FILE"] = str(self.cli_config)
        for name, value in (env_extra or {}).items():
            if value:
                env[name] = value
            else:
                env.pop(name, None)
        return env


def _reap_group(pgid: int, grace_s: float = 3.0) -> None:
    """The leader is gone; give provider plugins left in its group a moment to exit on their
    own (they remove their sockets then), then kill what remains."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        with suppress(KeyboardInterrupt):
            time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _interrupt_group(process: subprocess.Popen[str]) -> None:
    """Stop terraform like Ctrl-C in a terminal would (SIGINT to the group), then for sure."""
    for sig, wait_s in ((signal.SIGINT, INTERRUPT_GRACE_S), (signal.SIGKILL, 10.0)):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                process.wait(timeout=0.2)
            except KeyboardInterrupt:
                continue
            except subprocess.TimeoutExpired:
                continue
            _reap_group(process.pid)
            return


def run(
    cli: TerraformCLI,
    args: Sequence[str],
    cwd: Path | str,
    env_extra: Mapping[str, str] | None = None,
    *,
    ok_codes: Sequence[int] = (0,),
    timeout: float = DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run ``terraform <args>`` in ``cwd``; raise TerraformError unless the exit code is allowed.

    ``-no-color`` is added to every subcommand; ``-input=false`` to those that accept it.
    On KeyboardInterrupt (or timeout) the whole terraform process group is stopped first.
    """
    binary = shutil.which("terraform")
    if binary is None:
        raise TerraformNotFound()
    cwd = Path(cwd)
    full = list(args)
    if full:
        # Options follow the subcommand, and a nested one: ``state rm -no-color ADDRESS``.
        nested = full[0] in {"state", "workspace", "providers"} and len(full) > 1
        full.insert(2 if nested else 1, "-no-color")
        if full[0] in {"init", "plan", "apply", "destroy", "import", "refresh"}:
            full.insert(1, "-input=false")
    process = subprocess.Popen(
        [binary, *full],
        cwd=cwd,
        env=cli.env(env_extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        _interrupt_group(process)
        with suppress(Exception):
            process.communicate(timeout=5)
        raise
    result = subprocess.CompletedProcess([binary, *full], process.returncode, stdout, stderr)
    if result.returncode not in ok_codes:
        raise TerraformError(full, cwd, result)
    return result


def apply_importing_duplicates(
    cli: TerraformCLI,
    cwd: Path | str,
    env_extra: Mapping[str, str] | None = None,
    *,
    retries: int = 2,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """``terraform apply -auto-approve`` against the emulator; returns the last apply's result
    and the addresses imported on the way.

    When the only failures are creates that moto reports as duplicates of what the first,
    retried attempt already made, those resources are imported into the state and the apply
    runs again, so an emulator hiccup under load does not fail a correct environment (see
    ``batchform.sandbox.duplicates``). Any other failure raises :class:`TerraformError`.
    """
    imported: list[str] = []
    for attempt in range(retries + 1):
        result = run(
            cli, ["apply", "-auto-approve"], cwd, env_extra, ok_codes=(0, 1), timeout=timeout
        )
        if result.returncode == 0:
            return result, imported
        lookup = EmulatorLookup(cwd, env_extra or {})
        duplicates = duplicate_creates(result.stdout + result.stderr, lookup, lookup.job_queue_arn)
        if attempt == retries or not duplicates or result.stderr.count("Error: ") > len(duplicates):
            raise TerraformError(["apply", "-auto-approve"], Path(cwd), result)
        for address, resource_id in duplicates:
            run(cli, ["import", address, resource_id], cwd, env_extra, timeout=timeout)
            imported.append(address)
    raise AssertionError("unreachable")


def terraform_version(cli: TerraformCLI) -> str:
    """``terraform version`` first line, e.g. ``Terraform v1.11.4``."""
    result = run(cli, ["version"], Path.cwd(), timeout=60)
    return result.stdout.splitlines()[0].strip() if result.stdout else "terraform"


__all__ = [
    "MIRROR_ENV_VAR",
    "TerraformCLI",
    "TerraformError",
    "TerraformNotFound",
    "apply_importing_duplicates",
    "duplicate_creates",
    "find_provider_mirror",
    "render_cli_config",
    "run",
    "terraform_available",
]
