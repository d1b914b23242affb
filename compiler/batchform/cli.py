"""Command line: argument parsing only; every command calls the stages and maps results to
exit codes (0 clean, 1 errors; ``verify`` adds 2 for drift)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from batchform import __version__
from batchform.build import (
    Analysis,
    analyze,
    analyze_files,
    render_environment,
    source_label,
)
from batchform.diagnostics import BatchformError, Diagnostic, Level, sort_diagnostics
from batchform.report import diagnostics as report
from batchform.timeouts import DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_S, Limits

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2  # as argparse exits for a command line it cannot use


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: a number above zero (a zero timeout would never connect)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive finite number: {text!r}")
        return value

    return parse


def _print_diagnostics(diags: Sequence[Diagnostic], fmt: str, out: TextIO) -> None:
    """``compile``'s diagnostics (on stderr): the lines, or the JSON document."""
    out.write(report.format_json(diags) if fmt == "json" else report.format_text(diags))


def _analyze_all(args: argparse.Namespace) -> list[Analysis]:
    ignore = tuple(code.strip() for item in args.ignore for code in item.split(",") if code)
    return analyze_files(args.configs, ignore)


def _any_failed(analyses: Sequence[Analysis], strict: bool) -> bool:
    return any(a.failed(strict) for a in analyses)


def cmd_validate(args: argparse.Namespace) -> int:
    analyses = _analyze_all(args)
    failed = _any_failed(analyses, args.strict)
    run = report.CheckRun(
        files=[a.file for a in analyses],
        diagnostics=sort_diagnostics(d for a in analyses for d in a.diagnostics),
        failed=failed,
        strict=args.strict,
    )
    sys.stdout.write(report.render(run, args.format))
    return EXIT_ERRORS if failed else EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from batchform.emit import environment_directory

    analyses = _analyze_all(args)
    diags = sort_diagnostics(d for a in analyses for d in a.diagnostics)
    _print_diagnostics(diags, args.format, sys.stderr)
    if _any_failed(analyses, args.strict):
        summary = report.summary_line(diags)
        print(f"compile failed: {summary}; nothing was written", file=sys.stderr)
        return EXIT_ERRORS
    rendered: list[tuple[Analysis, dict[str, str], Path]] = []
    out_root = Path(args.output)
    for a in analyses:
        assert a.env is not None
        try:
            files = render_environment(a.env, source_label(a))
            files.update(a.placed)
            rendered.append((a, files, environment_directory(out_root, a.env.name)))
        except BatchformError as exc:
            _print_diagnostics(exc.diagnostics, args.format, sys.stderr)
            return EXIT_ERRORS
    if args.check:
        return _check_outputs(rendered, args.format)
    return _write_outputs(rendered, args.format)


def _check_outputs(rendered: Sequence[tuple[Analysis, dict[str, str], Path]], fmt: str) -> int:
    """``compile --check``: print what differs (files and manifest) and what compile would
    refuse; write nothing."""
    from batchform.emit import check

    stale = False
    for a, files, directory in rendered:
        result = check(files, directory)
        for diff in result.diffs.values():
            sys.stdout.write(diff)
        _print_diagnostics(result.problems, fmt, sys.stderr)
        if result.stale:
            stale = True
            what = f"{len(result.diffs)} file(s) differ from {a.file}"
            if result.problems:
                what += f", {len(result.problems)} problem(s) compile would refuse"
            print(
                f"{result.directory}/ is stale: {what}; run `batchform compile {a.file}`",
                file=sys.stderr,
            )
    if not stale:
        print(f"{len(rendered)} environment(s) up to date")
    return EXIT_ERRORS if stale else EXIT_OK


def _write_outputs(rendered: Sequence[tuple[Analysis, dict[str, str], Path]], fmt: str) -> int:
    """Write every environment as one transaction: a refusal or failure changes none of them."""
    from batchform.emit import emit_all

    try:
        results = emit_all([(files, directory) for _, files, directory in rendered])
    except BatchformError as exc:
        _print_diagnostics(exc.diagnostics, fmt, sys.stderr)
        print("compile failed: no output directory was changed", file=sys.stderr)
        return EXIT_ERRORS
    for (a, _, _), res in zip(rendered, results, strict=True):
        detail = f"{len(res.written)} written, {len(res.unchanged)} unchanged"
        if res.removed:
            detail += f", {len(res.removed)} removed ({', '.join(res.removed)})"
        print(f"{a.file} -> {res.directory}/ ({detail})")
        replaced = [name for name in res.edited if name in res.written]
        if replaced:
            print(f"  replaced hand edits in: {', '.join(replaced)}")
        dropped = [name for name in res.edited if name in res.removed]
        if dropped:
            print(f"  removed although edited by hand: {', '.join(dropped)}")
        for line in _submit_time_parameters(a):
            print(f"  {line}")
    return EXIT_OK


