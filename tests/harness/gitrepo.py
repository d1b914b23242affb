"""A throwaway git repository for tests of ``diff --base`` (any identity, no global config)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> None:
    """``git -C repo ARGS`` with a fixed author; fails the test when git does."""
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


__all__ = ["git"]
