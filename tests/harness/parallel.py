"""Running the suite on several pytest-xdist workers (``make test`` does: ``-n 3``).

Why: most of the suite's time is ``terraform`` (its aws provider binary alone takes seconds of
CPU to start) talking to ``moto_server``; a single pytest process leaves the machine idle while
one of them waits for the other. Several workers overlap those waits.

What keeps the tests correct in parallel:

- Every worker is its own pytest session, so the session fixtures of ``tests/conftest.py`` give
  each worker its own ``moto_server`` on its own free port (``moto_session``) and its own CLI
  config and plugin cache (``terraform_cli``), inside the worker's own ``tmp_path`` root
  (``.../popen-gw<N>/``). No test shares an emulator or a directory with another worker.
- Tests that share a module-scoped deployment (a fixture of module, class or package scope that
  uses ``moto_session`` or ``terraform_cli``, directly or through other fixtures) form one
  group per fixture instance (per parameter), so they run on one worker, in file order, on the
  one deployment. A module whose tests share state some other way says so itself with
  ``pytest.mark.xdist_group``. A group is sent to one worker as a whole by
  :class:`GroupScheduling`, our ``--dist loadgroup``: xdist 3.8's own reads the group from a
  suffix it adds to ``item._nodeid``, which pytest >= 9.2 no longer uses as the node id, so the
  workers write each test's group to a file the controller reads before it schedules.
- Work is handed out longest first (``--no-loadscope-reorder`` keeps this order): groups and
  tests that run terraform against the emulator before those that run terraform alone, before
  everything else, so no worker starts a long end-to-end test when the others are done.

:func:`exclusive` is a cross-process lock for the rare resource all workers share (a directory
in the repository that the first user fills, such as ``tests/mermaid/node_modules``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadGroupScheduling  # type: ignore[import-untyped]

GROUPS_DIR_KEY = "batchform_groups_dir"

STATEFUL_SESSION_FIXTURES = frozenset({"moto_session", "terraform_cli"})
"""Session fixtures whose users hold emulator or terraform state."""

SHARED_SCOPES = frozenset({"module", "class", "package"})

# Relative cost of one test, by marker: only the order of the work matters, not the value.
COST_E2E = 100
COST_TERRAFORM = 10
COST_OTHER = 1


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist worker (not the controller, not a plain run)."""
    return hasattr(config, "workerinput")


def _depends_on_state(
    name: str, fixtures: Mapping[str, Sequence[pytest.FixtureDef[object]]]
) -> bool:
    """Whether fixture ``name`` uses a stateful session fixture, directly or transitively."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in STATEFUL_SESSION_FIXTURES:
            return True
        definitions = fixtures.get(current)
        if definitions:
            todo.extend(definitions[-1].argnames)
    return False


def shared_deployment_group(item: pytest.Item) -> str | None:
    """The ``xdist_group`` name for tests sharing ``item``'s module-scoped deployment, if any.

    The name holds the module, the fixture and its parameter index, so each parameter of a
    parametrized deployment (one per example) is a group of its own and can run in parallel.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    fixtures = info.name2fixturedefs
    callspec = getattr(item, "callspec", None)
    parts = []
    for name in sorted(fixtures):
        definition = fixtures[name][-1]
        if definition.scope not in SHARED_SCOPES or not _depends_on_state(name, fixtures):
            continue
        index = callspec.indices.get(name) if callspec is not None else None
        parts.append(name if index is None else f"{name}-{index}")
    if not parts:
        return None
    module = item.nodeid.split("::", 1)[0]
    return f"{module}:{'+'.join(parts)}"


def group_of(item: pytest.Item) -> str | None:
    """The item's ``xdist_group`` name (several marks: joined, as xdist does), or None."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) if names else None


def unit_of(item: pytest.Item) -> str:
    """What is scheduled as one piece of work: the item's group, else the item itself."""
    group = group_of(item)
    return item.nodeid if group is None else f"group:{group}"


def cost_of(item: pytest.Item) -> int:
    if item.get_closest_marker("e2e"):
        return COST_E2E
    if item.get_closest_marker("terraform"):
        return COST_TERRAFORM
    return COST_OTHER


class GroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
    """``--dist loadgroup`` with the groups the workers wrote (see the module docstring)."""

    def __init__(self, config: pytest.Config, groups_dir: Path, log: Any = None) -> None:
        super().__init__(config, log)
        self.groups_dir = groups_dir
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:  # called once every worker has finished collecting
            self._groups = {}
            for written in sorted(self.groups_dir.glob("*.json")):
                self._groups.update(json.loads(written.read_text(encoding="utf-8")))
        group = self._groups.get(nodeid)
        return f"group:{group}" if group is not None else str(super()._split_scope(nodeid))


class ParallelPlugin:
    """Groups and orders the tests under xdist (see the module docstring).

    Registered by ``tests/conftest.py``; it does nothing in a run without workers, so ``pytest
    -n0`` keeps the file order.
    """

    def __init__(self) -> None:
        self.groups_dir: Path | None = None

    # -- controller ----------------------------------------------------------------------------

    def _groups_dir(self) -> Path:
        if self.groups_dir is None:
            self.groups_dir = Path(tempfile.mkdtemp(prefix="batchform-xdist-groups-"))
        return self.groups_dir

    def pytest_configure_node(self, node: Any) -> None:
        """Before each worker starts (and before the scheduler exists): where to write."""
        if node.config.getvalue("dist") == "loadgroup":
            node.workerinput[GROUPS_DIR_KEY] = str(self._groups_dir())

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "loadgroup":
            return None
        return GroupScheduling(config, self._groups_dir(), log)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.groups_dir is not None and not is_worker(config):
            shutil.rmtree(self.groups_dir, ignore_errors=True)

    # -- worker --------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> Iterator[None]:
        """Before the other hooks: mark shared deployments. After them: longest work first
        (every worker computes the same order, which xdist checks; the items of a group keep
        their file order), and each test's group written for :class:`GroupScheduling`."""
        if not is_worker(config):
            yield
            return
        for item in items:
            if item.get_closest_marker("xdist_group"):
                continue
            group = shared_deployment_group(item)
            if group is not None:
                item.add_marker(pytest.mark.xdist_group(group))
        yield
        cost: dict[str, int] = {}
        first: dict[str, int] = {}
        for position, item in enumerate(items):
            unit = unit_of(item)
            cost[unit] = cost.get(unit, 0) + cost_of(item)
            first.setdefault(unit, position)
        items.sort(key=lambda item: (-cost[unit_of(item)], first[unit_of(item)]))
        groups_dir = config.workerinput.get(GROUPS_DIR_KEY)  # type: ignore[attr-defined]
        if groups_dir:
            groups = {item.nodeid: g for item in items if (g := group_of(item)) is not None}
            worker = config.workerinput["workerid"]  # type: ignore[attr-defined]
            target = Path(groups_dir) / f"{worker}.json"
            partial = target.with_suffix(".partial")
            partial.write_text(json.dumps(groups), encoding="utf-8")
            os.replace(partial, target)  # the controller never reads half a file


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (created if missing) across processes: the
    second worker waits until the first has finished, then sees its result."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


__all__ = [
    "GroupScheduling",
    "ParallelPlugin",
    "cost_of",
    "exclusive",
    "group_of",
    "is_worker",
    "shared_deployment_group",
    "unit_of",
]
