"""A late event that changes what a client's facts derive changes what progress has published: a
milestone no longer derived is withdrawn (`milestone_withdrawn`, same id), one derived at another
time is reached again with the new time; the timeline shows what the facts derive now. The real
projector on real SQLite; the screenings' `administered_on` is built by hand."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from waypoint_progress.adapters import projection
from waypoint_progress.adapters.tables import LIVE, timelines
from waypoint_progress.bootstrap import Container
from waypoint_progress.domain.progress import MilestoneReached, derived_stream
from waypoint_progress.service_layer.rebuild import rebuild
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.eventstore.repository import Append
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents
from .test_milestone_and_alert_rules import gad7, phq9

IMPROVEMENT = "reliable_improvement"  # the rule's name contains it, however it is worded


def administered(screening: Envelope, day: str) -> Envelope:
    """A screening that says when it was administered (a fact of its newer version)."""
    return dataclasses.replace(screening, data={**screening.data, "administered_on": day})


@dataclass
class Projected:
    """What progress holds after projecting: the timeline and its derived stream."""

    container: Container
    client_id: str
    tenant: str = "clinic-a"

    def project(self, *batches: Iterable[Envelope]) -> Projected:
        for batch in batches:
            handle = partial(self.container.projector.handle_all, events=list(batch))
            run_in_transaction(self.container.engine, handle)
        return self

    def derived_stream(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(event id, name, data) of each derived event, in stream order."""
        repository = self.container.progress.repository
        with read(self.container.engine) as conn:
            stored = repository.stored(conn, self.tenant, derived_stream(self.client_id))
        return [(r.event_id, r.type.split(".")[2], r.data) for r in stored]

    def milestones_published(self) -> dict[str, tuple[datetime, str]]:
        """The net published milestones: reached, less withdrawn, `{id: (time, rule)}`."""
        net: dict[str, tuple[datetime, str]] = {}
        for _, name, data in self.derived_stream():
            if name == "milestone_reached":
                net[data["milestone_id"]] = (
                    datetime.fromisoformat(data["reached_at"]),
                    data["rule"],
                )
            elif name == "milestone_withdrawn":
                net.pop(data["milestone_id"], None)
        return net

    def timeline(self) -> list[tuple[Any, ...]]:
        with read(self.container.engine) as conn:
            stored = conn.execute(select(timelines.c.entries)).scalars().all()
        return [
            (
                e["id"],
                e["kind"],
                e["type"],
                datetime.fromisoformat(e["occurred_at"]),
                datetime.fromisoformat(e["recorded_at"]),
            )
            for entries in stored
            for e in entries
        ]

    def timeline_milestones(self) -> dict[str, tuple[datetime, str]]:
        return {
            row[0]: (row[3], row[2])
            for row in self.timeline()
            if row[1] == "milestone"  # (id, kind, type, occurred_at, recorded_at)
        }


def improvement(published: dict[str, tuple[datetime, str]]) -> dict[str, tuple[datetime, str]]:
    return {m: (time, rule) for m, (time, rule) in published.items() if IMPROVEMENT in rule}


def day(iso: str) -> datetime:
    return datetime.fromisoformat(f"{iso}T00:00:00+00:00")


@dataclass(frozen=True)
class Told:
    """A referral, two sessions dated 10 and 17 March (PHQ-9 as given, GAD-7 7 at both), and a
    screening administered on 5 March but recorded after them."""

    referral: Envelope
    sessions: list[Envelope]
    late_screening: Envelope


def told(j: JourneyEvents, first: int, second: int, screened: int) -> Told:
    referral = j.referral()
    sessions = [
        j.session(date="2025-03-10", PHQ9=phq9(first), GAD7=gad7(7)),
        j.session(date="2025-03-17", PHQ9=phq9(second), GAD7=gad7(7)),
    ]
    late_screening = administered(j.screening("PHQ-9", phq9(screened)), "2025-03-05")
    return Told(referral, sessions, late_screening)


def before_the_screening(
    progress: Container, j: JourneyEvents, first: int, second: int, screened: int
) -> tuple[Told, Projected]:
    """The referral and the sessions projected; the late screening kept for later."""
    events = told(j, first, second, screened)
    projected = Projected(progress, j.client_id).project([events.referral], events.sessions)
    return events, projected


