"""The benchmark's latency proxy (benchmarks/latency_proxy.py) behaves as its table says:
it forwards to the upstream, throttles IAM only and with IAM's own error, counts calls per
service, and counts sequential rounds as the longest chain of one-after-another requests.

The upstream is a tiny HTTP server on 127.0.0.1 started here; no timing is asserted.
"""

from __future__ import annotations

import http.client
import http.server
import socketserver
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from benchmarks import latency_proxy
from benchmarks.latency_proxy import LatencyProxy, Request, sequential_rounds


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"upstream:" + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def upstream() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _post(url: str, service: str) -> tuple[int, bytes]:
    port = int(url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        scope = f"Credential=testing/20260101/us-east-1/{service}/aws4_request"
        conn.request("POST", f"/{service}", body=b"x", headers={"Authorization": scope})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_iam_past_its_burst_gets_iams_throttling_error_and_others_pass(upstream: str) -> None:
    with LatencyProxy(upstream, delay_s=0, iam_rate=0.001, iam_burst=3) as proxy:
        iam = [_post(proxy.url, "iam") for _ in range(5)]
        batch = [_post(proxy.url, "batch") for _ in range(5)]
        calls, throttled, _ = proxy.summary()
    assert [status for status, _ in iam] == [200, 200, 200, 400, 400]
    assert iam[0][1] == b"upstream:/iam"
    assert b"<Code>Throttling</Code><Message>Rate exceeded</Message>" in iam[-1][1]
    assert all(status == 200 for status, _ in batch)
    assert calls == {"iam": 5, "batch": 5}
    assert throttled == 2


def test_botocore_reads_the_throttling_answer_as_iams_throttling(upstream: str) -> None:
    """The error botocore's retry modes recognise as throttling, as IAM sends it."""
    session = botocore.session.Session()
    session.set_credentials("testing", "testing")
    with LatencyProxy(upstream, delay_s=0, iam_rate=0.001, iam_burst=0) as proxy:
        iam = session.create_client(
            "iam",
            region_name="us-east-1",
            endpoint_url=proxy.url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
        )
        with pytest.raises(ClientError) as caught:
            iam.get_role(RoleName="x")
        _, throttled, _ = proxy.summary()
    assert caught.value.response["Error"]["Code"] == "Throttling"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert throttled == 2  # retried once, as a throttling error is


def test_concurrent_requests_are_one_round_and_chained_ones_are_many(upstream: str) -> None:
    with LatencyProxy(upstream, delay_s=0.05, iam_rate=None) as proxy:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: _post(proxy.url, "batch"), range(4)))
        _, _, together = proxy.summary()
        proxy.reset()
        for _ in range(3):
            _post(proxy.url, "ec2")
        calls, _, chained = proxy.summary()
    assert together == 1
    assert chained == 3
    assert calls == {"ec2": 3}


def test_a_chained_request_is_a_new_round_when_the_proxy_is_slow_after_answering(
    upstream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a loaded machine the thread that sent an answer may run again only after the client
    has sent its next request; that request still starts a new round, and the summary read as
    soon as the last answer arrives counts every request."""
    writer = vars(socketserver)["_SocketWriter"]  # http.server's wfile when unbuffered
    flush = writer.flush

    def preempted(writer: object) -> None:
        flush(writer)
        time.sleep(0.2)  # the answer is out; this thread is held up before it goes on

    monkeypatch.setattr(writer, "flush", preempted)
    with LatencyProxy(upstream, delay_s=0, iam_rate=None) as proxy:
        for _ in range(3):
            _post(proxy.url, "ec2")
        # No wait: a request is recorded before its answer leaves, so the summary read right
        # after the last answer is complete even while the proxy's threads are held up.
        calls, _, chained = proxy.summary()
    assert calls == {"ec2": 3}
    assert chained == 3


def test_sequential_rounds_is_the_longest_chain() -> None:
    def r(start: float, end: float) -> Request:
        return Request("x", start, end, throttled=False)

    assert sequential_rounds([]) == 0
    assert sequential_rounds([r(0, 1), r(0, 1), r(0.5, 2)]) == 1  # all overlap
    assert sequential_rounds([r(0, 1), r(1, 2), r(2, 3), r(0, 3)]) == 3
    assert sequential_rounds([r(0, 1), r(1.5, 2), r(0, 5), r(2.5, 3)]) == 3


def test_the_proxy_only_forwards_to_loopback() -> None:
    with pytest.raises(ValueError, match=r"only forwards to 127\.0\.0\.1"):
        LatencyProxy("http://example.com:80")
    assert latency_proxy.DEFAULT_DELAY_S == 0.040
