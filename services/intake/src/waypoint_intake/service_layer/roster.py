"""Intake's handlers for the therapist roster, matching, assignment and discharge.

Capacity is race-free: taking a client on is recorded on the therapist's stream at the version
it was read, in the same transaction as the assignment on the client's stream, so of two
assignments that read the same caseload only one can commit.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Connection

from waypoint_intake.adapters import indexes
from waypoint_intake.domain import matching
from waypoint_intake.domain.client import Client
from waypoint_intake.domain.therapist import Therapist
from waypoint_intake.service_layer.handlers import (
    ClientCommand,
    Intake,
    change_client,
    load_client,
    today,
)
from waypoint_shared.eventstore.repository import Append, ConcurrencyConflict
from waypoint_shared.http import erasure


def register_therapist(
    intake: Intake,
    conn: Connection,
    tenant_id: str,
    profile: dict[str, Any],
    metadata: dict[str, Any],
) -> Therapist:
    therapist = Therapist(str(uuid.uuid4()))
    [recorded] = _record(
        intake,
        conn,
        tenant_id,
        therapist,
        [Therapist.register(therapist.therapist_id, **profile)],
        metadata,
    )
    indexes.index_therapist(conn, tenant_id, therapist.therapist_id, recorded.position)
    return therapist


def update_therapist(
    intake: Intake,
    conn: Connection,
    tenant_id: str,
    therapist_id: str,
    updates: dict[str, Any],
    metadata: dict[str, Any],
    expected_version: int | None = None,
) -> Therapist:
    therapist = load_therapist(intake, conn, tenant_id, therapist_id)
    changes = therapist.update(updates)  # a refusal first, whatever If-Match names (RFC 9110)
    if expected_version not in (None, therapist.version):
        raise ConcurrencyConflict(tenant_id, therapist_id, expected_version, therapist.version)
    _record(intake, conn, tenant_id, therapist, changes, metadata)
    return therapist


def load_therapist(
    intake: Intake, conn: Connection, tenant_id: str, therapist_id: str
) -> Therapist:
    events = intake.repository.replay(conn, tenant_id, therapist_id)
    return Therapist.rebuilt(therapist_id, [e for e, _ in events])


def therapists_page(
    intake: Intake, conn: Connection, tenant_id: str, cursor: str | None, limit: int
) -> tuple[list[Therapist], str | None]:
    ids, next_cursor = indexes.page_of_therapists(conn, tenant_id, cursor, limit)
    return [load_therapist(intake, conn, tenant_id, i) for i in ids], next_cursor


def therapist_matches(
    intake: Intake, conn: Connection, tenant_id: str, client_id: str
) -> list[matching.Match]:
    """The roster ranked for this client (only therapists who can take them on)."""
    client = load_client(intake, conn, tenant_id, client_id)
    roster = [
        load_therapist(intake, conn, tenant_id, therapist_id)
        for therapist_id in indexes.all_therapists(conn, tenant_id)
    ]
    return matching.rank(_seeker(client), [_candidate(t) for t in roster])


def assign_therapist(
    intake: Intake, conn: Connection, cmd: ClientCommand, therapist_id: str
) -> Client:
    """Assign or reassign: the new therapist takes the client on, the previous one hands over."""

    def decide(client: Client) -> list[object]:
        events = client.assign_therapist(therapist_id)
        if events:
            _take_on(intake, conn, cmd, therapist_id)
            _hand_over(intake, conn, cmd, client.therapist_id)
        return events

    return change_client(intake, conn, cmd, decide)


def discharge(
    intake: Intake,
    conn: Connection,
    cmd: ClientCommand,
    ending_reason: str,
    discharged_on: date | None = None,
    reason: str | None = None,
) -> Client:
    """End of treatment: the client's place with their therapist is freed."""

    def decide(client: Client) -> list[object]:
        events = client.discharge(ending_reason, today(), discharged_on, reason)
        _hand_over(intake, conn, cmd, client.therapist_id)
        return events

    return change_client(intake, conn, cmd, decide)


def erase_client(
    intake: Intake, conn: Connection, cmd: ClientCommand, erased_by: dict[str, str]
) -> Client:
    """Erasure: the client's place is freed and `client_erased` recorded; then intake forgets
    them (keys destroyed, indexes and stored replies that quote them deleted)."""

    def decide(client: Client) -> list[object]:
        _hand_over(intake, conn, cmd, client.therapist_id)
        return client.erase(erased_by)

    client = change_client(intake, conn, cmd, decide)
    indexes.forget_client(conn, cmd.tenant_id, cmd.client_id)
    erasure.forget_client(conn, cmd.tenant_id, cmd.client_id)
    return client


def _take_on(intake: Intake, conn: Connection, cmd: ClientCommand, therapist_id: str) -> None:
    therapist = load_therapist(intake, conn, cmd.tenant_id, therapist_id)
    events = therapist.take_on(cmd.client_id)
    _record(intake, conn, cmd.tenant_id, therapist, events, cmd.metadata)


def _hand_over(
    intake: Intake, conn: Connection, cmd: ClientCommand, therapist_id: str | None
) -> None:
    if therapist_id is None:
        return
    therapist = load_therapist(intake, conn, cmd.tenant_id, therapist_id)
    events = therapist.hand_over(cmd.client_id)
    _record(intake, conn, cmd.tenant_id, therapist, events, cmd.metadata)


def _record(
    intake: Intake,
    conn: Connection,
    tenant_id: str,
    therapist: Therapist,
    events: list[object],
    metadata: dict[str, Any],
) -> list[Any]:
    """Append to the therapist's stream at the version it was read (its id is the stream's
    "client" too, so no client's data key is involved), then apply."""
    if not events:
        return []
    stream = therapist.therapist_id
    append = Append(tenant_id, stream, stream, therapist.version, events, metadata)
    recorded = intake.repository.record(conn, append)
    for event in events:
        therapist.apply(event)
    return recorded


def _seeker(client: Client) -> matching.Seeker:
    preferences = (client.cultural_context or {}).get("therapist_preferences") or {}
    return matching.Seeker(
        preferred_language=client.details.get("preferred_language"),
        presenting_concerns=list(client.details.get("presenting_concerns") or []),
        preferences=dict(preferences),
    )


def _candidate(therapist: Therapist) -> matching.Candidate:
    profile = therapist.profile
    return matching.Candidate(
        therapist_id=therapist.therapist_id,
        name=profile["name"],
        languages=list(profile["languages"]),
        modalities=list(profile["modalities"]),
        specialties=list(profile["specialties"]),
        gender=profile.get("gender"),
        accepting_clients=profile["accepting_clients"],
        free_places=therapist.free_places,
    )
