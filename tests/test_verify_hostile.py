"""``batchform verify`` against endpoints that are not AWS: garbage answers, an invalid URL, an
endpoint that never answers. Each must end in "could not check" with exit 1 and a message
naming the call, never a traceback, and a silent endpoint must be given up within the bound
``--timeout`` and ``--max-attempts`` state (``compiler/batchform/timeouts.py``).

The endpoints are small HTTP servers on 127.0.0.1 started by the test itself (daemon threads,
shut down by the fixture), so nothing leaves the machine.
"""

from __future__ import annotations

import http.server
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from botocore.exceptions import ClientError

from batchform.timeouts import DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_S, Limits
from batchform.verify import fetch, gather
from batchform.verify.command import VerifyOptions, run
from batchform.verify.fetch import Reader
from tests.harness.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "fargate.yaml"

ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "not-utf8": (200, "application/json", b'{"computeEnvironments": ["\xff\xfe\x80"]}\xff'),
    "empty-json": (200, "application/json", b"{}"),
    "missing-fields": (
        200,
        "application/json",
        b'{"computeEnvironments": [{"state": "ENABLED"}], "jobQueues": [{}],'
        b' "jobDefinitions": [{"revision": 1}], "schedulingPolicies": [{"name": 1}],'
        b' "logGroups": [{"arn": "x"}], "Parameter": {}}',
    ),
    "json-for-xml": (200, "application/json", b'{"Role": {"RoleName": "x"}, "Vpcs": []}'),
    "html-error-page": (
        502,
        "text/html",
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body>",
    ),
    "html-ok": (200, "text/html", b"<!DOCTYPE html><html><body><p>Sign in</p></body></html>"),
    "xml-for-json": (200, "text/xml", b"<?xml version='1.0'?><Response><Errors/></Response>"),
}
"""What a broken proxy, a captive portal or a service that is not AWS answers: status,
content type, body. Every request gets the same answer, whatever the service."""


class _Garbage(http.server.BaseHTTPRequestHandler):
    answer: tuple[int, str, bytes] = (200, "application/json", b"{}")
    paths: ClassVar[list[str]] = []  # each fixture's handler class gets its own list

    def _reply(self) -> None:
        self.paths.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, kind, body = self.answer
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test asserts on verify's output, not the server's."""


@pytest.fixture
def garbage(request: pytest.FixtureRequest) -> Iterator[str]:
    """A local HTTP endpoint answering every request with ``ANSWERS[request.param]``."""
    handler = type("Handler", (_Garbage,), {"answer": ANSWERS[request.param], "paths": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    request.node.paths = handler.paths
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent() -> Iterator[str]:
    """A local endpoint that accepts every connection and never answers (a hung proxy)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials that sign requests and reach nothing: the endpoints are local."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def verify_cli(*args: str, timeout: float = 120) -> tuple[int, str, str, float]:
    """``batchform verify`` as a user runs it: exit code, stdout, stderr, wall seconds."""
    start = time.monotonic()
    done = run_cli("verify", CONFIG, *args, timeout=timeout)
    return done.returncode, done.stdout, done.stderr, time.monotonic() - start


