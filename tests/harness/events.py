"""Batch events as AWS sends them, and EventBridge's pattern matching and input transformer
(moto's implementation of both), for the alert tests."""

from __future__ import annotations

from typing import Any

FAILED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "c8f9c4b5-76e5-d76a-f980-7011e206042b",
    "detail-type": "Batch Job State Change",
    "source": "aws.batch",
    "account": "123456789012",
    "time": "2026-11-30T02:14:07Z",
    "region": "us-west-2",
    "resources": ["arn:aws:batch:us-west-2:123456789012:job/4c7599ae"],
    "detail": {
        "jobName": "nightly",
        "jobId": "4c7599ae",
        "jobQueue": "arn:aws:batch:us-west-2:123456789012:job-queue/demo-main",
        "status": "FAILED",
        "statusReason": "Essential container in task exited",
    },
}
"""The shape of AWS's example "Batch Job State Change" event (Batch user guide)."""


def transform(paths: dict[str, str], template: str, event: dict[str, Any]) -> Any:
    """What EventBridge's input transformer makes of ``event``, by moto's implementation
    (``moto.events.utils.EventTemplateParser``; a template that is a JSON string yields the
    string, which SNS then sends as the message)."""
    from moto.events.utils import EventTemplateParser

    return EventTemplateParser.parse(
        input_template=template, input_paths_map=paths, event={"ingestion-time": 0, **event}
    )


def matches(pattern: str, event: dict[str, Any]) -> bool:
    """Whether an EventBridge event pattern (JSON) matches ``event``, by moto's implementation
    (``moto.events.models.EventPattern``; moto's server does not implement TestEventPattern)."""
    from moto.events.models import EventPattern

    return bool(EventPattern.load(pattern).matches_event(event))
