"""The timeline projector: every event of the suite in, timeline entries, milestones, alerts out.

For each event it keeps the event's non-personal facts, derives the client's whole timeline again
from the set of facts (so arrival order never matters), and stores it. Milestones and alerts new to
progress's store are appended there (event id = entry id, so the store's unique event id refuses a
second one) and published as `milestone_reached` / `alert_raised`.

Intake's `client_erased` makes progress forget the client; an event of an erased client that
arrives later (from another topic, a replay, a rebuild) is ignored, so nothing of theirs returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_progress.adapters import projection
from waypoint_progress.adapters.projection import Client
from waypoint_progress.adapters.tables import LIVE, ProjectionTables
from waypoint_progress.domain import timeline
from waypoint_progress.domain.course import at_discharge, outcome_event_id
from waypoint_progress.domain.progress import (
    AlertRaised,
    CourseOutcomeRecorded,
    MilestoneReached,
    derived_stream,
)
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import SourceEvent, is_journey_event
from waypoint_progress.domain.timeline import Entry
from waypoint_shared import catalog
from waypoint_shared.eventstore.repository import Append, EventSourcedRepository, RecordedEvent
from waypoint_shared.http import erasure
from waypoint_shared.messaging.envelope import Envelope

ACTOR = {"system": "waypoint-progress", "person": None}
CLIENT_ERASED = "waypoint.intake.client_erased.v1"


@dataclass(frozen=True)
class Projector:
    repository: EventSourcedRepository
    thresholds: Thresholds = field(default_factory=Thresholds)
    tables: ProjectionTables = LIVE

    def handle(self, conn: Connection, event: Envelope) -> None:
        """Project one decoded event of any topic into its client's timeline."""
        self.handle_all(conn, [event])

    def handle_all(self, conn: Connection, events: Sequence[Envelope]) -> None:
        """Project a batch of events: each client's timeline is derived once, from the set of
        its kept facts, however many of its events the batch holds."""
        journeys: dict[Client, list[SourceEvent]] = {}
        for (tenant_id, client_id), theirs in self._live_clients(conn, events).items():
            if any(e.type == CLIENT_ERASED for e in theirs):
                self.forget(conn, tenant_id, client_id)  # what came before it is forgotten too
                continue
            sources = [s for s in map(source_event, theirs) if is_journey_event(s)]
            if sources:
                journeys[(tenant_id, client_id)] = sources
        if not journeys:
            return
        new_facts = [s for sources in journeys.values() for s in sources]
        projection.remember(conn, new_facts, self.tables)
        histories = projection.facts_of_clients(conn, journeys.keys(), self.tables)
        timelines = {c: timeline.derive(histories[c], self.thresholds) for c in journeys}
        projection.replace_timelines(conn, timelines, self.tables)
        derived = [e for entries in timelines.values() for e in entries if e.kind != "event"]
        publish(self.repository, conn, derived, _correlation_in(events))
        publish_outcomes(self.repository, conn, histories.values(), self.thresholds)

    def _live_clients(
        self, conn: Connection, events: Sequence[Envelope]
    ) -> dict[Client, list[Envelope]]:
        """The batch's events by client, in arrival order, without those of erased clients."""
        by_client: dict[Client, list[Envelope]] = {}
        for event in events:
            by_client.setdefault((event.tenant_id, event.client_id), []).append(event)
        erased = {
            (tenant_id, client_id)
            for tenant_id, client_ids in projection.by_tenant(by_client).items()
            for client_id in erasure.erased_among(conn, tenant_id, client_ids)
        }
        return {client: theirs for client, theirs in by_client.items() if client not in erased}

    def knows(self, conn: Connection, tenant_id: str, client_id: str) -> bool:
        """Whether progress has a record of the client in the tenant: a kept fact of theirs in the
        tables this projector writes, or an erasure."""
        return projection.has_client(conn, tenant_id, client_id, self.tables) or erasure.is_erased(
            conn, tenant_id, client_id
        )

    def forget(self, conn: Connection, tenant_id: str, client_id: str) -> None:
        """Erase a client: their rows in the live tables (and in those being rebuilt), their
        keys, and the stored replies that quote them."""
        for tables in {self.tables.suffix: self.tables, LIVE.suffix: LIVE}.values():
            projection.forget(conn, tenant_id, client_id, tables)
        erasure.forget_client(conn, tenant_id, client_id)


