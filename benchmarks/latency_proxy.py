"""A proxy on 127.0.0.1 that makes moto answer like AWS does across a network.

moto answers on loopback in about a millisecond; real AWS answers in tens of milliseconds and
throttles IAM hard. This proxy sits in front of a moto server and

- delays every request by a fixed time (default 40 ms) before forwarding it, so every
  sequential round trip a tool makes costs what it costs against a region;
- answers IAM requests beyond a rate (a token bucket: ``iam_rate`` per second, bursts of
  ``iam_burst``) with IAM's own throttling error, HTTP 400 ``Throttling`` / "Rate exceeded"
  (the error code IAM's API reference lists under "Common Errors":
  https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html), which both
  botocore and Terraform's AWS SDK for Go retry with backoff;
- records each request (service from the SigV4 credential scope, arrival and answer times),
  so a run can be summarised as calls per service, throttled answers, and the number of
  *sequential rounds*: the longest chain of requests each of which was sent only after the
  previous one was answered (a lower bound on ``rounds x delay`` of the run's wall time).

Only 127.0.0.1 is ever contacted (the upstream must be a loopback URL); every upstream call
has a timeout, and the server runs on daemon threads stopped by :meth:`LatencyProxy.close`.
"""

from __future__ import annotations

import http.client
import http.server
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

DEFAULT_DELAY_S = 0.040
DEFAULT_IAM_RATE = 20.0
"""IAM requests per second before throttling. AWS does not publish IAM's read rate; 20/s with a
burst of 20 is an assumption, chosen so that a tool making hundreds of IAM reads at once is
throttled, as it is in a real account."""
DEFAULT_IAM_BURST = 20
UPSTREAM_TIMEOUT_S = 120.0

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}

THROTTLING_BODY = (
    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
    "<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    "<RequestId>{request_id}</RequestId></ErrorResponse>"
)


@dataclass(frozen=True)
class Request:
    service: str
    start: float
    end: float
    throttled: bool


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; thread-safe."""

    rate: float
    burst: float
    tokens: float = 0.0
    stamp: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def sequential_rounds(requests: list[Request]) -> int:
    """The longest chain of requests each sent after the previous one was answered."""
    if not requests:
        return 0
    by_start = sorted(requests, key=lambda r: r.start)
    by_end = sorted(range(len(by_start)), key=lambda i: by_start[i].end)
    chain = [0] * len(by_start)
    best_done = 0
    j = 0
    for i, r in enumerate(by_start):
        while j < len(by_end) and by_start[by_end[j]].end <= r.start:
            best_done = max(best_done, chain[by_end[j]])
            j += 1
        chain[i] = best_done + 1
    return max(chain)


class LatencyProxy:
    """``with LatencyProxy(moto_url) as proxy:`` then send requests to ``proxy.url``."""

    def __init__(
        self,
        upstream: str,
        delay_s: float = DEFAULT_DELAY_S,
        iam_rate: float | None = DEFAULT_IAM_RATE,
        iam_burst: int = DEFAULT_IAM_BURST,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"the proxy only forwards to 127.0.0.1:<port>, not {upstream}")
        self.upstream_port = parts.port
        self.delay_s = delay_s
        self.bucket = TokenBucket(iam_rate, iam_burst) if iam_rate else None
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        with self._lock:
            self.requests = []

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def summary(self) -> tuple[Counter[str], int, int]:
        """(calls per service, throttled answers, sequential rounds) since the last reset."""
        with self._lock:
            requests = list(self.requests)
        calls = Counter(r.service for r in requests)
        return calls, sum(r.throttled for r in requests), sequential_rounds(requests)


class _Handler(http.server.BaseHTTPRequestHandler):
    proxy: LatencyProxy
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs expect

    def _forward(self) -> None:
        start = time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        found = _SERVICE.search(self.headers.get("Authorization", ""))
        service = found.group(1) if found else "unsigned"
        time.sleep(self.proxy.delay_s)
        bucket = self.proxy.bucket
        throttled = service == "iam" and bucket is not None and not bucket.take()
        if throttled:
            status, headers, answer = self._throttling()
        else:
            status, headers, answer = self._upstream(body)
        # The request ends, and is recorded, before its answer is sent: a request the client
        # chains on this one then always starts later, even when this thread is preempted right
        # after sending, and a client that reads the summary once answered sees this request.
        self.proxy.record(Request(service, start, time.monotonic(), throttled))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        self.wfile.flush()

    def _throttling(self) -> tuple[int, list[tuple[str, str]], bytes]:
        request_id = str(uuid.uuid4())
        body = THROTTLING_BODY.format(request_id=request_id).encode()
        return 400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body

    def _upstream(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        port = self.proxy.upstream_port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=UPSTREAM_TIMEOUT_S)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, kept, answer
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the benchmark reports the summary, not each request."""