@pytest.mark.parametrize("garbage", sorted(ANSWERS), indirect=True)
def test_a_garbage_answer_is_could_not_check_with_exit_1(garbage: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    options = VerifyOptions(
        config=str(CONFIG), endpoint_url=garbage, timeout_s=5, max_attempts=2, format="text"
    )
    code = run(options, out, err)
    text = out.getvalue() + err.getvalue()
    assert code == 1, text
    assert "Traceback" not in text
    assert "The check is INCOMPLETE; these could not be checked:" in out.getvalue(), text
    # the first Batch read names the call and why, on one line
    assert "batch:DescribeComputeEnvironments failed: " in out.getvalue(), text


@pytest.mark.parametrize("garbage", ["missing-fields"], indirect=True)
def test_a_missing_field_is_named_in_the_message(garbage: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    options = VerifyOptions(config=str(CONFIG), endpoint_url=garbage, max_attempts=1)
    assert run(options, out, err) == 1
    assert (
        "batch:DescribeComputeEnvironments failed: the answer could not be read "
        "(MalformedAnswer: computeEnvironmentName should be a str, got nothing)"
    ) in out.getvalue()


@pytest.mark.parametrize("garbage", ["html-error-page"], indirect=True)
@pytest.mark.parametrize("attempts", [1, 3])
def test_max_attempts_is_the_number_of_attempts_per_call(
    garbage: str, attempts: int, request: pytest.FixtureRequest
) -> None:
    """A 502 is retried; ``--max-attempts N`` makes N requests of each call, the first
    included (botocore's own ``max_attempts`` setting would count retries only)."""
    options = VerifyOptions(config=str(CONFIG), endpoint_url=garbage, max_attempts=attempts)
    assert run(options, io.StringIO(), io.StringIO()) == 1
    paths: list[str] = request.node.paths
    assert paths.count("/v1/describecomputeenvironments") == attempts


@pytest.mark.parametrize(
    "url", ["not a url", "http://127.0.0.1:notaport", "ftp://127.0.0.1/", "http://", "://x"]
)
def test_an_invalid_endpoint_url_is_an_error_not_a_traceback(url: str) -> None:
    code, out, err, _ = verify_cli("--endpoint-url", url, "--timeout", "1", "--max-attempts", "1")
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert err.startswith("error: --endpoint-url: ") or "could not be checked" in out, out + err


def test_an_endpoint_that_never_answers_is_given_up_within_the_stated_bound(silent: str) -> None:
    limits = Limits(timeout_s=1, max_attempts=2)
    code, out, err, elapsed = verify_cli(
        "--endpoint-url", silent, "--timeout", "1", "--max-attempts", "2"
    )
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert "the batch endpoint is unreachable (Read timeout on endpoint URL" in out, out
    # The bound is part of the behaviour: the calls give up after 2 x 1 s plus backoff; the
    # rest is start-up, and a generous margin for a loaded machine.
    assert elapsed < limits.bound_s() + 20, elapsed


def test_the_default_bound_is_under_a_minute_and_the_help_states_it() -> None:
    assert Limits().bound_s() < 60
    assert (DEFAULT_TIMEOUT_S, DEFAULT_MAX_ATTEMPTS) == (10.0, 3)
    code, out, _, _ = verify_cli("--help")
    assert code == 0
    flat = " ".join(out.split())
    assert f"{Limits().bound_s():g} s by default" in flat, flat


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(value: str) -> None:
    code, _, err, _ = verify_cli("--timeout", value)
    assert code == 2
    assert "argument --timeout" in err and "Traceback" not in err


def test_the_reason_kept_for_a_topic_does_not_depend_on_which_read_failed_first() -> None:
    """Reads of one topic run side by side (a role's calls, a VPC's route reads): the report
    must say the same whatever order their failures arrive in."""
    operations = ["DescribeVpcEndpoints", "DescribeNatGateways", "DescribeRouteTables"]

    def denied(operation: str) -> Callable[[], None]:
        def call() -> None:
            error = {"Error": {"Code": "AccessDenied", "Message": f"no {operation}"}}
            raise ClientError(error, operation)  # type: ignore[arg-type]

        return call

    kept = set()
    for order in (operations, operations[::-1], operations[1:] + operations[:1]):
        reader = Reader(clients=None)  # type: ignore[arg-type]  # the calls are stand-ins
        for operation in order:
            reader.read("network", "ec2", operation, denied(operation))
        kept.add(reader.failed("network"))
    assert kept == {"ec2:DescribeNatGateways failed: AccessDenied: no DescribeNatGateways"}


@pytest.mark.parametrize("garbage", ["html-ok", "json-for-xml", "missing-fields"], indirect=True)
def test_a_garbage_role_listing_falls_back_to_per_role_reads_that_say_why(
    garbage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``ROLE_CALLS_AT_ONCE`` the roles come from one ``GetAccountAuthorizationDetails``
    listing (forced here for the example's few roles); a listing that cannot be read must not
    make any role "missing": the per-role reads run instead and each says why it failed."""
    monkeypatch.setattr(gather, "ROLE_CALLS_AT_ONCE", 0)
    out, err = io.StringIO(), io.StringIO()
    options = VerifyOptions(
        config=str(CONFIG), endpoint_url=garbage, timeout_s=5, max_attempts=2, format="json"
    )
    code = run(options, out, err)
    report = json.loads(out.getvalue())
    assert code == 1, out.getvalue() + err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert any(item.startswith("iam:GetRole failed: ") for item in report["incomplete"])
    roles = [r for r in report["resources"] if r["kind"] == "iam_roles"]
    assert roles and all(r["status"] == "unchecked" for r in roles), roles


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("%7B%22Version%22%3A%222012-10-17%22%7D", {"Version": "2012-10-17"}),
        ({"Version": "2012-10-17"}, {"Version": "2012-10-17"}),
        (None, {}),
    ],
)
def test_a_policy_document_is_decoded_whether_the_api_or_boto3_spelt_it(
    answer: object, expected: dict[str, str]
) -> None:
    assert fetch.policy_document(answer, "trust") == expected


@pytest.mark.parametrize("answer", ["%7Bnot json", "[]", 42])
def test_a_policy_document_that_is_none_is_a_malformed_answer(answer: object) -> None:
    with pytest.raises(fetch.MalformedAnswer, match="trust"):
        fetch.policy_document(answer, "trust")


def test_the_account_of_an_arn_and_of_what_is_none() -> None:
    assert fetch.arn_account("arn:aws:iam::123456789012:role/batch/x") == "123456789012"
    assert fetch.arn_account("arn:aws:events:us-west-2:123456789012:rule/r") == "123456789012"
    assert fetch.arn_account("role/x") is None
    assert fetch.arn_account(None) is None