def _submit_time_parameters(a: Analysis) -> list[str]:
    from batchform.derive import required_parameters
    from batchform.plan.readme import fair_share_notes

    assert a.env is not None
    lines = []
    for key in sorted(a.env.job_definitions):
        required = required_parameters(a.env.job(key))
        if required:
            lines.append(
                f"job definition '{key}' needs at submit time: "
                + ", ".join(f"--parameters {p}=..." for p in required)
            )
    return lines + fair_share_notes(a.env)


def _or_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def cmd_rules(args: argparse.Namespace) -> int:
    """Without a code, list every code; with codes, print each one's page."""
    from batchform import rulepages
    from batchform.codes import all_codes, close_codes, lookup
    from batchform.ruledocs import RuleDocError

    if not args.codes:
        codes = all_codes()
        if args.format == "json":
            print(rulepages.listing_json(codes))
        elif args.format == "markdown":
            sys.stdout.write(rulepages.listing_markdown(codes))
        else:
            sys.stdout.write(rulepages.listing_text(codes))
        return EXIT_OK
    found = []
    for text in args.codes:
        code = lookup(text)
        if code is None:
            close = close_codes(text)
            hint = f"; did you mean {_or_list(close)}?" if close else ""
            print(
                f"batchform rules: {text!r} is not a batchform code{hint} "
                "(`batchform rules` lists every code)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        found.append(code)
    try:
        if args.format == "json":
            entries = [rulepages.json_entry(c) for c in found]
            print(json.dumps(entries[0] if len(entries) == 1 else entries, indent=2))
        else:
            page = rulepages.markdown_page if args.format == "markdown" else rulepages.text_page
            sys.stdout.write("\n".join(page(c) for c in found))
    except RuleDocError as exc:  # a documentation file being edited: say where, not a traceback
        for problem in exc.problems:
            print(f"{problem}", file=sys.stderr)
        return EXIT_ERRORS
    return EXIT_OK


DIFF_USAGE = (
    "batchform diff [--format {text,markdown,json}] OLD NEW\n"
    "       batchform diff [--format {text,markdown,json}] --base GIT_REF CONFIG [CONFIG ...]"
)


def _diff_usage_error(args: argparse.Namespace) -> str | None:
    """Why the positional arguments do not fit the two forms of ``diff``, or None.

    Each form has one meaning per position: without ``--base`` the two files are the old and
    the new version; with it every file is a new version, compared with itself at GIT_REF.
    """
    count = len(args.files)
    if args.base is not None:
        if count == 0:
            return "--base GIT_REF needs the file(s) to compare with that revision"
        return None
    if count == 2:
        return None
    if count == 1:
        return (
            "without --base, diff compares two files (OLD NEW) and got one; to compare a file "
            "with a git revision, add --base GIT_REF"
        )
    return f"without --base, diff compares two files (OLD NEW) and got {count}"


def cmd_diff(args: argparse.Namespace) -> int:
    problem = _diff_usage_error(args)
    if problem is not None:
        print(f"usage: {DIFF_USAGE}\nbatchform diff: error: {problem}", file=sys.stderr)
        return EXIT_ERRORS
    if args.base is None:
        return _diff_one(args.files[0], analyze(args.files[0]), args.files[1], args.format)
    from batchform.diff import GitError

    codes = []
    try:
        for i, path in enumerate(args.files):
            if i:
                sys.stdout.write("\n")  # one blank line between the files' comparisons
            codes.append(_diff_with_base(args.base, path, args.format))
    except GitError as exc:  # a bad revision, or no git: the same for every file, said once
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    return max(codes)


def _diff_with_base(base: str, new_path: str, fmt: str) -> int:
    """``new_path`` compared with itself at git revision ``base`` (absent there: all new)."""
    from batchform.build import analyze_text
    from batchform.diff import base_reader, read_at_git_ref

    old_label = f"{base}:{new_path}"
    try:
        old_text = read_at_git_ref(base, new_path)
    except BatchformError as exc:
        _print_diagnostics(exc.diagnostics, "text", sys.stderr)
        return EXIT_ERRORS
    old = None if old_text is None else analyze_text(old_text, old_label, read=base_reader(base))
    if old is None:
        old_label = f"{base}: (no such file)"
    return _diff_one(old_label, old, new_path, fmt)


def _diff_one(old_label: str, old: Analysis | None, new_path: str, fmt: str) -> int:
    from batchform.diff import diff_environments
    from batchform.report.diff import render

    new = analyze(new_path)
    failed = [a for a in (old, new) if a is not None and a.env is None]
    if failed:
        for a in failed:
            _print_diagnostics(a.diagnostics, "text", sys.stderr)
        print("diff needs two valid environment files", file=sys.stderr)
        return EXIT_ERRORS
    assert new.env is not None
    result = diff_environments(old.env if old is not None else None, new.env)
    sys.stdout.write(render(result, fmt, old_label, new_path))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """The environment as batchform reads it: a file with its ``extends`` chain merged, each
    value annotated with the file and line it was written at (compiler/batchform/overlay.py)."""
    from batchform.overlay import load_chain, show

    try:
        doc = load_chain(args.config)
    except BatchformError as exc:
        _print_diagnostics(exc.diagnostics, "text", sys.stderr)
        return EXIT_ERRORS
    sys.stdout.write(show(doc))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from batchform.schema import schema_text

    text = schema_text()
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            _print_io_error(args.output, "cannot write the schema", exc)
            return EXIT_ERRORS
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from batchform.verify.command import VerifyOptions, run

    return run(
        VerifyOptions(
            config=args.config,
            profile=args.profile,
            region=args.region,
            endpoint_url=args.endpoint_url,
            format=args.format,
            output=args.output,
            verbose=args.verbose,
            print_iam_policy=args.print_iam_policy,
            timeout_s=args.timeout,
            max_attempts=args.max_attempts,
        )
    )


def cmd_sandbox(args: argparse.Namespace) -> int:
    from batchform.sandbox.command import SandboxOptions, run

    return run(
        SandboxOptions(config=args.config, keep=args.keep, format=args.format, output=args.output)
    )


def _add_check_options(p: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="environment file(s)")
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CODE",
        help="silence a warning by code (repeatable, or comma-separated)",
    )
    p.add_argument("--strict", action="store_true", help="warnings fail the run too")
    p.add_argument("--format", choices=list(formats), default="text", help=FORMAT_HELP)


