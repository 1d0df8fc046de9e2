"""Goals' command handlers: load the goal, let it decide, record the event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from waypoint_goals.adapters import eligibility, plan
from waypoint_goals.domain.eligibility import ensure_known
from waypoint_goals.domain.events import EVENTS, Party
from waypoint_goals.domain.goal import Goal
from waypoint_goals.service_layer.queries import ALL_GOALS, load_goal
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
        return cls(EventSourcedRepository(SERVICE, store, keys, EVENTS))


@dataclass(frozen=True)
class Command:
    """What every command on an existing goal carries besides its own arguments."""

    tenant_id: str
    goal_id: str
    expected_version: int | None  # from If-Match; None: whatever version the goal is at
    metadata: dict[str, Any]


def ensure_goal_work_may_continue(conn: Connection, tenant_id: str, client_id: str) -> None:
    """Refuse when intake has not referred the client, or has discharged it or lost consent."""
    found = ensure_known(eligibility.find(conn, tenant_id, client_id), client_id)
    found.ensure_goal_work_may_continue()


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
    goal = load_goal(goals, conn, command.tenant_id, command.goal_id)
    if command.expected_version not in (None, goal.version):
        raise ConcurrencyConflict(
            command.tenant_id, goal.goal_id, command.expected_version, goal.version
        )
    if not closing:  # winding a goal down stays possible after a discharge or a revocation
        ensure_goal_work_may_continue(conn, command.tenant_id, goal.client_id)
    event = decide(goal)
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
    return _change(goals, conn, command, lambda goal: goal.check_in(rating, by, note))


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
