"""Contract of every goals event type: the domain event matches its catalog schema field for
field, travels sealed through the store and a CloudEvent, and replays to the same event."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from flask import Flask

from waypoint_goals.domain import events, staying_well
from waypoint_shared import catalog
from waypoint_shared.catalog import golden
from waypoint_shared.catalog.events.goals import EVENT_TYPES
from waypoint_shared.eventstore.repository import Append, event_name
from waypoint_shared.messaging import envelope

GOAL_ID, CLIENT_ID, STEP_ID = (str(uuid.uuid4()) for _ in range(3))
IDS = {"goal_id": GOAL_ID, "client_id": CLIENT_ID}
PARTY = {"role": "client", "id": "amara"}
CHANGE = {"title": {"before": "Sleep", "after": "Sleep six hours"}}
EXAMPLES = [
    events.GoalProposed(
        **IDS,
        title="Sleep",
        modality="cbt",
        priority="high",
        proposed_by=PARTY,
        why_it_matters="energy",
        strengths=["determined"],
        addresses=["insomnia"],
        target_date="2025-12-01",
        target={"instrument": "PHQ-9", "score": 9.0, "direction": "at_or_below"},
    ),
    events.GoalAgreed(**IDS, agreed_by={"role": "therapist", "id": "t-7"}, agreed_on="2025-09-01"),
    events.GoalRejected(**IDS, rejected_by=PARTY, reason="not now"),
    events.ActionStepPlanned(
        **IDS, step_id=STEP_ID, description="Wind down", due_date="2025-10-01"
    ),
    events.ActionStepCompleted(
        **IDS, step_id=STEP_ID, note="three nights", completed_on="2025-09-20"
    ),
    events.GoalCheckedIn(**IDS, rating=6, achievement_status="improving", by=PARTY, note="better"),
    events.GoalRevised(**IDS, reason="smaller", changed_fields=["title"], changes=CHANGE),
    events.ActionStepRevised(
        **IDS,
        step_id=STEP_ID,
        reason="busy",
        changed_fields=["description"],
        changes={"description": {"before": "Wind down", "after": "Read"}},
    ),
    events.GoalPutOnHold(**IDS, reason="surgery"),
    events.GoalResumed(**IDS, reason="recovered"),
    events.GoalCancelled(**IDS, reason="moved away"),
    events.GoalAchieved(**IDS, note="sleeping well"),
    events.GoalTargetMet(
        **IDS, instrument="PHQ-9", score=9.0, session_id=STEP_ID, met_on="2025-10-08"
    ),
]
DOMAIN_EVENTS = (*events.EVENTS, *staying_well.EVENTS)  # goal streams, then the client's plan


def test_every_goals_event_type_has_a_domain_event_and_an_example() -> None:
    assert {t.name for t in EVENT_TYPES} == {event_name(c) for c in DOMAIN_EVENTS}
    assert {type(e) for e in EXAMPLES} == set(events.EVENTS)


@pytest.mark.parametrize("event_class", DOMAIN_EVENTS, ids=event_name)
def test_the_domain_event_has_exactly_the_catalog_fields(event_class: type) -> None:
    entry = catalog.latest("goals", event_name(event_class))

    assert {f.name for f in dataclasses.fields(event_class)} == set(entry.schema._declared_fields)
    assert golden.render(entry) == golden.golden_path(entry.type).read_text(encoding="utf-8")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: event_name(type(e)))
def test_the_event_travels_sealed_and_replays_to_itself(app: Flask, example: object) -> None:
    container = app.extensions["waypoint"]
    repository, engine = container.goals.repository, container.engine
    with engine.begin() as conn:
        append = Append("clinic-a", GOAL_ID, CLIENT_ID, 0, [example], {"request_id": "r-1"})
        [recorded] = repository.record(conn, append)
        [(replayed, _)] = repository.replay(conn, "clinic-a", GOAL_ID)

    entry = catalog.lookup(recorded.type)
    for name in entry.personal_fields:
        value = recorded.data[name]
        assert value is None or str(value).startswith("enc:v2:")
    _, value, _ = envelope.encode(recorded, "goals")
    travelled = envelope.decode(value)
    assert (travelled.type, travelled.client_id) == (entry.type, CLIENT_ID)
    assert travelled.data["goal_id"] == GOAL_ID
    assert replayed == example


def test_the_staying_well_plan_travels_sealed_and_replays_to_itself(app: Flask) -> None:
    repository, engine = (
        app.extensions["waypoint"].goals.repository,
        app.extensions["waypoint"].engine,
    )
    plan = staying_well.StayingWellPlanAgreed(
        CLIENT_ID,
        warning_signs=["sleeping past noon"],
        what_helps=["a walk"],
        who_to_contact=[{"name": "Nia", "relationship": "sister", "phone": None}],
        agreed_by=[PARTY, {"role": "therapist", "id": "t-7"}],
    )
    stream = staying_well.plan_stream(CLIENT_ID)
    with engine.begin() as conn:
        append = Append("clinic-a", stream, CLIENT_ID, 0, [plan], {"request_id": "r-1"})
        [recorded] = repository.record(conn, append)
        [(replayed, _)] = repository.replay(conn, "clinic-a", stream)

    for name in ("warning_signs", "what_helps", "who_to_contact"):
        assert str(recorded.data[name]).startswith("enc:v2:")
    travelled = envelope.decode(envelope.encode(recorded, "goals")[1])
    assert (travelled.type, travelled.client_id) == (recorded.type, CLIENT_ID)
    assert replayed == plan