FORMAT_HELP = "output format (docs/output-formats.md describes each)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchform",
        description="Compile an AWS Batch environment file into Terraform, validate it, "
        "and check deployed drift.",
    )
    parser.add_argument("--version", action="version", version=f"batchform {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compile", help="write generated/<name>/*.tf from environment files")
    _add_check_options(p, ["text", "json"])
    p.add_argument("-o", "--output", default="generated", metavar="DIR")
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a diff when the output on disk is stale",
    )
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("validate", help="check environment files against every rule")
    _add_check_options(p, report.FORMATS)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "rules",
        help="list every code, or explain one (batchform rules BF483)",
        description="Without CODE, list every code batchform reports with its level and "
        "summary. With CODE, print its page: what AWS does and why the rule exists, an example "
        "that reports it and what batchform then says, the fix, and the sources. An unknown "
        "code exits with 2.",
    )
    p.add_argument("codes", nargs="*", metavar="CODE", help="a code such as BF483 (or 483)")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser(
        "diff",
        help="what a change to an environment file does to AWS (replacements, risks)",
        usage=DIFF_USAGE.replace("batchform diff", "%(prog)s"),
        description="Compare two versions of an environment file resource by resource: two "
        "files (OLD NEW), or each CONFIG with itself at a git revision (--base GIT_REF). "
        "Exit code 0 whenever the comparison was made, also when there are changes; 1 when "
        "a file is invalid, git fails or the files do not fit either form.",
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="OLD NEW: the file before and after the change; with --base: each CONFIG to "
        "compare with itself at GIT_REF",
    )
    p.add_argument(
        "--base",
        metavar="GIT_REF",
        help="compare each CONFIG with itself at this git revision (a file the revision does "
        "not have is all new)",
    )
    p.add_argument(
        "--format", choices=["text", "markdown", "json"], default="text", help=FORMAT_HELP
    )
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser(
        "show",
        help="print an environment file as batchform reads it, bases merged",
        description="Print CONFIG with the files it extends merged in, as YAML batchform reads "
        "back to the same environment; every line says which file and line its value came from.",
    )
    p.add_argument("config", metavar="CONFIG")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("schema", help="print the JSON Schema of the environment file")
    p.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of stdout")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser(
        "verify",
        help="compare the deployed environment with the file (read-only)",
        description="Read the deployed AWS Batch environment (Describe/List/Get calls only) and "
        "report drift and health problems. Exit code 0 in sync, 2 drift or unhealthy, 1 error "
        "or incomplete check.",
    )
    p.add_argument("config", metavar="CONFIG", nargs="?", help="the environment file")
    p.add_argument("--profile", help="AWS profile to read with")
    p.add_argument("--region", help="region to read (default: the file's region)")
    p.add_argument("--endpoint-url", metavar="URL", help="send every AWS call to this endpoint")
    p.add_argument(
        "--format",
        choices=["text", "json", "junit", "markdown", "sarif"],
        default="text",
        help=FORMAT_HELP,
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    p.add_argument("-v", "--verbose", action="store_true", help="list in-sync resources too")
    p.add_argument(
        "--print-iam-policy",
        action="store_true",
        help="print the least-privilege read-only IAM policy verify needs, and exit",
    )
    p.add_argument(
        "--timeout",
        type=_positive(float),
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="connect and read timeout of each attempt of each AWS call "
        f"(default {DEFAULT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--max-attempts",
        type=_positive(int),
        default=DEFAULT_MAX_ATTEMPTS,
        metavar="N",
        help="attempts per AWS call, retries of throttling and network errors included "
        f"(default {DEFAULT_MAX_ATTEMPTS}); an endpoint that never answers is given up after "
        f"N x SECONDS plus backoff ({Limits().bound_s():g} s by default)",
    )
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "sandbox",
        help="deploy the environment on an emulated AWS (moto) to prove it deploys",
        description="Compile the file in memory, start an emulated AWS on 127.0.0.1, run "
        "terraform init/apply, re-plan to catch perpetual diffs, run verify against it and "
        "tear everything down. No AWS credentials needed. Exit code 0 only when every step "
        "passed. Needs terraform on PATH and pip install 'batchform[sandbox]'.",
    )
    p.add_argument("config", metavar="CONFIG", help="the environment file")
    p.add_argument(
        "--keep",
        action="store_true",
        help="leave the emulator running with the environment in it until Ctrl-C",
    )
    p.add_argument("--format", choices=["text", "junit"], default="text", help=FORMAT_HELP)
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    p.set_defaults(func=cmd_sandbox)
    _add_import_parser(sub)
    return parser


