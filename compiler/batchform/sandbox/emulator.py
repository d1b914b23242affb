"""An emulated AWS: one ``moto_server`` process on 127.0.0.1 on a free port.

Why a server rather than ``moto.mock_aws``: Terraform (a Go binary) must reach the same emulated
account as the Python verifier, so the emulator has to speak HTTP on a real port.

- ``moto_server()``: context manager; starts ``python -m moto.server`` on a free port in its own
  process group with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` (so AWS managed policies such as
  ``AWSBatchServiceRole`` exist and can be attached), waits until it answers, yields a
  ``MotoServer``, and kills the whole process group on exit (also on Ctrl-C).
- ``MotoServer.reset()``: POST ``/moto-api/reset``, wiping all emulated state.
- ``MotoServer.session()`` / ``client(name)``: boto3 objects with dummy credentials pointed at it.
- ``MotoServer.env()``: environment variables for subprocesses (Terraform, ``batchform verify``).
- ``service_linked_batch_role()``: the role an account that has used Batch already has.

moto is an optional dependency (``pip install 'batchform[sandbox]'``); ``missing_emulator()``
says what is missing without importing it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import boto3

DEFAULT_REGION = "us-west-2"
DUMMY_ACCESS_KEY = "testing"
DUMMY_SECRET_KEY = "testing"
MOTO_ACCOUNT_ID = "123456789012"
STARTUP_TIMEOUT_S = 60.0
INSTALL_HINT = "pip install 'batchform[sandbox]'"

SERVICE_LINKED_BATCH_ROLE_NAME = "AWSServiceRoleForBatch"
SERVICE_LINKED_BATCH_ROLE_PATH = "/aws-service-role/batch.amazonaws.com/"


def missing_emulator() -> str | None:
    """Why the emulator cannot start (a module moto's server needs is not installed), or None.

    Only looks the modules up: importing moto takes seconds and the server runs in a subprocess.
    """
    for module in ("moto", "moto.server", "flask", "flask_cors"):
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return f"the emulated AWS (moto server) is not installed: module {module!r} is missing"
    return None


def moto_version() -> str:
    """The installed moto version, without importing moto."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moto")
    except PackageNotFoundError:
        return "?"


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: its base URL plus helpers to talk to it."""

    url: str
    region: str = DEFAULT_REGION
    pid: int | None = None

    def reset(self) -> None:
        """Forget every emulated resource (all services, all regions)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def env(self) -> dict[str, str]:
        """Variables that point an AWS SDK or Terraform subprocess at this server.

        An empty value means "unset": a user's profile or session token must not reach the
        subprocess. :meth:`process_env` (and ``TerraformCLI.env``) remove those variables,
        since boto3 and the AWS CLI reject an empty profile name.
        """
        return {
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
            "AWS_SESSION_TOKEN": "",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PROFILE": "",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def process_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The whole environment of a subprocess talking to this server: ``base`` (default: this
        process's) with :meth:`env` applied, its empty values removed."""
        env = dict(os.environ if base is None else base)
        for name, value in self.env().items():
            if value:
                env[name] = value
            else:
                env.pop(name, None)
        return env

    def session(self, region: str | None = None) -> boto3.Session:
        """A boto3 session with dummy credentials (clients still need ``endpoint_url``)."""
        return boto3.Session(
            aws_access_key_id=DUMMY_ACCESS_KEY,
            aws_secret_access_key=DUMMY_SECRET_KEY,
            region_name=region or self.region,
        )

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for ``service`` talking to this server."""
        return self.session(region).client(service, endpoint_url=self.url)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(url: str) -> bool:
    """Whether a moto server answers at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def stop_process_group(process: subprocess.Popen[Any], grace_s: float = 10.0) -> None:
    """SIGTERM the process group led by ``process``, SIGKILL it after ``grace_s``.

    Ctrl-C arriving while we wait is deferred until the group is gone, so an impatient second
    Ctrl-C cannot leave the server running.
    """
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while True:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
            return
        except KeyboardInterrupt:
            continue
        except subprocess.TimeoutExpired:
            break
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _server_env(region: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MOTO_IAM_LOAD_MANAGED_POLICIES="true",
        AWS_ACCESS_KEY_ID=DUMMY_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=DUMMY_SECRET_KEY,
        AWS_DEFAULT_REGION=region,
    )
    return env


@contextmanager
def moto_server(region: str = DEFAULT_REGION, attempts: int = 3) -> Iterator[MotoServer]:
    """Start a moto server on a free 127.0.0.1 port; stop it (and its children) on exit.

    Retries on another port when the server does not come up (the free port may have been
    taken between the probe and the bind).
    """
    last_error = ""
    for _ in range(attempts):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                env=_server_env(region),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # own process group: killpg reaches any children
            )
            try:
                deadline = time.monotonic() + STARTUP_TIMEOUT_S
                while process.poll() is None and time.monotonic() < deadline:
                    if answers(url):
                        break
                    time.sleep(0.2)
                if process.poll() is None and answers(url):
                    yield MotoServer(url=url, region=region, pid=process.pid)
                    return
                log.seek(0)
                last_error = log.read().decode(errors="replace")[-4000:]
            finally:
                stop_process_group(process)
    raise RuntimeError(f"moto server did not start after {attempts} attempts:\n{last_error}")


def service_linked_batch_role(server: MotoServer) -> str:
    """Create ``AWSServiceRoleForBatch`` as an account that has used Batch would have it.

    Real AWS creates this service-linked role on first use; moto does not, so environments that
    leave ``service_role`` unset need it first. Returns the role ARN.
    """
    iam = server.client("iam")
    role = iam.create_role(
        RoleName=SERVICE_LINKED_BATCH_ROLE_NAME,
        Path=SERVICE_LINKED_BATCH_ROLE_PATH,
        AssumeRolePolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Principal":{"Service":"batch.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        ),
    )
    arn: str = role["Role"]["Arn"]
    return arn


__all__ = [
    "DEFAULT_REGION",
    "INSTALL_HINT",
    "MOTO_ACCOUNT_ID",
    "MotoServer",
    "answers",
    "free_port",
    "missing_emulator",
    "moto_server",
    "service_linked_batch_role",
    "stop_process_group",
]
