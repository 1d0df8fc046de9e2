"""Goals' command handlers: load the goal, let it decide, record the event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from waypoint_goals.adapters import eligibility, plan
from waypoint_goals.domain import staying_well
from waypoint_goals.domain.eligibility import ClientEligibility, ensure_known
from waypoint_goals.domain.events import EVENTS, Party
from waypoint_goals.domain.goal import Goal
from waypoint_goals.domain.staying_well import StayingWellPlan, plan_stream
from waypoint_goals.service_layer.queries import ALL_GOALS, load_goal, load_staying_well_plan
from waypoint_shared.crypto.sealing import PersonalDataKeys
from waypoint_shared.eventstore.repository import (
    Append,
    ConcurrencyConflict,
    EventSourcedRepository,
    EventStore,
)

SERVICE = "goals"


@dataclass(frozen=True)
class Goals:
    repository: EventSourcedRepository

    @classmethod
    def create(cls, store: EventStore, keys: PersonalDataKeys) -> Goals:
        events = (*EVENTS, *staying_well.EVENTS)
        return cls(EventSourcedRepository(SERVICE, store, keys, events))


@dataclass(frozen=True)
class Command:
    """What every command on an existing goal carries besides its own arguments."""

    tenant_id: str
    goal_id: str
    expected_version: int | None  # from If-Match; None: whatever version the goal is at
    metadata: dict[str, Any]


def ensure_goal_work_may_continue(conn: Connection, tenant_id: str, client_id: str) -> None:
    """Refuse when intake has not referred the client, or has discharged it or lost consent."""
    known_client(conn, tenant_id, client_id).ensure_goal_work_may_continue()


def known_client(conn: Connection, tenant_id: str, client_id: str) -> ClientEligibility:
    """What intake has told goals of the client; refused while its referral has not arrived."""
    return ensure_known(eligibility.find(conn, tenant_id, client_id), client_id)


def propose_goal(
    goals: Goals,
    conn: Connection,
    tenant_id: str,
    client_id: str,
    details: dict[str, Any],
    metadata: dict[str, Any],
) -> Goal:
    """Propose a goal for a client that intake has referred."""
    ensure_goal_work_may_continue(conn, tenant_id, client_id)
    goal_id = str(uuid.uuid4())
    event = Goal.propose(goal_id, client_id, **details)
    [recorded] = goals.repository.record(
        conn, Append(tenant_id, goal_id, client_id, 0, [event], metadata)
    )
    plan.add_goal(conn, recorded)
    return Goal.rebuilt(goal_id, [event])


def _change(
    goals: Goals,
    conn: Connection,
    command: Command,
    decide: Callable[[Goal], object],
    closing: bool = False,
) -> Goal:
    goal = _loaded(goals, conn, command)
    if not closing:  # winding a goal down stays possible after a discharge or a revocation
        ensure_goal_work_may_continue(conn, command.tenant_id, goal.client_id)
    return _recorded(goals, conn, command, goal, decide(goal))


def _loaded(goals: Goals, conn: Connection, command: Command) -> Goal:
    goal = load_goal(goals, conn, command.tenant_id, command.goal_id)
    _ensure_version(command.tenant_id, goal.goal_id, command.expected_version, goal.version)
    return goal


def _ensure_version(tenant_id: str, stream_id: str, expected: int | None, current: int) -> None:
    if expected not in (None, current):
        raise ConcurrencyConflict(tenant_id, stream_id, expected, current)


def _recorded(goals: Goals, conn: Connection, command: Command, goal: Goal, event: object) -> Goal:
    tenant_id, metadata = command.tenant_id, command.metadata
    append = Append(tenant_id, goal.goal_id, goal.client_id, goal.version, [event], metadata)
    goals.repository.record(conn, append)
    goal.apply(event)
    return goal


def agree_goal(
    goals: Goals, conn: Connection, command: Command, agreed_by: Party, agreed_on: str | None = None
) -> Goal:
    return _change(goals, conn, command, lambda goal: goal.agree(agreed_by, agreed_on))


def reject_goal(
    goals: Goals, conn: Connection, command: Command, rejected_by: Party, reason: str
) -> Goal:
    return _change(goals, conn, command, lambda goal: goal.reject(rejected_by, reason), True)


def plan_step(
    goals: Goals, conn: Connection, command: Command, description: str, due_date: str | None
) -> tuple[Goal, str]:
    step_id = str(uuid.uuid4())
    decide = lambda goal: goal.plan_step(step_id, description, due_date)  # noqa: E731
    return _change(goals, conn, command, decide), step_id


def complete_step(
    goals: Goals,
    conn: Connection,
    command: Command,
    step_id: str,
    note: str | None,
    completed_on: str | None = None,
) -> Goal:
    decide = lambda goal: goal.complete_step(step_id, note, completed_on)  # noqa: E731
    return _change(goals, conn, command, decide)


def revise_goal(
    goals: Goals, conn: Connection, command: Command, reason: str, changes: dict[str, Any]
) -> Goal:
    return _change(goals, conn, command, lambda goal: goal.revise(reason, changes))


def revise_step(
    goals: Goals,
    conn: Connection,
    command: Command,
    step_id: str,
    reason: str,
    changes: dict[str, Any],
) -> Goal:
    decide = lambda goal: goal.revise_step(step_id, reason, changes)  # noqa: E731
    return _change(goals, conn, command, decide)


def check_in(
    goals: Goals, conn: Connection, command: Command, rating: int, by: Party, note: str | None
) -> Goal:
    """A check-in on an active goal, or after discharge a follow-up on an achieved one."""
    goal = _loaded(goals, conn, command)
    client = known_client(conn, command.tenant_id, goal.client_id)
    event = staying_well.check_in(goal, client, rating, by, note)
    return _recorded(goals, conn, command, goal, event)


def hold_goal(goals: Goals, conn: Connection, command: Command, reason: str) -> Goal:
    return _change(goals, conn, command, lambda goal: goal.hold(reason), closing=True)


def resume_goal(goals: Goals, conn: Connection, command: Command, reason: str) -> Goal:
    return _change(goals, conn, command, lambda goal: goal.resume(reason))


def cancel_goal(goals: Goals, conn: Connection, command: Command, reason: str) -> Goal:
    return _change(goals, conn, command, lambda goal: goal.cancel(reason), closing=True)


def achieve_goal(goals: Goals, conn: Connection, command: Command, note: str | None) -> Goal:
    return _change(goals, conn, command, lambda goal: goal.achieve(note))


@dataclass(frozen=True)
class RecordedSession:
    """A session progress recorded, as far as goal targets need it."""

    tenant_id: str
    client_id: str
    session_id: str
    held_on: str  # ISO date
    scores: dict[str, float]  # instrument → total


def meet_targets(
    goals: Goals, conn: Connection, session: RecordedSession, metadata: dict[str, Any]
) -> None:
    """Record `goal_target_met` on each goal of the client whose target a session's score meets
    for the first time: the goal decides, so a redelivered or replayed session records nothing
    twice."""
    tenant_id, client_id = session.tenant_id, session.client_id
    for _, goal_id in plan.goal_ids(conn, tenant_id, client_id, limit=ALL_GOALS):
        goal = load_goal(goals, conn, tenant_id, goal_id)
        instrument = (goal.details.get("target") or {}).get("instrument")
        if instrument not in session.scores:
            continue
        score = session.scores[instrument]
        met = goal.meet_target(instrument, score, session.session_id, session.held_on)
        if met is not None:
            append = Append(tenant_id, goal_id, client_id, goal.version, [met], metadata)
            goals.repository.record(conn, append)


def agree_staying_well_plan(
    goals: Goals,
    conn: Connection,
    tenant_id: str,
    client_id: str,
    agreed: dict[str, Any],
    expected_version: int | None,
    metadata: dict[str, Any],
) -> StayingWellPlan:
    """Agree the client's staying-well plan, or revise it, from referral until discharge; the
    plan already on record is answered as it is."""
    ensure_goal_work_may_continue(conn, tenant_id, client_id)
    current = load_staying_well_plan(goals, conn, tenant_id, client_id)
    stream_id = plan_stream(client_id)
    _ensure_version(tenant_id, stream_id, expected_version, current.version)
    event = current.agree(**agreed)
    if event is not None:
        append = Append(tenant_id, stream_id, client_id, current.version, [event], metadata)
        goals.repository.record(conn, append)
        current.apply(event)
    return current
