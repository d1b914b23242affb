"""Shared fixtures: real Terraform (offline) and one moto server per test session.

Fixtures:
- ``terraform_cli`` (session): CLI config + shared plugin cache for every terraform call.
- ``moto_session`` (session): the running ``MotoServer``.
- ``moto`` (function): the same server, reset to an empty account before the test.
- ``batch_service_linked_role`` (function): ``moto`` plus the role ``AWSServiceRoleForBatch``,
  as in an account that has used Batch before; yields the role ARN.

Tests marked ``terraform`` or ``e2e`` are skipped, with a reason, when terraform is missing.

Under pytest-xdist (``make test`` runs ``-n 3``) each worker is a session of its own, so every
worker gets its own moto_server on its own free port and its own terraform CLI config, plugin
cache and ``tmp_path`` root; ``tests/harness/parallel.py`` keeps tests that share a
module-scoped deployment on one worker and hands out the longest work first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from batchform.sandbox.emulator import MotoServer, moto_server, service_linked_batch_role
from tests.harness import terraform as tf
from tests.harness.parallel import ParallelPlugin

MARKERS_FILE = Path(__file__).parent / "harness" / "markers.txt"
TERRAFORM_MARKERS = ("terraform", "e2e")


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            config.addinivalue_line("markers", line.strip())
    config.pluginmanager.register(ParallelPlugin(), "batchform-parallel")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if tf.terraform_available():
        return
    skip = pytest.mark.skip(reason="terraform binary not found on PATH")
    for item in items:
        if any(item.get_closest_marker(name) for name in TERRAFORM_MARKERS):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def terraform_cli(tmp_path_factory: pytest.TempPathFactory) -> tf.TerraformCLI:
    if not tf.terraform_available():
        pytest.skip("terraform binary not found on PATH")
    return tf.configure(tmp_path_factory.mktemp("terraform-cli"))


@pytest.fixture(scope="session")
def moto_session() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def moto(moto_session: MotoServer) -> MotoServer:
    moto_session.reset()
    return moto_session


@pytest.fixture
def batch_service_linked_role(moto: MotoServer) -> str:
    return service_linked_batch_role(moto)