def test_a_late_screening_administered_before_the_first_session_withdraws_an_improvement(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    # 11 is 7 below the first session: improved
    events, projected = before_the_screening(progress, journey(), 18, 11, screened=12)
    [improved] = improvement(projected.milestones_published())

    projected.project([events.late_screening])  # the baseline is now 12: 11 is no reliable change

    assert improvement(projected.milestones_published()) == {}
    assert improved not in projected.timeline_milestones()
    [(_, _, withdrawal)] = [e for e in projected.derived_stream() if e[1] == "milestone_withdrawn"]
    assert withdrawal["milestone_id"] == improved
    assert IMPROVEMENT in withdrawal["rule"]
    assert withdrawal["source_event_id"] == events.sessions[1].event_id


def test_a_late_screening_administered_before_the_first_session_moves_an_improvement_earlier(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    # 8 is 6 below the first session: improved
    events, projected = before_the_screening(progress, journey(), 14, 8, screened=20)
    [(improved, (when, _))] = improvement(projected.milestones_published()).items()
    assert when == day("2025-03-17")

    projected.project([events.late_screening])  # the baseline is now 20: 14 is already improved

    assert improvement(projected.milestones_published())[improved][0] == day("2025-03-10")
    assert projected.timeline_milestones()[improved][0] == day("2025-03-10")
    reached = [e for e in projected.derived_stream() if e[2].get("milestone_id") == improved]
    assert [name for _, name, _ in reached] == ["milestone_reached", "milestone_reached"]
    assert reached[1][2]["source_event_id"] == events.sessions[0].event_id
    first_id, second_id = (event_id for event_id, _, _ in reached)
    assert first_id == improved and second_id != improved


def test_a_moved_milestone_is_published_once_when_its_events_come_again_or_are_replayed(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    events = told(j, 14, 8, screened=20)
    referral, sessions, late_screening = events.referral, events.sessions, events.late_screening
    projected = Projected(progress, j.client_id).project([referral], sessions, [late_screening])
    stream = projected.derived_stream()

    projected.project(sessions, [late_screening], [referral, *sessions])  # delivered again
    forget = partial(projection.forget, tenant_id=j.tenant, client_id=j.client_id, tables=LIVE)
    run_in_transaction(progress.engine, forget)
    # Replayed into a forgotten projection: until the sessions come, the improvement is not
    # derived, but it was published from a session progress does not know yet.
    projected.project([referral], [late_screening], *([s] for s in sessions))

    assert projected.derived_stream() == stream
    improved = [e for e in stream if IMPROVEMENT in e[2].get("rule", "")]
    assert [name for _, name, _ in improved] == ["milestone_reached", "milestone_reached"]


def published_by_an_older_version(progress: Container, j: JourneyEvents, source: Envelope) -> str:
    """A `recovery` milestone in the client's derived stream, a rule no longer derived."""
    retired = str(uuid.uuid4())
    old = MilestoneReached(
        retired, j.client_id, "recovery", "Recovery", "2025-03-04T09:00:00+00:00", "intake",
        source.event_id,
    )  # fmt: skip
    append = Append(j.tenant, derived_stream(j.client_id), j.client_id, None, [old], {}, [retired])
    run_in_transaction(
        progress.engine, lambda conn: progress.progress.repository.record(conn, append)
    )
    return retired


def withdrawn_rules(projected: Projected) -> list[str]:
    return [e[2]["rule"] for e in projected.derived_stream() if e[1] == "milestone_withdrawn"]


def test_a_milestone_published_under_a_rule_that_no_longer_derives_is_withdrawn(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    referral = j.referral()
    projected = Projected(progress, j.client_id).project([referral])
    retired = published_by_an_older_version(progress, j, referral)

    projected.project([j.consent("treatment")])

    assert retired not in projected.milestones_published()
    assert withdrawn_rules(projected) == ["recovery"]


class OneRecordAtATime:
    """The topics as a rebuild reads them, progress's first, each record in a poll of its own."""

    def __init__(self, j: JourneyEvents):
        records = sorted(j.records, key=lambda r: r[0] != "progress")
        self.records = [(f"waypoint.{service}.events", value) for service, _, value in records]

    def end_offsets(self) -> dict[tuple[str, int], int]:
        return {}

    def batches(self, _targets: Mapping[tuple[str, int], int]) -> Iterator[list[Any]]:
        for topic, value in self.records:
            yield [SimpleNamespace(topic=topic, value=value)]


def test_a_rebuild_publishes_at_its_swap_what_the_live_projector_would_and_nothing_midway(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    j = journey()
    referral = j.referral()
    events = [referral, j.screening("PHQ-9", phq9(20))]
    events += [j.session(date="2025-03-10", PHQ9=phq9(14)), j.session(PHQ9=phq9(8))]
    projected = Projected(progress, j.client_id).project(events)
    timeline, stream = projected.timeline(), projected.derived_stream()
    published_by_an_older_version(progress, j, referral)

    # Read alone, the sessions would move the improvement to the second one, then back.
    rebuild(progress.engine, progress.projector, OneRecordAtATime(j), "waypoint-progress")

    assert projected.timeline() == timeline
    after = projected.derived_stream()
    assert [e for e in after if e[1] != "milestone_withdrawn"][: len(stream)] == stream
    assert withdrawn_rules(projected) == ["recovery"]
    assert len(after) == len(stream) + 2  # the older version's milestone, and its withdrawal


def test_an_alert_once_raised_is_never_withdrawn_though_the_timeline_no_longer_shows_it(
    progress: Container, journey: type[JourneyEvents]
) -> None:
    # 16 is 6 above the first session: deteriorated
    events, projected = before_the_screening(progress, journey(), 10, 16, screened=17)
    raised = [e for e in projected.derived_stream() if e[1] == "alert_raised"]
    assert [e[2]["rule"] for e in raised] == ["reliable_deterioration_so_far"]

    projected.project([events.late_screening])  # the baseline is now 17: no deterioration

    after = projected.derived_stream()
    assert [e for e in after if e[1] == "alert_raised"] == raised
    assert not [e for e in after if e[1] == "milestone_withdrawn" and "deterioration" in str(e)]
    assert "reliable_deterioration_so_far" not in [row[2] for row in projected.timeline()]
