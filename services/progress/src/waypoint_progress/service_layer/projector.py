"""The timeline projector: every event of the suite in, timeline entries, milestones, alerts out.

For each event it keeps the event's non-personal facts with their clinical and recorded times,
derives the client's whole timeline from the set of facts, and stores it. Arrival order never
matters: events that come after all the client's others are folded onto what deriving left last
time, which gives the same (`domain/derivations.py`). Then it makes what progress's store has
published agree with the timeline (`domain/publications.py`): alerts new to the store are
raised, milestones new or moved are reached (again), milestones no longer derived are withdrawn.
Each publication has a deterministic event id, so the store's unique event id refuses a second
one.

Intake's `client_erased` makes progress forget the client; an event of an erased client that
arrives later (from another topic, a replay, a rebuild) is ignored, so nothing of theirs returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_progress.adapters import projection, webhook_store
from waypoint_progress.adapters.projection import Client
from waypoint_progress.adapters.tables import LIVE, ProjectionTables
from waypoint_progress.domain import publications
from waypoint_progress.domain.course import at_discharge, outcome_event_id
from waypoint_progress.domain.derivations import Derivations
from waypoint_progress.domain.progress import (
    AlertRaised,
    CourseOutcomeRecorded,
    MilestoneReached,
    MilestoneWithdrawn,
    derived_stream,
)
from waypoint_progress.domain.publications import Publication
from waypoint_progress.domain.scoring import Thresholds
from waypoint_progress.domain.sources import SourceEvent, clinical_time, is_journey_event
from waypoint_progress.domain.timeline import Entry
from waypoint_shared import catalog
from waypoint_shared.eventstore.repository import Append, EventSourcedRepository, RecordedEvent
from waypoint_shared.http import erasure
from waypoint_shared.messaging.envelope import Envelope

ACTOR = {"system": "waypoint-progress", "person": None}
CLIENT_ERASED = "waypoint.intake.client_erased.v1"
Correlation = Callable[[Entry], str | None]


@dataclass(frozen=True)
class Projector:
    repository: EventSourcedRepository
    thresholds: Thresholds = field(default_factory=Thresholds)
    tables: ProjectionTables = LIVE
    publishes: bool = True  # a rebuild publishes once, at the swap (`rebuild.publish_owed_at_swap`)
    derives: bool = True  # a rebuild keeps the facts first and derives each client once, after
    derivations: Derivations = field(default_factory=Derivations, compare=False, repr=False)

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
        if not self.derives:
            projection.remember(conn, new_facts, self.tables)
            return
        histories = projection.keep_and_read(conn, new_facts, self.tables)
        derive = self.derivations.derive
        timelines = {c: derive(c, histories[c], self.thresholds) for c in journeys}
        projection.replace_timelines(conn, timelines, self.tables)
        if self.publishes:
            publish_owed(self.repository, conn, timelines, _correlation_in(events))
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
        webhook deliveries, their keys, and the stored replies that quote them."""
        for tables in {self.tables.suffix: self.tables, LIVE.suffix: LIVE}.values():
            projection.forget(conn, tenant_id, client_id, tables)
        self.derivations.forget((tenant_id, client_id))
        webhook_store.forget_client(conn, tenant_id, client_id)
        erasure.forget_client(conn, tenant_id, client_id)


def _correlation_in(events: Sequence[Envelope]) -> Correlation:
    """A derived entry's correlation id: its source event's if that is in the batch, else that
    of its client's newest event in the batch (the one that completed the rule)."""
    by_event = {e.event_id: e.correlation_id for e in events}
    by_client = {(e.tenant_id, e.client_id): e.correlation_id for e in events}

    def correlation_of(entry: Entry) -> str | None:
        source = entry.source
        return by_event.get(source.event_id) or by_client.get((source.tenant_id, source.client_id))

    return correlation_of


def source_event(event: Envelope) -> SourceEvent:
    """A consumed event as the projection keeps it: non-personal facts only, with its clinical
    time and the time it was recorded."""
    return _source(event, event.time)


def recorded_source(recorded: RecordedEvent) -> SourceEvent:
    """An event of progress's own store as the projection will keep it once consumed."""
    return _source(recorded, recorded.occurred_at)


def _source(event: Envelope | RecordedEvent, time: datetime) -> SourceEvent:
    service, name, personal = _kind(event.type)
    data = event.data
    facts: dict[str, Any] = {k: v for k, v in data.items() if k not in personal}
    facts["personal"] = [n for n in personal if data.get(n) is not None]
    recorded_at = time.astimezone(UTC)
    return SourceEvent(
        event.event_id,
        service,
        name,
        event.tenant_id,
        event.client_id,
        clinical_time(name, facts, recorded_at),
        event.stream_version,
        facts,
        recorded_at,
    )


@functools.cache
def _kind(event_type: str) -> tuple[str, str, tuple[str, ...]]:
    """An event type's service, name and personal fields (in name order), looked up once."""
    _, service, name, _version = event_type.split(".")
    return service, name, tuple(sorted(catalog.lookup(event_type).personal_fields))