def _correlation_in(events: Sequence[Envelope]) -> Callable[[Entry], str | None]:
    """A derived entry's correlation id: its source event's if that is in the batch, else that
    of its client's newest event in the batch (the one that completed the rule)."""
    by_event = {e.event_id: e.correlation_id for e in events}
    by_client = {(e.tenant_id, e.client_id): e.correlation_id for e in events}

    def correlation_of(entry: Entry) -> str | None:
        source = entry.source
        return by_event.get(source.event_id) or by_client.get((source.tenant_id, source.client_id))

    return correlation_of


def source_event(event: Envelope) -> SourceEvent:
    """A consumed event as the projection keeps it: non-personal facts only."""
    return _source(event, event.time)


def recorded_source(recorded: RecordedEvent) -> SourceEvent:
    """An event of progress's own store as the projection will keep it once consumed."""
    return _source(recorded, recorded.occurred_at)


def _source(event: Envelope | RecordedEvent, time: datetime) -> SourceEvent:
    _, service, name, _version = event.type.split(".")
    personal = catalog.lookup(event.type).personal_fields
    facts: dict[str, Any] = {k: v for k, v in event.data.items() if k not in personal}
    facts["personal"] = sorted(n for n in personal if event.data.get(n) is not None)
    return SourceEvent(
        event.event_id,
        service,
        name,
        event.tenant_id,
        event.client_id,
        time.astimezone(UTC),
        event.stream_version,
        facts,
    )


def publish(
    repository: EventSourcedRepository,
    conn: Connection,
    entries: Sequence[Entry],
    correlation_of: Callable[[Entry], str | None],
) -> list[RecordedEvent]:
    """Append the derived milestones and alerts progress's store does not hold yet (each once:
    event id = entry id), one append per source event to the client's derived stream, in one
    call that leaves out those already stored; returns what was appended."""
    by_cause: dict[str, list[Entry]] = {}
    for entry in entries:
        by_cause.setdefault(entry.source.event_id, []).append(entry)
    appends = [_derived(theirs, correlation_of(theirs[0])) for theirs in by_cause.values()]
    return repository.record(conn, *appends, skip_stored=True)


def publish_outcomes(
    repository: EventSourcedRepository,
    conn: Connection,
    histories: Iterable[Sequence[SourceEvent]],
    thresholds: Thresholds,
) -> list[RecordedEvent]:
    """Each discharged client's final course outcome, as `course_outcome_recorded` on the derived
    stream, caused by the discharge; its id comes from the discharge and the outcome, so an
    unchanged outcome is appended once and one a late session changed is appended again."""
    appends = []
    for discharge, outcome in filter(None, (at_discharge(h, thresholds) for h in histories)):
        cause = {"actor": ACTOR, "correlation_id": discharge.event_id}
        appends.append(
            Append(
                discharge.tenant_id,
                derived_stream(discharge.client_id),
                discharge.client_id,
                None,
                [CourseOutcomeRecorded(**outcome.as_dict(), client_id=discharge.client_id)],
                {**cause, "causation_id": discharge.event_id},
                [outcome_event_id(discharge, outcome)],
            )
        )
    return repository.record(conn, *appends, skip_stored=True)


def _derived(entries: Sequence[Entry], correlation_id: str | None) -> Append:
    """One source event's milestones and alerts, after whatever the derived stream holds."""
    cause = entries[0].source
    metadata = {
        "actor": ACTOR,
        "correlation_id": correlation_id or cause.event_id,
        "causation_id": cause.event_id,
    }
    return Append(
        cause.tenant_id,
        derived_stream(cause.client_id),
        cause.client_id,
        None,
        [derived_event(e) for e in entries],
        metadata,
        [e.id for e in entries],
    )


def derived_event(entry: Entry) -> MilestoneReached | AlertRaised:
    kind = MilestoneReached if entry.kind == "milestone" else AlertRaised
    return kind(
        entry.id,
        entry.source.client_id,
        entry.type,
        entry.title,
        entry.occurred_at.isoformat(),
        entry.source.service,
        entry.source.event_id,
    )
