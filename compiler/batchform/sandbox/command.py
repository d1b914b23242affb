"""``batchform sandbox CONFIG``: prove on a laptop or in CI, without AWS, that an environment
deploys.

Steps, each printed as one line with its duration:

1. ``compile``   load, check and render the file in memory (``generated/`` is never written);
2. ``emulator``  start ``moto_server`` on a free 127.0.0.1 port;
3. ``stand-ins`` create what the file assumes the account has (service-linked role, existing
   VPC, AMI parameters) and recompile with the stand-ins' ids;
4. ``init``      ``terraform init`` of a temporary copy pointed at the emulator;
5. ``apply``     ``terraform apply``;
6. ``re-plan``   ``terraform plan -detailed-exitcode``: a non-empty plan is a perpetual diff;
7. ``verify``    ``batchform verify`` (its Python API) against the emulator;
8. ``teardown``  stop the emulator (everything created lives and dies in it) and remove the
   temporary directory; with ``--keep`` only after Ctrl-C.

Whatever happens (a failed step, Ctrl-C, SIGTERM from a CI runner), teardown runs: the emulator's
and terraform's process groups are stopped and the temporary directory is removed. Exit code 0
only when every step passed; 1 otherwise; 130 when interrupted.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from batchform import requirements
from batchform.build import Analysis, analyze, analyze_text, render_environment
from batchform.diagnostics import BatchformError
from batchform.model import Environment
from batchform.overlay import load_chain, show
from batchform.report.diagnostics import format_diagnostic
from batchform.report.sandbox import format_summary, render, step_line
from batchform.sandbox import terraform as tf
from batchform.sandbox.emulator import (
    INSTALL_HINT,
    MotoServer,
    missing_emulator,
    moto_server,
    moto_version,
)
from batchform.sandbox.override import gaps_in, resource_blocks, verify_gaps, write_moto_module
from batchform.sandbox.result import SandboxReport, Step, StepStatus
from batchform.sandbox.standins import (
    create_stand_ins,
    name_placement_groups,
    without_refused_jobs,
)

STEPS = (  # in order; every run reports each of them (passed, failed or skipped)
    "compile",
    "emulator",
    "stand-ins",
    "init",
    "apply",
    "re-plan",
    "verify",
    "teardown",
)

ALWAYS_UNCHECKED = (
    "capacity and quotas: whether the region has the instance types / Fargate capacity the "
    "compute environments ask for, and whether vCPU and Batch service quotas allow max_vcpus",
    "IAM: moto stores roles and policies but never evaluates them, so missing permissions of "
    "the Batch, instance, execution and job roles only show on real AWS",
    "jobs: nothing is submitted; images, commands, secrets and mounts are not exercised",
)


MAX_SCRATCH_PATH = 64
"""Longest temporary directory given to terraform (see ``Sandbox._make_scratch``)."""
SCRATCH_PREFIX = "batchform-tf-"
"""Start of the name of a scratch directory made in /tmp (then the pid and a random part)."""


class StepFailed(Exception):
    """Ends a step as failed: ``detail`` is the one-line reason, ``output`` the evidence."""

    def __init__(self, detail: str, output: list[str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.output = output or []


@dataclass(frozen=True)
class SandboxOptions:
    config: str
    keep: bool = False
    format: str = "text"
    output: str | None = None


class Console:
    """Step lines on ``stream``; on a terminal, a live ``.. apply  12s`` line while a step runs."""

    def __init__(self, stream: TextIO, live: bool):
        self.stream = stream
        self.live = live
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def print(self, text: str) -> None:
        with self._lock:
            if self.live:
                self.stream.write("\r\033[K")
            self.stream.write(text + "\n")
            self.stream.flush()

    def start(self, name: str) -> None:
        if not self.live:
            return
        started = time.monotonic()
        self._stop.clear()

        def tick() -> None:
            while not self._stop.is_set():
                with self._lock:
                    elapsed = time.monotonic() - started
                    self.stream.write(f"\r\033[K  ..    {name:<9}  running {elapsed:.0f}s")
                    self.stream.flush()
                self._stop.wait(0.5)

        self._thread = threading.Thread(target=tick, name="sandbox-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            with self._lock:
                self.stream.write("\r\033[K")
                self.stream.flush()

    def finish(self, step: Step) -> None:
        self.stop()
        self.print(step_line(step))
        for item in step.output:
            for line in item.splitlines():
                self.print(f"        {line}")


def _plan_changes(stdout: str, limit: int = 40) -> list[str]:
    """The resources (and changed attributes) of a non-empty plan, for the step's output."""
    picked = [
        line.rstrip()
        for line in stdout.splitlines()
        if re.match(r"\s*# \S+ (will|must)", line) or re.match(r"\s+[~+-] \w", line)
    ]
    if len(picked) > limit:
        picked = [*picked[:limit], f"... {len(picked) - limit} more line(s)"]
    return picked


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling the job) ends the run like Ctrl-C: with a teardown."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _uninterruptible() -> Iterator[None]:
    """Teardown must finish: a second Ctrl-C (or SIGTERM) waits until it has."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Sandbox:
    """One run: holds the emulator, the temporary directory and the report being built."""

    def __init__(self, options: SandboxOptions, console: Console, report: SandboxReport):
        self.options = options
        self.console = console
        self.report = report
        self.stack = ExitStack()
        self.tmp: Path | None = None
        self.scratch: Path | None = None
        self.server: MotoServer | None = None
        self.env: Environment | None = None
        self.files: dict[str, str] = {}
        self.module: Path | None = None
        self.cli: tf.TerraformCLI | None = None

    # -- step machinery ------------------------------------------------------------------------

    def step(self, name: str, action: Callable[[], str | tuple[str, list[str]]]) -> bool:
        """Run ``action`` as step ``name``; record and print the outcome. False when it failed.

        ``action`` returns the detail line (optionally with output lines to show)."""
        self.console.start(name)
        started = time.monotonic()
        try:
            outcome = action()
        except StepFailed as exc:
            step = Step(name, StepStatus.FAILED, time.monotonic() - started, exc.detail, exc.output)
        except tf.TerraformError as exc:
            step = Step(
                name,
                StepStatus.FAILED,
                time.monotonic() - started,
                f"terraform {exc.args_run[0]} exited {exc.result.returncode}",
                exc.errors(),
            )
        except Exception as exc:
            # A crash inside a step (the emulator, boto3, the verifier) is that step's failure,
            # reported like any other: the run still tears down and gives a verdict.
            step = Step(
                name,
                StepStatus.FAILED,
                time.monotonic() - started,
                f"{name} crashed: {type(exc).__name__}: {exc}",
            )
        except KeyboardInterrupt:
            self.console.stop()
            self.report.steps.append(
                Step(name, StepStatus.FAILED, time.monotonic() - started, "interrupted")
            )
            self.console.print(step_line(self.report.steps[-1]))
            raise
        else:
            detail, output = outcome if isinstance(outcome, tuple) else (outcome, [])
            step = Step(name, StepStatus.PASSED, time.monotonic() - started, detail, output)
        self.report.steps.append(step)
        self.console.finish(step)
        return step.status == StepStatus.PASSED

    def skip(self, names: list[str], reason: str) -> None:
        for name in names:
            step = Step(name, StepStatus.SKIPPED, 0.0, reason)
            self.report.steps.append(step)
            self.console.finish(step)

    # -- the steps -------------------------------------------------------------------------------

    def _accept(self, analysis: Analysis, what: str) -> None:
        if analysis.failed() or analysis.env is None:
            raise StepFailed(
                f"{what} has errors (run `batchform validate {self.options.config}`)",
                [format_diagnostic(d) for d in analysis.diagnostics if d.level == "error"],
            )
        try:
            self.files = render_environment(analysis.env, Path(self.options.config).name)
        except BatchformError as exc:
            errors = [format_diagnostic(d) for d in exc.diagnostics]
            raise StepFailed(f"{what} cannot be rendered", errors) from exc
        self.env = analysis.env

    def compile(self) -> str:
        self._accept(analyze(self.options.config), "the file")
        assert self.env is not None
        self.report.environment, self.report.region = self.env.name, self.env.region
        return (
            f"{len(self.files)} files in memory for environment {self.env.name} "
            f"({self.env.region}); generated/ untouched"
        )

    def emulator(self) -> str:
        assert self.env is not None
        self.server = self.stack.enter_context(moto_server(region=self.env.region))
        return f"moto {moto_version()} on {self.server.url}"

    def stand_ins(self) -> tuple[str, list[str]]:
        assert self.env is not None and self.server is not None
        found = create_stand_ins(self.env, self.server)
        self.report.notes += found.notes
        self.report.not_checked += found.not_checked
        if found.replacements:
            # The merged file (compiler/batchform/overlay.py): an id to replace may sit in a base
            # the
            # file extends, and `show` writes the whole chain as one file reading the same.
            text = show(load_chain(self.options.config))
            self._accept(
                analyze_text(found.apply(text), self.options.config), "the file with stand-in ids"
            )
        self.env, unchecked = name_placement_groups(self.env)
        self.env, refused = without_refused_jobs(self.env)
        unchecked += refused
        if unchecked:
            self.files = render_environment(self.env, Path(self.options.config).name)
            self.report.not_checked += unchecked
        return ", ".join(found.made), found.notes

    def init(self) -> str:
        assert self.tmp is not None and self.server is not None and self.env is not None
        self.module = write_moto_module(self.files, self.tmp / "module", self.server.url)
        self.cli = tf.TerraformCLI.for_user(self.tmp)
        self._provider_in_mirror()
        result = tf.run(self.cli, ["init"], self.module, self._tf_env())
        version = re.search(r"Install(?:ing|ed) hashicorp/aws (v\d+(?:\.\d+)*)", result.stdout)
        provider = f"hashicorp/aws {version.group(1)}" if version else "providers"
        mirror = self.cli.mirror
        source = f"from mirror {mirror}" if mirror else "from your Terraform setup"
        return f"{provider} {source}"

    def _provider_in_mirror(self) -> None:
        """Fail with the reason, not Terraform's "Failed to query available provider packages",
        when the offline mirror holds no provider release the file's constraint admits (provider
        6 output, docs/real-aws.md "Provider 6", cannot be deployed from a 5.x mirror)."""
        assert self.cli is not None and self.env is not None
        mirror = self.cli.mirror
        if mirror is None:
            return
        constraint = self.env.terraform.aws_provider
        held = tf.mirror_versions(mirror)
        if held and not any(requirements.admits(constraint, v) for v in held):
            raise StepFailed(
                f"the provider mirror {mirror} holds hashicorp/aws {', '.join(held)}, and "
                f"terraform.aws_provider '{constraint}' admits none of them",
                [
                    "the sandbox deploys offline, from that mirror only; provider 6 output is "
                    "checked against the provider's schema instead (docs/real-aws.md, "
                    '"Provider 6")'
                ],
            )

    def apply(self) -> str:
        assert self.cli is not None and self.module is not None
        result, imported = tf.apply_importing_duplicates(self.cli, self.module, self._tf_env())
        done = re.search(r"Apply complete! Resources: (\d+) added", result.stdout)
        added = int(done.group(1)) + len(imported) if done else "?"
        note = (
            f" ({len(imported)} retried create(s) moto answered as duplicates were imported: "
            f"{', '.join(imported)})"
            if imported
            else ""
        )
        return f"{added} resources created in the emulator{note}"

    def replan(self) -> str:
        assert self.cli is not None and self.module is not None
        result = tf.run(
            self.cli,
            ["plan", "-detailed-exitcode"],
            self.module,
            self._tf_env(),
            ok_codes=(0, 2),
        )
        ignored = sum(len(labels) for _, labels in gaps_in(resource_blocks(self.module)))
        note = f" ({ignored} moto gap(s) ignored, listed below)" if ignored else ""
        if result.returncode == 2:
            summary = re.search(r"Plan: .*", result.stdout)
            raise StepFailed(
                "perpetual diff: a second plan right after apply still has changes "
                f"({summary.group(0) if summary else 'see below'})",
                _plan_changes(result.stdout),
            )
        return "no changes after apply" + note

    def verify(self) -> tuple[str, list[str]]:
        from batchform.verify.clients import make_clients
        from batchform.verify.engine import verify

        assert self.env is not None and self.server is not None
        clients = make_clients(
            region=self.env.region,
            endpoint_url=self.server.url,
            session=self.server.session(self.env.region),
        )
        result = verify(self.env, clients)
        problems: list[str] = []
        unchecked: list[str] = []
        gaps = verify_gaps(self.env)
        for check in result.sorted_resources():
            for difference in check.differences:
                reason = gaps.get((check.title, difference.attribute))
                if reason is not None:
                    item = f"verify of {check.title} skipped {difference.attribute}: {reason}"
                    if item not in unchecked:
                        unchecked.append(item)
                    continue
                problems.append(
                    f"{check.title}: {difference.attribute or 'resource'} {difference.kind}: "
                    f"expected {difference.expected!r}, found {difference.actual!r}"
                )
            # verify could not check it (a read or a comparison failed): not a pass.
            problems += [f"{check.title}: not checked: {u}" for u in check.unchecked]
        problems += [f"verify incomplete: {item}" for item in result.incomplete]
        self.report.not_checked += unchecked
        if problems:
            raise StepFailed(
                f"{len(problems)} problem(s): the emulator does not hold what the file says",
                problems,
            )
        checked = len(result.resources)
        extra = f", {len(unchecked)} not checked (listed below)" if unchecked else ""
        return f"in sync: {checked} resources match the file{extra}", []

    def _tf_env(self) -> dict[str, str]:
        assert self.server is not None and self.tmp is not None
        assert self.scratch is not None
        # Terraform's own temporary files (provider plugin sockets, left behind when a
        # provider is killed) live and die with a directory we remove.
        return {**self.server.env(), "TMPDIR": str(self.scratch)}

    def _make_scratch(self) -> Path:
        """A directory for terraform's temporary files, short enough for socket paths (go-plugin
        puts ``plugin<digits>`` sockets there; Linux allows 107 bytes): inside ours when it is
        short, else a sibling in /tmp, named after this process (``batchform-tf-<pid>-...``) so
        that one left behind by a killed run can be traced to it among concurrent runs."""
        assert self.tmp is not None
        scratch = self.tmp / "tmp"
        if len(str(scratch)) > MAX_SCRATCH_PATH and Path("/tmp").is_dir():
            return Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir="/tmp"))
        scratch.mkdir()
        return scratch

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="batchform-sandbox-"))
        self.scratch = self._make_scratch()
        order: list[tuple[str, Callable[[], str | tuple[str, list[str]]]]] = [
            ("compile", self.compile),
            ("emulator", self.emulator),
            ("stand-ins", self.stand_ins),
            ("init", self.init),
            ("apply", self.apply),
        ]
        for name, action in order:
            if not self.step(name, action):
                later = STEPS[STEPS.index(name) + 1 : STEPS.index("teardown")]
                self.skip(list(later), f"not run: {name} failed")
                self._keep_if_asked()
                return
        self._add_static_not_checked()
        self.step("re-plan", self.replan)
        self.step("verify", self.verify)
        self.report.not_checked += ALWAYS_UNCHECKED
        self._keep_if_asked()

    def _add_static_not_checked(self) -> None:
        assert self.env is not None and self.module is not None
        env = self.env
        for gap, labels in gaps_in(resource_blocks(self.module)):
            self.report.not_checked.append(
                f"{gap.resource_type}.{gap.attribute} ({', '.join(labels)}): {gap.reason}; "
                "ignored in the re-plan"
            )
        instance_ces = sorted(k for k, ce in env.compute_environments.items() if not ce.is_fargate)
        if instance_ces:
            self.report.not_checked.append(
                f"compute resource updates ({', '.join(instance_ces)}): moto ignores "
                "computeResources in UpdateComputeEnvironment, so only a fresh create was "
                "tested, not how a later edit is applied (use `batchform diff` for that)"
            )

    def _keep_if_asked(self) -> None:
        if not self.options.keep or self.server is None or self.env is None:
            return
        url, region = self.server.url, self.env.region
        lines = [
            f"emulator kept running at {url} (region {region}, any credentials work).",
            "Try:",
            f"  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --endpoint-url {url} "
            f"--region {region} batch describe-job-queues",
        ]
        if self.module is not None and self.cli is not None:
            config = f"TF_CLI_CONFIG_FILE={self.cli.cli_config} " if self.cli.cli_config else ""
            lines.append(
                f"  {config}AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
                f"terraform -chdir={self.module} state list"
            )
        lines.append("Press Ctrl-C to stop the emulator and remove the temporary files.")
        for line in lines:
            self.console.print(line)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.console.print("stopping the emulator")

    def teardown(self) -> None:
        """Stop the emulator and remove the temporary directory, whatever state we are in."""
        started = time.monotonic()
        with _uninterruptible():
            self.console.stop()
            self.stack.close()
            made = [d for d in (self.scratch, self.tmp) if d is not None]
            for directory in made:
                shutil.rmtree(directory, ignore_errors=True)
            left = [str(d) for d in made if d.exists()]
        step = Step(
            "teardown",
            StepStatus.FAILED if left else StepStatus.PASSED,
            time.monotonic() - started,
            f"could not remove {', '.join(left)}"
            if left
            else "emulator stopped, temporary files removed"
            if self.server is not None
            else "temporary files removed",
        )
        self.report.steps.append(step)
        self.console.finish(step)


def _preflight(err: TextIO) -> bool:
    missing = missing_emulator()
    if missing is not None:
        print(f"error: {missing}.\nInstall it with: {INSTALL_HINT}", file=err)
        return False
    if not tf.terraform_available():
        print(f"error: {tf.TerraformNotFound()}", file=err)
        return False
    try:
        tf.find_provider_mirror()
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=err)
        return False
    return True


def run(options: SandboxOptions, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the sandbox for ``options.config``; return the exit code (0 only when all passed)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if not Path(options.config).is_file():
        print(f"error: {options.config}: no such file", file=err)
        return 1
    if not _preflight(err):
        return 1
    to_stdout = options.format == "junit" and options.output is None
    progress = err if to_stdout else out
    console = Console(progress, live=progress.isatty())
    report = SandboxReport(config=options.config)
    console.print(f"batchform sandbox {options.config}")
    sandbox = Sandbox(options, console, report)
    with _signals_as_interrupt():
        try:
            sandbox.run()
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            sandbox.teardown()
    console.print(format_summary(report))
    rendered = render(report, options.format)
    if options.output:
        try:
            Path(options.output).parent.mkdir(parents=True, exist_ok=True)
            Path(options.output).write_text(rendered, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {options.output}: {exc.strerror or exc}", file=err)
            return 1
        console.print(f"report written to {options.output}")
    elif to_stdout:
        out.write(rendered)
    return report.exit_code