# --- batchform import (compiler/batchform/importer/) -----------------------------------------


def _add_import_parser(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="write an environment file (and import blocks) from an existing AWS Batch setup",
        description="Read an existing AWS Batch environment (Describe/List/Get calls only): "
        "the job queues (all, or those named), their compute environments and scheduling "
        "policies, the latest ACTIVE revision of every job definition (or those named), and "
        "the EventBridge Scheduler schedules that submit to them. "
        "Write FILE in the format's own keys, with exact AWS names (aws_name), and beside it "
        "<FILE stem>.imports.tf, Terraform import blocks `batchform compile` copies into the "
        "module. What the file cannot hold is written as a comment where it belongs and listed "
        "at the end. Exit code 0 when the adoption is exact, 2 when something was left out, 1 "
        "when nothing was written. docs/importing.md is the guide.",
    )
    p.add_argument("--region", required=True, help="the Region to read")
    p.add_argument("--profile", help="AWS profile to read with")
    p.add_argument("--endpoint-url", metavar="URL", help="send every AWS call to this endpoint")
    p.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="NAME",
        help="a job queue to start from (repeatable; default: every queue in the Region)",
    )
    p.add_argument(
        "--job-definition",
        action="append",
        default=[],
        metavar="NAME",
        help="a job definition to import (repeatable; default: every ACTIVE one)",
    )
    p.add_argument("--name", help="the environment name (default: the queues' common prefix)")
    p.add_argument(
        "--from-terraform",
        metavar="DIR",
        help="adopt what the Terraform configuration in DIR manages (its aws_batch_* resources, "
        "named by the configuration or by `terraform show -json` there), and write "
        "<FILE stem>.removed.tf: removed blocks that make the old state forget them",
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    p.add_argument(
        "--force", action="store_true", help="replace FILE and its imports file if they exist"
    )
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    import re

    from batchform.importer.command import Request, main
    from batchform.model import NAME_PATTERN

    if args.name is not None and not re.fullmatch(NAME_PATTERN, args.name):
        print(
            f"batchform import: error: --name {args.name!r} is no environment name "
            "(2-28 lowercase letters, digits and '-', starting with a letter)",
            file=sys.stderr,
        )
        return EXIT_ERRORS
    request = Request(
        region=args.region,
        output=Path(args.output),
        profile=args.profile,
        endpoint_url=args.endpoint_url,
        queues=tuple(args.queue),
        job_definitions=tuple(args.job_definition),
        name=args.name,
        force=args.force,
        from_terraform=Path(args.from_terraform) if args.from_terraform else None,
    )
    return main(request)


def _print_io_error(where: str, what: str, exc: OSError) -> None:
    from batchform.emit import CODE_IO

    hint = None
    if isinstance(exc, FileNotFoundError):
        hint = f"the directory {str(Path(where).parent)!r} does not exist; create it first"
    reason = exc.strerror or type(exc).__name__
    diag = Diagnostic(CODE_IO, Level.ERROR, f"{what}: {reason}", file=where, hint=hint)
    _to_stderr(report.format_diagnostic(diag))


def _to_stderr(line: str) -> None:
    """Best effort: a closed or full stderr must not turn an error into a traceback."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


class StdoutError(Exception):
    """Standard output refused what was printed (a full disk, a closed pipe)."""

    def __init__(self, cause: OSError):
        super().__init__(cause)
        self.cause = cause


class _GuardedStdout:
    """``sys.stdout`` that tells its own write failures apart from any other OSError.

    Why: without it a full disk behind stdout (``> /dev/full``) and, say, an unwritable report
    file are the same ``OSError`` to :func:`main`, and the message would blame the wrong one.
    """

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise StdoutError(exc) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise StdoutError(exc) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _discard_stdout(stream: TextIO) -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's final flush of what is still
    buffered cannot fail again (and print "Exception ignored ..." with a traceback)."""
    if stream is not sys.__stdout__:
        return  # not the process's stdout (a test captures it): nothing is flushed at exit
    try:
        fileno = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)


