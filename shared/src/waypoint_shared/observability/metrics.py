"""The suite's Prometheus metrics, and their exposition in workers and under gunicorn.

gunicorn runs several worker processes, so the web processes use prometheus-client's
multiprocess mode (the gunicorn settings set PROMETHEUS_MULTIPROC_DIR before any worker
starts); a worker process is one process and exposes its own registry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

log = logging.getLogger(__name__)
IN_BULK = "in_bulk"  # marks a note of `log_bulk_line`
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "waypoint_http_requests_total",
    "HTTP requests answered, by route (the URL rule, not the path) and status",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "waypoint_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and status",
    ["service", "method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_APPENDED = Counter(
    "waypoint_events_appended_total", "Events committed to a service's store, by type", ["type"]
)
RELAY_BACKLOG = Gauge(
    "waypoint_relay_backlog",
    "Events stored but not yet published to Kafka",
    ["service"],
    multiprocess_mode="mostrecent",
)
RELAY_PUBLISH_LATENCY = Histogram(
    "waypoint_relay_publish_latency_seconds",
    "Time from an event's append to the broker's acknowledgement of it",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "waypoint_consumer_lag",
    "Records on a partition that the consumer group has not applied yet",
    ["group", "topic", "partition"],
    multiprocess_mode="mostrecent",
)
DEAD_LETTERED = Counter(
    "waypoint_dead_lettered_total",
    "Records sent to the dead-letter topic, by consumer group and the topic they came from",
    ["group", "topic"],
)
PROJECTION_AGE = Gauge(
    "waypoint_projection_age_seconds",
    "Seconds since the newest event a consumer group has applied to its read model was recorded",
    ["group"],
    multiprocess_mode="mostrecent",
)


def exposition(multiprocess_dir: str | None = None) -> tuple[bytes, str]:
    """This process's metrics, or every gunicorn worker's when multiprocess mode is on."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class AppendedEvent(Protocol):
    """What counting and logging need of any event whose transaction committed, one appended
    in bulk included (read-only, so a frozen dataclass or a named tuple fits)."""

    @property
    def type(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...


class CommittedEvent(AppendedEvent, Protocol):
    """What logging needs of an event appended on its own."""

    @property
    def client_id(self) -> str | None: ...
    @property
    def event_id(self) -> str: ...
    @property
    def stream_version(self) -> int: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...


def event_type(recorded: AppendedEvent) -> str:
    """What counting keeps of an appended event until its transaction commits."""
    return recorded.type


def count_events(committed: Mapping[str, int]) -> None:
    """Count a committed transaction's events by type (`event_type`'s notes and their counts; the
    composition root wires this to the store, see eventstore.store.observe_commits)."""
    for event_type_, count in committed.items():
        EVENTS_APPENDED.labels(event_type_).inc(count)


def log_line(recorded: CommittedEvent) -> tuple[tuple[str, Any], ...] | None:
    """What logging keeps of an appended event until its transaction commits: its log line's
    fields, or nothing when info lines are not logged."""
    if not log.isEnabledFor(logging.INFO):
        return None
    return (
        ("correlation_id", recorded.metadata.get("correlation_id")),
        ("tenant", recorded.tenant_id),
        ("client_id", recorded.client_id),
        ("event_type", recorded.type),
        ("event_id", recorded.event_id),
        ("stream_version", recorded.stream_version),
    )


def log_bulk_line(recorded: AppendedEvent) -> tuple[tuple[str, Any], ...] | None:
    """What logging keeps of an event appended in bulk (a rebuild's publications): its tenant and
    type, so the transaction logs a line for each with how many, not thousands of lines."""
    if not log.isEnabledFor(logging.INFO):
        return None
    return (("tenant", recorded.tenant_id), ("event_type", recorded.type), (IN_BULK, True))


def log_events(committed: Mapping[tuple[tuple[str, Any], ...], int]) -> None:
    """Log each event of a committed transaction (`log_line`'s notes), and how many of each
    type it appended in bulk (`log_bulk_line`'s)."""
    for fields, count in committed.items():
        extra = dict(fields)
        if extra.pop(IN_BULK, False):
            log.info("events appended", extra={**extra, "count": count})
        else:
            log.info("event appended", extra=extra)
