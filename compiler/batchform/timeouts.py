"""How long ``batchform verify`` waits for AWS: the defaults and the bound they imply.

Kept apart from :mod:`batchform.verify.clients` so the command line can state the defaults in
its help without importing botocore, which every other command would then pay for at start.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TIMEOUT_S = 10.0
"""Connect and read timeout of each attempt of each call (``verify --timeout``)."""

DEFAULT_MAX_ATTEMPTS = 3
"""Attempts per call, the first included (``verify --max-attempts``)."""

RETRY_BACKOFF_CAP_S = 20.0
"""botocore's cap on the sleep between two attempts (``botocore.retries.standard``)."""


@dataclass(frozen=True)
class Limits:
    """How long verify waits for an endpoint before it reports the check incomplete.

    A call gives up after ``max_attempts`` attempts, each ending after ``timeout_s`` without
    a connection (``connect_timeout``) or without an answer on it (``read_timeout``), with
    botocore's randomised exponential backoff between attempts (at most 1 s, 2 s, 4 s ...,
    ``botocore/retries/standard.py``). A service whose call gave up that way is not asked
    again in the same run, and every service's first reads start at once, so :meth:`bound_s`
    is also about how long a whole run against an endpoint that never answers takes.
    """

    timeout_s: float = DEFAULT_TIMEOUT_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def bound_s(self) -> float:
        """The longest one call waits on an endpoint that never accepts a connection, or
        accepts it and never answers: every attempt's timeout plus the longest backoffs."""
        backoff = sum(min(2.0**i, RETRY_BACKOFF_CAP_S) for i in range(self.max_attempts - 1))
        return self.max_attempts * self.timeout_s + backoff
