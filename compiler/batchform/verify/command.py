"""``batchform verify``: everything between the parsed arguments and the exit code.

Loads and checks the file first (a file with errors is not compared with anything), builds the
read-only clients, runs the verifier, renders the report to stdout or ``--output`` and returns
the ``-detailed-exitcode`` style code. Errors a user can cause (unknown profile, no region, an
unwritable output file) become one line on stderr and exit 1, never a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError

from batchform.build import analyze
from batchform.report.diagnostics import format_diagnostic
from batchform.report.verify import Source, render
from batchform.timeouts import DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_S, Limits
from batchform.verify.clients import Clients, iam_policy, make_clients
from batchform.verify.engine import verify
from batchform.verify.fetch import unreadable
from batchform.verify.result import EXIT_IN_SYNC, EXIT_INCOMPLETE


@dataclass(frozen=True)
class VerifyOptions:
    config: str | None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    format: str = "text"
    output: str | None = None
    verbose: bool = False
    print_iam_policy: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


class Progress:
    """``verify: 5 read (job queues)`` rewritten in place on a terminal's stderr; reads finish
    on worker threads, hence the lock."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.done = 0
        self.lock = threading.Lock()

    def __call__(self, what: str) -> None:
        with self.lock:
            self.done += 1
            self.stream.write(f"\r\033[Kverify: {self.done} read ({what})")
            self.stream.flush()

    def clear(self) -> None:
        with self.lock:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(
    options: VerifyOptions,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    clients: Clients | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if options.print_iam_policy:
        print(iam_policy(), file=out)
        return EXIT_IN_SYNC
    if options.config is None:
        print("error: verify needs an environment file (CONFIG)", file=err)
        return EXIT_INCOMPLETE
    analysis = analyze(options.config)
    if analysis.failed():
        for diag in analysis.diagnostics:
            print(format_diagnostic(diag), file=err)
        print(f"{options.config}: not verified: the file has errors", file=err)
        return EXIT_INCOMPLETE
    assert analysis.env is not None
    env = analysis.env
    limits = Limits(options.timeout_s, options.max_attempts)
    try:
        if clients is None:
            clients = make_clients(
                options.profile, options.region or env.region, options.endpoint_url, limits=limits
            )
    except BotoCoreError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_INCOMPLETE
    except ValueError as exc:  # botocore: "Invalid endpoint: ..."
        print(f"error: --endpoint-url: {exc}", file=err)
        return EXIT_INCOMPLETE
    progress = Progress(err) if err.isatty() else None
    try:
        report = verify(env, clients, progress)
    except Exception as exc:
        # Every read records its own failure; this is the last guard for an answer so odd
        # that comparing it failed outside a section: still "could not check", never a trace.
        print(f"error: could not check {options.config}: {unreadable(exc)}", file=err)
        return EXIT_INCOMPLETE
    finally:
        if progress is not None:
            progress.clear()
    doc = analysis.document
    source = Source(options.config, doc.positions, doc.key_positions) if doc else None
    text = render(report, options.format, options.verbose, source)
    if options.output:
        try:
            _write_atomically(Path(options.output), text)
        except OSError as exc:
            print(f"error: cannot write {options.output}: {exc.strerror or exc}", file=err)
            return EXIT_INCOMPLETE
        print(f"{report.verdict}: report written to {options.output}", file=out)
    else:
        out.write(text)
    return report.exit_code
