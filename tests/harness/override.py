"""Test-side access to the moto override file; the implementation lives in
``compiler.sandbox.override`` (also used by ``batchform sandbox``), re-exported here under the
names the tests use. See that module for the Terraform merge behaviour it relies on."""

from __future__ import annotations

from compiler.sandbox.override import (
    ENDPOINT_SERVICES,
    MOTO_GAPS,
    OVERRIDE_FILENAME,
    SERVICE_LINKED_BATCH_ROLE_ARN,
    MotoGap,
    compute_environments_without_service_role,
    moto_copy,
    render_override,
    resource_blocks,
    write_moto_copy,
)

__all__ = [
    "ENDPOINT_SERVICES",
    "MOTO_GAPS",
    "OVERRIDE_FILENAME",
    "SERVICE_LINKED_BATCH_ROLE_ARN",
    "MotoGap",
    "compute_environments_without_service_role",
    "moto_copy",
    "render_override",
    "resource_blocks",
    "write_moto_copy",
]