def _run(args: argparse.Namespace) -> int:
    """Run the command with the garbage collector paused (``compiler/batchform/gc_policy.py`` says
    why).

    The policy belongs here, at the entry point of a short-lived process, and not in
    ``batchform.build``: a library caller keeps its own interpreter settings. Measured on the
    benchmark's files (``benchmarks/genenv.py``; processes, median of 3 on a loaded 2-core
    machine), same output bytes: ``compile`` took 0.96 s of CPU instead of 1.31 s at 1000 job
    definitions and 3.0 s instead of 5.0 s at 5000, peak RSS unchanged; ``verify`` (its
    analysis of the file, against an endpoint that refuses) 1.36 s instead of 1.84 s at 1000
    and 3.2 s instead of 5.3 s at 5000, peak RSS 3-7% higher. Every command gets it: the others
    wait on the network or on Terraform, where the collector makes no measurable difference.
    """
    from batchform.gc_policy import collector_paused

    with collector_paused():
        return int(args.func(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Every way writing can fail ends as one line on stderr and exit 1."""
    real_stdout = sys.stdout
    if real_stdout is sys.__stdout__ and isinstance(real_stdout, io.TextIOWrapper):
        # An ASCII-only locale must not turn a file name like `ü.yaml` into a traceback.
        real_stdout.reconfigure(errors="backslashreplace")
    sys.stdout = _GuardedStdout(real_stdout)  # also for --help, which argparse writes
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:
            sys.stdout.flush()  # --help/--version: argparse itself ignores a failed write
            raise
        code: int = _run(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        _to_stderr("interrupted")
        return 130
    except StdoutError as exc:
        from batchform.emit import CODE_IO

        closed = isinstance(exc.cause, BrokenPipeError)
        reason = "it was closed" if closed else exc.cause.strerror or str(exc.cause)
        _discard_stdout(real_stdout)
        _to_stderr(f"batchform: error {CODE_IO}: cannot write to standard output: {reason}")
        return EXIT_ERRORS
    except OSError as exc:
        from batchform.emit import CODE_IO

        where = f"{exc.filename}: " if exc.filename else ""
        _to_stderr(f"batchform: error {CODE_IO}: {where}{exc.strerror or exc}")
        return EXIT_ERRORS
    finally:
        if isinstance(sys.stdout, _GuardedStdout):
            sys.stdout = real_stdout
    return code
