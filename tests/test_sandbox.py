"""``batchform sandbox``: every example deploys on the emulator, a broken one does not, and no
process or temporary directory survives a run, whether it ends normally or by Ctrl-C.

The e2e tests run the real command in a subprocess (as a user or CI would) with ``TMPDIR``
pointed at a directory of their own, so "nothing left behind" is checkable: that directory must
be empty afterwards and no process may still run from it or serve the emulator's port.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import boto3
import hcl2
import pytest

from batchform.build import analyze, analyze_text, render_environment
from batchform.cli import main
from batchform.report.sandbox import format_junit
from batchform.sandbox import command
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import resource_blocks, scan_resources
from batchform.sandbox.result import SandboxReport, Step, StepStatus
from batchform.sandbox.standins import create_stand_ins
from tests.harness.every_argument import PROVIDER5_CONFIGS

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
GENERATED = ROOT / "generated"
RUN_TIMEOUT_S = 900

NO_SUCH_AZ = "us-west-2e"


# -- helpers ------------------------------------------------------------------------------------


def _processes() -> Iterator[tuple[int, str, str]]:
    """``(pid, command line, working directory)`` of every process we may inspect."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        yield int(entry.name), cmdline, cwd


def _leftovers(sandbox: int, tmpdir: Path, port: str | None, since: float) -> list[str]:
    """Processes still running from ``tmpdir`` or serving moto on ``port``, and files left by
    the sandbox process ``sandbox``."""
    found = [
        f"process {pid}: {cmd}"
        for pid, cmd, cwd in _processes()
        if cwd.startswith(str(tmpdir)) or (port and "moto.server" in cmd and f"-p {port}" in cmd)
    ]
    found += [f"file {p}" for p in tmpdir.iterdir()]
    # Where terraform's scratch directory goes when TMPDIR is too long for plugin sockets (as
    # it is under tmp_path): /tmp, named after the sandbox's pid, so that the runs of other
    # tests (xdist workers run them at the same time) are not counted as this one's.
    found += [
        f"scratch {p}"
        for p in Path("/tmp").glob(f"{command.SCRATCH_PREFIX}{sandbox}-*")
        if p.stat().st_mtime > since
    ]
    return found


def _port(output: str) -> str | None:
    match = re.search(r"moto \S+ on http://127\.0\.0\.1:(\d+)", output)
    return match.group(1) if match else None


def _answers(port: str) -> bool:
    """Whether something still listens on the emulator's port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", int(port))) == 0


def _env(tmpdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmpdir)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(name, None)  # the sandbox must not need credentials
    return env


def _default_sigint() -> None:
    """A shell starts a background job with SIGINT ignored, and children inherit that (so
    ``make test &`` gave a sandbox that no Ctrl-C could stop); these tests send Ctrl-C as a
    terminal would, so the sandbox starts with SIGINT as a foreground process has it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sandbox(*args: str, tmpdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "batchform", "sandbox", *args],
        cwd=ROOT,
        env=_env(tmpdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_default_sigint,
    )


