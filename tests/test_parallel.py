"""The xdist harness (tests/harness/parallel.py) on a small suite of its own, run with two real
workers: tests sharing a module-scoped deployment run on one worker and set it up once per
parameter, an explicit ``xdist_group`` is kept, and end-to-end work is handed out first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
XDIST = ("-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder")

CONFTEST = """
import json, os
from pathlib import Path
import pytest
from tests.harness.parallel import ParallelPlugin

LOG = Path(os.environ["PARALLEL_LOG"])

def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end to end")
    config.pluginmanager.register(ParallelPlugin(), "batchform-parallel")

def record(request, what):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with LOG.open("a") as log:
        log.write(json.dumps([worker, what, request.node.name]) + "\\n")

@pytest.fixture(scope="session")
def moto_session():
    return "emulator"
"""

SUITE = """
import pytest
from conftest import record

@pytest.fixture(scope="module", params=["a", "b"])
def deployed(request, moto_session):
    record(request, "setup " + request.param)
    return request.param

@pytest.fixture
def clean(deployed):
    return deployed

@pytest.mark.parametrize("n", range(6))
def test_uses_deployment(clean, n, request):
    record(request, "test " + clean)

@pytest.mark.parametrize("n", range(6))
def test_plain(n, request):
    record(request, "plain")

@pytest.mark.xdist_group("mine")
@pytest.mark.parametrize("n", range(3))
def test_grouped(n, request):
    record(request, "grouped")

@pytest.mark.e2e
def test_zz_long(request):
    record(request, "e2e")
"""


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[list[str]]:
    """One run of the small suite on two workers; each line: worker, what happened, test."""
    suite = tmp_path_factory.mktemp("parallel-suite")
    log = suite / "log.jsonl"
    (suite / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (suite / "test_suite.py").write_text(SUITE, encoding="utf-8")
    (suite / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not the repository's
    env = {**os.environ, "PARALLEL_LOG": str(log), "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *XDIST],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines[-1].startswith("22 passed"), lines[-3:]
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_shared_deployment_is_set_up_once_per_parameter_on_one_worker(
    events: list[list[str]],
) -> None:
    setups = [(worker, what) for worker, what, _ in events if what.startswith("setup")]
    assert sorted(what for _, what in setups) == ["setup a", "setup b"], setups
    where = dict((what.removeprefix("setup "), worker) for worker, what in setups)
    users = [(worker, what.removeprefix("test ")) for worker, what, _ in events]
    assert all(worker == where[param] for worker, param in users if param in where)
    grouped = {worker for worker, what, _ in events if what == "grouped"}
    assert len(grouped) == 1  # an explicit xdist_group stays one unit


def test_end_to_end_work_starts_first(events: list[list[str]]) -> None:
    firsts: dict[str, str] = {}
    for worker, what, _ in events:
        firsts.setdefault(worker, what)
    assert "e2e" in firsts.values(), events[:4]
