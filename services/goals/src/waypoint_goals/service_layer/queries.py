"""Goals' read side: a goal, its history and a client's plan, rebuilt from the goal streams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection

from waypoint_goals.adapters import eligibility, plan
from waypoint_goals.domain.errors import ClientNotFound, NotFound
from waypoint_goals.domain.goal import Goal
from waypoint_goals.domain.staying_well import StayingWellPlan, plan_stream
from waypoint_shared.eventstore.repository import EventSourcedRepository, RecordedEvent, exported
from waypoint_shared.http import audit, erasure


class Goals(Protocol):
    """What the read side needs of the goals service: its repository of goal streams."""

    @property
    def repository(self) -> EventSourcedRepository: ...


T = TypeVar("T")
ALL_GOALS = 10_000  # a CarePlan is one resource: it carries every goal of the client


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def load_goal(
    goals: Goals, conn: Connection, tenant_id: str, goal_id: str, as_of: datetime | None = None
) -> Goal:
    events = goals.repository.replay(conn, tenant_id, goal_id, until=as_of)
    return Goal.rebuilt(goal_id, [e for e, _ in events])


def goal_with_time(
    goals: Goals, conn: Connection, tenant_id: str, goal_id: str
) -> tuple[Goal, datetime]:
    """A goal as it is, and when it last changed."""
    events = goals.repository.replay(conn, tenant_id, goal_id)
    return Goal.rebuilt(goal_id, [e for e, _ in events]), events[-1][1].occurred_at


def load_staying_well_plan(
    goals: Goals, conn: Connection, tenant_id: str, client_id: str
) -> StayingWellPlan:
    """The client's staying-well plan as last agreed (version 0 before any agreement)."""
    events = goals.repository.replay(conn, tenant_id, plan_stream(client_id))
    return StayingWellPlan.rebuilt(client_id, [e for e, _ in events])


def goal_history(
    goals: Goals, conn: Connection, tenant_id: str, goal_id: str, after: int, limit: int
) -> Page[RecordedEvent]:
    """The goal's events after a version: its write audit trail."""
    recorded = goals.repository.stored(conn, tenant_id, goal_id)
    if not recorded:
        raise NotFound(goal_id)
    erasure.ensure_not_erased(conn, tenant_id, recorded[0].client_id)
    page = [r for r in recorded if r.stream_version > after][:limit]
    more = page and page[-1].stream_version < recorded[-1].stream_version
    return Page(page, str(page[-1].stream_version) if more else None)


def client_plan(
    goals: Goals,
    conn: Connection,
    tenant_id: str,
    client_id: str,
    *,
    after: int,
    limit: int,
    as_of: datetime | None = None,
) -> Page[Goal]:
    """A client's goals with their steps and statuses, in the order they were proposed."""
    rows = plan.goal_ids(conn, tenant_id, client_id, after=after, limit=limit + 1, as_of=as_of)
    if not rows and not after and eligibility.find(conn, tenant_id, client_id) is None:
        raise ClientNotFound(client_id)
    page = rows[:limit]
    found = [load_goal(goals, conn, tenant_id, goal_id, as_of) for _, goal_id in page]
    return Page(found, str(page[-1][0]) if len(rows) > limit else None)


def goals_of(goals: Goals, conn: Connection, tenant_id: str, client_id: str) -> list[Goal]:
    """Every goal of a client (none for a client goals has not heard of): a CarePlan's goals."""
    rows = plan.goal_ids(conn, tenant_id, client_id, limit=ALL_GOALS)
    return [load_goal(goals, conn, tenant_id, goal_id) for _, goal_id in rows]


def goals_with_times(
    goals: Goals, conn: Connection, tenant_id: str, client_id: str
) -> list[tuple[Goal, datetime]]:
    """Every goal of a client, each with when it last changed (none for a client goals has not
    heard of)."""
    rows = plan.goal_ids(conn, tenant_id, client_id, limit=ALL_GOALS)
    return [goal_with_time(goals, conn, tenant_id, goal_id) for _, goal_id in rows]


def subject_access(
    goals: Goals, conn: Connection, tenant_id: str, client_id: str
) -> dict[str, Any]:
    """Everything goals holds about a client, opened: what intake told it, every goal as it is,
    the staying-well plan as last agreed, every event of them, and the reads of the client's data
    so far."""
    known = eligibility.find(conn, tenant_id, client_id)
    goal_ids = [g for _, g in plan.goal_ids(conn, tenant_id, client_id, limit=ALL_GOALS)]
    if known is None and not goal_ids:
        raise ClientNotFound(client_id)
    histories = {g: goals.repository.replay(conn, tenant_id, g) for g in goal_ids}
    plan_history = goals.repository.replay(conn, tenant_id, plan_stream(client_id))
    staying_well = StayingWellPlan.rebuilt(client_id, [e for e, _ in plan_history])
    return {
        "eligibility": known,
        "goals": [Goal.rebuilt(g, [e for e, _ in h]) for g, h in histories.items()],
        "staying_well_plan": staying_well if staying_well.version else None,
        "events": [
            entry for history in [*histories.values(), plan_history] for entry in exported(history)
        ],
        "access_log": audit.access_log(conn, tenant_id, client_id)[0],
    }
