"""The garbage-collector policy belongs to the command line, not to the library.

A program that imports batchform (a test, the benchmarks, an editor plug-in) must find the
interpreter as it left it after ``analyze``/``render_environment``; ``batchform compile`` and
``validate`` pause the collector for their run (compiler/gc_policy.py says why) and turn it back
on before ``main`` returns.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

import compiler.cli
from compiler.build import analyze, render_environment
from compiler.cli import main
from compiler.gc_policy import collector_paused

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


@pytest.mark.parametrize("command", ["validate", "compile"])
def test_the_cli_pauses_the_collector_while_it_runs_and_restores_it(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[bool] = []
    real = compiler.cli.analyze_files

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(compiler.cli, "analyze_files", spy)
    extra = ["-o", str(tmp_path / "out")] if command == "compile" else []
    assert gc.isenabled()
    assert main([command, *extra, str(TINY)]) == 0
    assert seen == [False]
    assert gc.isenabled()


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
