"""The trust checks a consumer runs on every decoded record: topic, source and type name one
service, and the types that destroy or rewrite a client's data need a client the service knows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection

from waypoint_shared import catalog
from waypoint_shared.messaging import trust
from waypoint_shared.messaging.envelope import Envelope

ERASED = "waypoint.intake.client_erased.v1"
REFERRED = "waypoint.intake.client_referred.v1"
# The look-ups these tests pass never touch the connection, so no database is opened.
NO_CONNECTION: Connection = None  # type: ignore[assignment]  # a stand-in nothing reads


def event(type_: str = REFERRED, source: str = "intake", client_id: str | None = None) -> Envelope:
    return Envelope(
        event_id=str(uuid.uuid4()),
        source_service=source,
        type=type_,
        client_id=client_id or str(uuid.uuid4()),
        tenant_id="clinic-a",
        time=datetime.now(UTC),
        stream_version=1,
        correlation_id=None,
        causation_id=None,
        data={},
    )


@pytest.mark.parametrize("topic", ["waypoint.intake.events", "t1a2b.waypoint.intake.events"])
def test_a_record_whose_topic_source_and_type_name_one_service_passes(topic: str) -> None:
    assert trust.origin_error(topic, event()) is None


@pytest.mark.parametrize(
    ("topic", "type_", "source"),
    [
        ("waypoint.goals.events", ERASED, "intake"),  # the attack: intake's erasure on goals' topic
        ("waypoint.intake.events", ERASED, "goals"),  # intake's topic, but goals as its source
        ("waypoint.goals.events", ERASED, "goals"),  # goals' topic and source, intake's type
        ("waypoint.progress.events", "waypoint.progress.session_recorded.v1", "intake"),
        ("waypoint.intake.dlq", ERASED, "intake"),  # not an event topic at all
    ],
)
def test_a_record_whose_topic_source_or_type_disagree_fails_the_origin_check(
    topic: str, type_: str, source: str
) -> None:
    error = trust.origin_error(topic, event(type_, source))

    assert error is not None
    assert error.startswith("origin check failed")
    assert topic in error and type_ in error


def test_every_type_that_needs_a_known_client_is_in_the_catalog_and_erasure_is_one() -> None:
    assert ERASED in trust.NEEDS_KNOWN_CLIENT
    for type_ in trust.NEEDS_KNOWN_CLIENT:
        assert catalog.lookup(type_).service == "intake"


def test_an_erasure_of_a_client_the_service_knows_passes_and_of_one_it_does_not_fails() -> None:
    known = event(ERASED)
    stranger = event(ERASED)
    knows = {("clinic-a", known.client_id)}

    def known_client(conn: Any, tenant_id: str, client_id: str) -> bool:
        return (tenant_id, client_id) in knows

    assert trust.client_error(NO_CONNECTION, known, known_client) is None
    error = trust.client_error(NO_CONNECTION, stranger, known_client)
    assert error is not None and error.startswith("known-client check failed")
    assert stranger.client_id in error and "clinic-a" in error


def test_a_type_that_needs_no_known_client_is_never_looked_up() -> None:
    def must_not_ask(conn: Any, tenant_id: str, client_id: str) -> bool:
        raise AssertionError("looked up")

    assert trust.client_error(NO_CONNECTION, event(REFERRED), must_not_ask) is None


def test_a_consumer_without_a_look_up_refuses_every_erasure() -> None:
    error = trust.client_error(NO_CONNECTION, event(ERASED), trust.no_client_known)

    assert error is not None


def test_an_erasure_after_its_referral_in_one_batch_is_checked_once_the_referral_is_applied() -> (
    None
):
    client_id = str(uuid.uuid4())
    referred, erased = event(REFERRED, client_id=client_id), event(ERASED, client_id=client_id)
    stranger = event(ERASED)
    applied: list[list[str]] = []
    knows: set[tuple[str, str]] = set()

    def handle_all(conn: Any, events: list[Envelope]) -> None:
        applied.append([e.type for e in events])
        knows.update((e.tenant_id, e.client_id) for e in events)

    def known_client(conn: Any, tenant_id: str, client_id: str) -> bool:
        return (tenant_id, client_id) in knows

    refused = trust.apply_checked(
        NO_CONNECTION,
        [referred, stranger, erased, event(REFERRED)],
        handle_all,
        known_client,
    )

    assert [(e.event_id, error.split(":")[0]) for e, error in refused] == [
        (stranger.event_id, "known-client check failed")
    ]
    assert applied == [[REFERRED], [ERASED, REFERRED]]