def _read_until(process: subprocess.Popen[str], pattern: str, timeout: float) -> str:
    """Lines of ``process`` up to the first matching ``pattern`` (fails on timeout or exit)."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"sandbox ended before {pattern!r}:\n" + "".join(seen))
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    pytest.fail(f"no {pattern!r} within {timeout}s:\n" + "".join(seen))


def _genomics_vpcs(port: str) -> list[dict[str, object]]:
    """The VPCs ``configs/genomics.yaml`` made in the emulator on ``port``."""
    ec2 = boto3.client(
        "ec2",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    tagged = [{"Name": "tag:batchform:environment", "Values": ["genomics-prod"]}]
    vpcs: list[dict[str, object]] = ec2.describe_vpcs(Filters=tagged)["Vpcs"]
    return vpcs


def _creating(process: subprocess.Popen[str], tmpdir: Path, port: str, timeout: float) -> list[str]:
    """Wait until apply is creating resources: terraform's aws provider runs from ``tmpdir`` and
    the first resource (the VPC) is in the emulator. Returns the command lines running then.

    Waiting for that, rather than a fixed time, keeps the test about an interrupt *during*
    apply on a loaded machine, where starting terraform and its provider alone takes seconds."""
    deadline = time.monotonic() + timeout
    running: list[str] = []
    while time.monotonic() < deadline and process.poll() is None:
        running = [cmd for _, cmd, cwd in _processes() if cwd.startswith(str(tmpdir))]
        if any("terraform-provider-aws" in cmd for cmd in running) and _genomics_vpcs(port):
            return running
        time.sleep(0.2)
    pytest.fail(f"apply did not start creating resources (exit {process.poll()}): {running}")


def _snapshot(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*")}


# -- without terraform: argument errors and the pieces ------------------------------------------


def test_without_the_emulator_it_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(command, "missing_emulator", lambda: "module 'moto' is missing")
    assert main(["sandbox", str(CONFIGS[0])]) == 1
    err = capsys.readouterr().err
    assert "pip install 'batchform[sandbox]'" in err
    assert "Traceback" not in err


def test_without_terraform_it_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["sandbox", str(CONFIGS[0])]) == 1
    assert "terraform binary not found on PATH" in capsys.readouterr().err


def test_a_file_with_errors_fails_at_compile_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIGS[0].read_text().replace("version: 1", "version: 7", 1))
    assert main(["sandbox", str(bad)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"FAIL\s+compile", out)
    assert re.search(r"skip\s+emulator\s+not run: compile failed", out)
    assert "FAILED:" in out


def test_missing_file_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "no/such.yaml"]) == 1
    assert capsys.readouterr().err.strip() == "error: no/such.yaml: no such file"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_resource_scanner_agrees_with_a_real_hcl_parser(config: Path, tmp_path: Path) -> None:
    """The sandbox finds resources without an HCL library; it must see what hcl2 sees."""
    env = analyze(config).env
    assert env is not None
    for name, text in render_environment(env, config.name).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    expected: dict[str, dict[str, set[str]]] = {}
    for path in sorted(tmp_path.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            document = hcl2.load(handle)
        for block in document.get("resource", []):
            for rtype, instances in block.items():
                for label, body in instances.items():
                    keys = {k for k in body if not k.startswith("__")}
                    expected.setdefault(rtype.strip('"'), {})[label.strip('"')] = keys
    found = {
        rtype: {label: set(body) for label, body in labels.items()}
        for rtype, labels in resource_blocks(tmp_path).items()
    }
    assert found == expected


def test_resource_scanner_skips_strings_comments_and_heredocs() -> None:
    text = (
        'resource "aws_x" "a" {\n'
        '  name = "brace { in string"\n'
        "  # service_role = commented out }\n"
        "  user_data = <<-EOT\n"
        "    service_role = not an argument {\n"
        "  EOT\n"
        "  tags {\n"
        "    service_role = nested\n"
        "  }\n"
        "}\n"
        'resource "aws_x" "b" {\n'
        "  service_role = var.role\n"
        "}\n"
    )
    assert scan_resources(text) == {
        "aws_x": {
            "a": {"name": '"brace { in string"', "user_data": "<<-EOT", "tags": "{"},
            "b": {"service_role": "var.role"},
        }
    }


def test_junit_lists_failures_and_what_was_not_checked() -> None:
    report = SandboxReport(config="c.yaml", environment="demo", region="us-west-2")
    report.steps = [
        Step("apply", StepStatus.FAILED, 2.0, "terraform apply exited 1", ["x: boom"]),
        Step("re-plan", StepStatus.SKIPPED, 0.0, "not run: apply failed"),
    ]
    report.not_checked = ["capacity"]
    suite = ElementTree.fromstring(format_junit(report)).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "2")
    messages = [s.get("message") for s in suite.iter("skipped")]
    assert "not checked by the sandbox: capacity" in messages
    assert report.exit_code == 1 and report.verdict.startswith("FAILED: demo")


def test_existing_vpc_gets_stand_ins_that_the_checks_accept(moto: MotoServer) -> None:
    config = ROOT / "configs" / "fargate.yaml"
    env = analyze(config).env
    assert env is not None and env.network.vpc.existing is not None
    found = create_stand_ins(env, moto)
    old = env.network.vpc.existing
    assert set(found.replacements) >= {old.vpc_id, *old.private_subnets, *old.public_subnets}
    patched = analyze_text(found.apply(config.read_text()), str(config))
    assert not patched.failed() and patched.env is not None
    assert patched.env.network.vpc.existing is not None
    new_vpc = patched.env.network.vpc.existing.vpc_id
    assert moto.client("ec2", env.region).describe_vpcs(VpcIds=[new_vpc])["Vpcs"]
    assert any("stand-in" in note for note in found.notes)
    assert any(old.vpc_id in item for item in found.not_checked)
    # a working VPC: public subnets route to an internet gateway
    ec2 = moto.client("ec2", env.region)
    public = found.replacements[old.public_subnets[0]]
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [public]}]
    )
    routes = tables["RouteTables"][0]["Routes"]
    assert any(r.get("GatewayId", "").startswith("igw-") for r in routes), routes
    # the job role the file names by ARN exists
    role = moto.client("iam").get_role(RoleName="etl-extract")["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/etl-extract"


# -- end to end: real terraform on the emulator -------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("config", PROVIDER5_CONFIGS, ids=lambda p: p.stem)
def test_every_example_deploys_in_the_sandbox(config: Path, tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    started = time.time()
    report = tmp_path / "report.xml"
    env = analyze(config).env
    assert env is not None
    generated_before = _snapshot(GENERATED / env.name)

    process = _sandbox(str(config), "--format", "junit", "--output", str(report), tmpdir=tmpdir)
    out, _ = process.communicate(timeout=RUN_TIMEOUT_S)

    assert process.returncode == 0, out
    assert re.search(rf"^PASSED: {env.name} deploys on the emulated AWS", out, re.M), out
    for step in ("compile", "emulator", "stand-ins", "init", "apply", "re-plan", "verify"):
        assert re.search(rf"^  ok\s+{step}\s.*\(\d+\.\d+s\)$", out, re.M), (step, out)
    assert "not checked by the sandbox" in out
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert int(suite.get("skipped") or 0) >= 3  # what only real AWS can show is listed
    if env.network.vpc.existing is not None:
        assert "stand-in VPC" in out
    assert _snapshot(GENERATED / env.name) == generated_before  # compiled in memory only
    assert _leftovers(process.pid, tmpdir, _port(out), started) == []


@pytest.mark.e2e
def test_an_environment_that_apply_rejects_fails_and_keep_leaves_the_emulator_up(
    tmp_path: Path,
) -> None:
    """us-west-2e is a well-formed zone name that us-west-2 does not have: validate only warns
    (BF209; its table may lag behind AWS), while AWS, and moto, reject a subnet there: the apply
    fails, and with --keep the emulator stays up with what was created, until Ctrl-C."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    started = time.time()
    broken = tmp_path / "broken.yaml"
    text = (ROOT / "configs" / "genomics.yaml").read_text()
    assert "availability_zones: [us-west-2a, us-west-2b]" in text
    broken.write_text(text.replace("[us-west-2a, us-west-2b]", f"[us-west-2a, {NO_SUCH_AZ}]"))
    assert main(["validate", str(broken)]) == 0

    process = _sandbox(str(broken), "--keep", tmpdir=tmpdir)
    try:
        out = _read_until(process, r"Press Ctrl-C", RUN_TIMEOUT_S)
        port = _port(out)
        assert port is not None and _answers(port), out
        assert re.search(r"^  FAIL\s+apply\s+terraform apply exited 1", out, re.M), out
        # the provider's error, attributed to its resource
        assert re.search(rf"aws_subnet\.\w+_us_west_2e: .*{NO_SUCH_AZ}", out), out
        assert re.search(r"^  skip\s+re-plan\s+not run: apply failed", out, re.M), out
        assert f"aws --endpoint-url http://127.0.0.1:{port}" in out
        assert _genomics_vpcs(port)  # what apply created is still there
        time.sleep(1)
        assert _answers(port)  # --keep: still up
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=120)
    assert process.returncode == 1, rest
    assert re.search(r"^FAILED: genomics-prod does not deploy .*\(apply failed\)", rest, re.M)
    assert not _answers(port)
    assert _leftovers(process.pid, tmpdir, port, started) == []


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_during_apply_stops_everything_and_removes_temporary_files(
    sig: signal.Signals, tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT), or SIGTERM from a CI runner cancelling the job, while terraform and its
    provider are creating resources: exit 130, nothing left running or on disk."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    started = time.time()
    process = _sandbox(str(ROOT / "configs" / "genomics.yaml"), tmpdir=tmpdir)
    try:
        out = _read_until(process, r"^  ok\s+init\s", RUN_TIMEOUT_S)
        port = _port(out)
        assert port is not None
        running = _creating(process, tmpdir, port, RUN_TIMEOUT_S)
        scratch = list(Path("/tmp").glob(f"{command.SCRATCH_PREFIX}{process.pid}-*"))
    finally:
        process.send_signal(sig)
        rest, _ = process.communicate(timeout=120)
    assert any("terraform apply" in cmd for cmd in running), out + rest
    assert any("terraform-provider-aws" in cmd for cmd in running), running
    assert len(scratch) == 1, scratch  # what _leftovers looks for is what the sandbox makes
    assert process.returncode == 130, out + rest
    assert re.search(r"^  FAIL\s+apply\s+interrupted", rest, re.M), rest
    assert "emulator stopped, temporary files removed" in rest
    assert rest.rstrip().endswith("the sandbox was stopped before it finished")
    assert not _answers(port)
    assert _leftovers(process.pid, tmpdir, port, started) == []