def publish(
    repository: EventSourcedRepository,
    conn: Connection,
    entries: Sequence[Entry],
    correlation_of: Correlation,
) -> list[RecordedEvent]:
    """Append the derived alerts (or first milestones) progress's store does not hold yet (each
    once: event id = entry id), one append per source event, leaving out those already stored;
    returns what was appended."""
    owed = [Publication(_name(e), e.id, e.id, e) for e in entries]
    return repository.record(conn, *_appends(owed, correlation_of), skip_stored=True)


def publish_owed(
    repository: EventSourcedRepository,
    conn: Connection,
    timelines: Mapping[Client, Sequence[Entry]],
    correlation_of: Correlation,
) -> list[RecordedEvent]:
    """Append what each client's derived stream owes its timeline (`publications.owed`): alerts
    raised, milestones reached, moved or withdrawn; returns what was appended."""
    appends = owed_appends(repository, conn, timelines, correlation_of)
    return repository.record(conn, *appends, skip_stored=True)


def owed_appends(
    repository: EventSourcedRepository,
    conn: Connection,
    timelines: Mapping[Client, Sequence[Entry]],
    correlation_of: Correlation = lambda _: None,
) -> list[Append]:
    """What `publish_owed` appends (before leaving out what the store holds); by default each
    append is correlated with its cause."""
    appends: list[Append] = []
    stored = _derived_streams(repository, conn, timelines.keys())
    for (tenant_id, client_id), entries in timelines.items():
        theirs = stored[(tenant_id, derived_stream(client_id))]
        published = publications.fold((r.type.split(".")[2], r.data) for r in theirs)
        owed = publications.owed(entries, published)
        appends += _appends(owed, correlation_of, _newest(entries))
    return appends


def _derived_streams(
    repository: EventSourcedRepository, conn: Connection, clients: Iterable[Client]
) -> dict[tuple[str, str], list[RecordedEvent]]:
    """The derived stream of each client as stored, by (tenant, stream id): one query a tenant."""
    streams = {}
    for tenant_id, client_ids in projection.by_tenant(clients).items():
        wanted = [derived_stream(c) for c in client_ids]
        for stream_id, stored in repository.stored_streams(conn, tenant_id, wanted).items():
            streams[(tenant_id, stream_id)] = stored
    return streams


def publish_outcomes(
    repository: EventSourcedRepository,
    conn: Connection,
    histories: Iterable[Sequence[SourceEvent]],
    thresholds: Thresholds,
) -> list[RecordedEvent]:
    """Each discharged client's final course outcome, as `course_outcome_recorded` on the derived
    stream, caused by the discharge; its id comes from the discharge and the outcome, so an
    unchanged outcome is appended once and one a late session changed is appended again."""
    return repository.record(conn, *outcome_appends(histories, thresholds), skip_stored=True)


def outcome_appends(
    histories: Iterable[Sequence[SourceEvent]], thresholds: Thresholds
) -> list[Append]:
    """What `publish_outcomes` appends (before leaving out what the store holds)."""
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
    return appends


def _name(entry: Entry) -> str:
    return publications.REACHED if entry.kind == "milestone" else publications.RAISED


def _newest(entries: Sequence[Entry]) -> Entry | None:
    """The client's most recently recorded event: what a withdrawal is caused by."""
    events = [e for e in entries if e.kind == "event"]
    return max(events, key=lambda e: (e.recorded_at, e.id), default=None)


def _appends(
    owed: Sequence[Publication], correlation_of: Correlation, newest: Entry | None = None
) -> list[Append]:
    """One append per cause: the source event of what is reached or raised, the client's newest
    event for what is withdrawn."""
    by_cause: dict[str, list[tuple[Entry, Publication]]] = {}
    for publication in owed:
        cause = publication.entry or newest
        if cause is not None:
            by_cause.setdefault(cause.source.event_id, []).append((cause, publication))
    return [_derived(theirs, correlation_of(theirs[0][0])) for theirs in by_cause.values()]


def _derived(owed: Sequence[tuple[Entry, Publication]], correlation_id: str | None) -> Append:
    """One cause's publications, after whatever the derived stream holds."""
    cause = owed[0][0].source
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
        [derived_event(p, cause) for _, p in owed],
        metadata,
        [p.event_id for _, p in owed],
    )


def derived_event(
    publication: Publication, cause: SourceEvent
) -> MilestoneReached | AlertRaised | MilestoneWithdrawn:
    """The domain event of one publication; a withdrawal is dated when its cause was recorded."""
    entry, last = publication.entry, publication.withdrawn
    if entry is None and last is not None:
        return MilestoneWithdrawn(
            cause.client_id,
            publication.entry_id,
            last.rule,
            cause.recorded.isoformat(),
            last.source_service,
            last.source_event_id,
        )
    return _reached_or_raised(entry or _missing(publication))


def _missing(publication: Publication) -> Entry:
    raise ValueError(f"publication {publication.event_id} has neither entry nor withdrawal")


def _reached_or_raised(entry: Entry) -> MilestoneReached | AlertRaised:
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
