"""The garbage-collector policy belongs to the command line, not to the library.

A program that imports batchform (a test, the benchmarks, an editor plug-in) must find the
interpreter as it left it after ``analyze``/``render_environment``; every ``batchform`` command
pauses the collector for its run (compiler/batchform/gc_policy.py and compiler/batchform/cli.py say
why) and turns
it back on before ``main`` returns.
"""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

import pytest

import batchform.cli
from batchform.build import analyze, render_environment
from batchform.cli import build_parser, main
from batchform.gc_policy import collector_paused

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "configs" / "tiny.yaml"


def _forbid(*_: Any) -> None:
    raise AssertionError("a library function changed the garbage collector's state")


def test_library_stages_leave_the_collector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("disable", "enable", "freeze", "unfreeze"):
        monkeypatch.setattr(gc, name, _forbid)
    analysis = analyze(TINY)
    assert analysis.env is not None and not analysis.failed()
    files = render_environment(analysis.env, TINY.name)
    assert 'resource "aws_batch_job_queue"' in files["job_queues.tf"]


COMMANDS = {
    "validate": [str(TINY)],
    "compile": [str(TINY)],
    "diff": [str(TINY), str(TINY)],
    "verify": [str(TINY)],
    "sandbox": [str(TINY)],
    "rules": [],
    "schema": [],
    "show": [str(TINY)],
    "import": ["--region", "us-east-1", "-o", "imported.yaml"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_runs_with_the_collector_paused_and_restores_it(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def spy(args: Any) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(batchform.cli, f"cmd_{command}", spy)
    assert gc.isenabled()
    assert main([command, *COMMANDS[command]]) == 0
    assert seen == [False]
    assert gc.isenabled()


def test_the_list_above_is_every_command() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)


def test_a_real_compile_restores_the_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    real = batchform.cli.analyze_files

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(batchform.cli, "analyze_files", spy)
    assert main(["compile", "-o", str(tmp_path / "out"), str(TINY)]) == 0
    assert seen == [False]
    assert gc.isenabled()
    assert (tmp_path / "out" / "tiny" / "job_queues.tf").is_file()


def test_the_pause_nests_and_respects_a_caller_who_turned_it_off() -> None:
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
