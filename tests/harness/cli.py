"""Run ``batchform`` as a user does: a fresh interpreter, real arguments, real exit code.

The tests that hold the command line to its promises (exit codes, messages, files written, never
a traceback) start ``python -m batchform`` (what the ``batchform`` script runs) in a subprocess,
so that module state, signal handlers and output buffering are a real process's own.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
"""The repository: the working directory of a run unless the test gives another."""


def run_cli(
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``batchform ARGS`` run to its end, its output captured; fails the test on a traceback.

    Standard input is empty (``/dev/null``), as in CI: a command that waited for input would
    hang there."""
    result = subprocess.run(
        [sys.executable, "-m", "batchform", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result


__all__ = ["ROOT", "run_cli"]
