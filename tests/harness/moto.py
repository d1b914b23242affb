"""Test-side access to the emulated AWS; the implementation lives in ``compiler.sandbox.emulator``
(also used by ``batchform sandbox``), re-exported here under the names the tests use."""

from __future__ import annotations

from compiler.sandbox.emulator import (
    DEFAULT_REGION,
    DUMMY_ACCESS_KEY,
    DUMMY_SECRET_KEY,
    MOTO_ACCOUNT_ID,
    STARTUP_TIMEOUT_S,
    MotoServer,
    free_port,
    moto_server,
    service_linked_batch_role,
)

__all__ = [
    "DEFAULT_REGION",
    "DUMMY_ACCESS_KEY",
    "DUMMY_SECRET_KEY",
    "MOTO_ACCOUNT_ID",
    "STARTUP_TIMEOUT_S",
    "MotoServer",
    "free_port",
    "moto_server",
    "service_linked_batch_role",
]