def test_an_ami_parameter_moto_lacks_gets_a_stand_in_value(moto: MotoServer) -> None:
    text = (ROOT / "configs" / "genomics.yaml").read_text()
    public = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    assert public in text
    env = analyze_text(text.replace(public, "/acme/batch/ami"), "custom.yaml").env
    assert env is not None
    found = create_stand_ins(env, moto)
    value = moto.client("ssm", env.region).get_parameter(Name="/acme/batch/ami")["Parameter"]
    assert value["Value"].startswith("ami-")
    assert any("/acme/batch/ami" in note and value["Value"] in note for note in found.notes)
    assert any("/acme/batch/ami" in item for item in found.not_checked)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_running_step_shows_its_elapsed_time() -> None:
    terminal = _Terminal()
    console = command.Console(terminal, live=terminal.isatty())
    console.start("apply")
    time.sleep(0.7)
    console.finish(Step("apply", StepStatus.PASSED, 0.7, "43 resources created"))
    text = terminal.getvalue()
    assert "\r\033[K  ..    apply      running 0s" in text
    assert text.endswith("  ok    apply      43 resources created  (0.7s)\n")


def test_output_file_gets_the_text_report(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\n")
    report = tmp_path / "out" / "sandbox.txt"
    assert main(["sandbox", str(bad), "--output", str(report)]) == 1
    text = report.read_text()
    assert text.startswith(f"batchform sandbox {bad}\n")
    assert "error BF102: missing required key 'network'" in text
    assert text.rstrip().splitlines()[-1].startswith("FAILED:")


def test_verify_gaps_are_excused_only_where_the_file_sets_them() -> None:
    """A moto gap excuses a verify difference on exactly the resources that use the setting."""
    from batchform.sandbox.override import verify_gaps

    text = (ROOT / "configs" / "genomics.yaml").read_text()
    env = analyze_text(text, "genomics.yaml").env
    assert env is not None
    gaps = verify_gaps(env)
    assert ("compute_environments.spot", "updatePolicy.terminateJobsOnUpdate") in gaps
    assert ("job_queues.high", "jobStateTimeLimitActions") in gaps
    # moto 5.2 has no schedulingPriority at all (moto/batch/models.py, JobDefinition)
    assert ("job_definitions.align", "schedulingPriority") in gaps
    assert not [
        g
        for g in gaps
        if g[0]
        in {
            "compute_environments.ondemand",
            "job_queues.serverless",
            "job_definitions.call-variants",
        }
    ]
