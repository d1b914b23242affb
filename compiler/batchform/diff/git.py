"""Input at the edge of ``batchform diff --base REF``: an environment file as it was at a git
revision, read with ``git show`` (no git library; git's own rules for revisions)."""

from __future__ import annotations

from collections.abc import Callable


class GitError(RuntimeError):
    """``git show`` failed for a reason other than the file not existing at that revision."""


# git's messages are parsed below ("does not exist in"), so git must speak English whatever the
# user's locale: LC_ALL=C wins over LANG and LC_MESSAGES, and makes gettext ignore LANGUAGE.
GIT_ENVIRONMENT = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C"}


def _check_ref(ref: str) -> None:
    """A revision must never be read as an option (``--output=...``) or carry control
    characters; git itself validates the rest (``git show --end-of-options``)."""
    if not ref or ref.startswith("-"):
        raise GitError(f"{ref!r} is not a git revision (a revision cannot start with '-')")
    if any(not c.isprintable() or c.isspace() for c in ref):
        raise GitError(f"{ref!r} is not a git revision (it contains spaces or control characters)")


def _decode(data: bytes, label: str) -> str:
    """UTF-8 text of a file read from git, or a BF004 error at the line and column (in
    characters) of the first byte that is not UTF-8."""
    from batchform.diagnostics import BatchformError, Diagnostic, Level
    from batchform.loader import CODE_UNREADABLE

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")) + 1
        raise BatchformError(
            [
                Diagnostic(
                    CODE_UNREADABLE,
                    Level.ERROR,
                    f"cannot read file: byte 0x{data[exc.start]:02x} is not UTF-8",
                    file=label,
                    line=line,
                    col=col,
                    hint="environment files are UTF-8; the old revision has another encoding",
                )
            ]
        ) from None


def read_at_git_ref(ref: str, path: str) -> str | None:
    """The text of ``path`` at git revision ``ref`` (``None`` if the file did not exist then).

    ``git show REF:./name`` run in the file's own directory resolves the path relative to it, so
    this works from any working directory and inside any repository layout. Raises
    :class:`GitError` when git fails, and ``BatchformError`` (BF004, located) when the old file
    is not UTF-8.
    """
    import os
    import subprocess
    from pathlib import Path

    _check_ref(ref)
    file = Path(path)
    directory = file.parent if str(file.parent) else Path(".")
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "show", "--end-of-options", f"{ref}:./{file.name}"],
            capture_output=True,
            check=False,
            env={**os.environ, **GIT_ENVIRONMENT},
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if result.returncode == 0:
        return _decode(result.stdout, f"{ref}:{path}")
    message = result.stderr.decode("utf-8", errors="replace").strip()
    if "does not exist in" in message or "exists on disk, but not in" in message:
        return None
    raise GitError(f"git show {ref}:{path} failed: {message}")


def base_reader(ref: str) -> Callable[[str], str]:
    """A reader (``batchform.overlay.Reader``) of the bases an old file extends, as they stood
    at ``ref`` too: their names arrive as ``REF:path``, the name the old file is reported under.
    A base missing at ``ref``, or git failing, is an unreadable file (BF004) at that name."""
    from batchform.diagnostics import BatchformError, Diagnostic, Level
    from batchform.loader import CODE_UNREADABLE

    def read(name: str) -> str:
        path = name.removeprefix(f"{ref}:")
        try:
            text = read_at_git_ref(ref, path) if path != name else None
        except GitError as exc:
            text, reason = None, str(exc)
        else:
            reason = f"no such file at {ref}"
        if text is None:
            raise BatchformError(
                [Diagnostic(CODE_UNREADABLE, Level.ERROR, f"cannot read file: {reason}", file=name)]
            )
        return text

    return read
