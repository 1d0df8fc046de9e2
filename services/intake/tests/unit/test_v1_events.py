"""A record written before the v2 events (v1 referral, screening and discharge, as stored then)
loads through the upcasters: the new facts are null, nothing is made up, the old ones stay."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection

from waypoint_intake.bootstrap import Container
from waypoint_shared import catalog
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.eventstore.store import Append, NewEvent
from waypoint_shared.runtime import personal_data_keys

from .conftest import Driver

V1_RECORD: list[tuple[str, dict[str, Any]]] = [
    (
        "waypoint.intake.client_referred.v1",
        {"given_name": "Kofi", "family_name": "Mensah", "date_of_birth": "2011-05-06"},
    ),
    (
        "waypoint.intake.screening_recorded.v1",
        {
            "screening_id": str(uuid.uuid4()),
            "instrument": "GAD-7",
            "items": [1] * 7,
            "total": 7,
            "severity": "mild",
        },
    ),
    ("waypoint.intake.client_discharged.v1", {"reason": "moved away"}),
]


def store_v1_record(intake: Driver, client_id: str) -> None:
    """Seal and append the v1 events the way intake stored them before v2."""
    container: Container = intake.app.extensions["waypoint"]
    keys = personal_data_keys(container.settings)

    def append(conn: Connection) -> None:
        new_events = []
        for event_type, data in V1_RECORD:
            plain = catalog.validate_plain(event_type, {"client_id": client_id, **data})
            personal = catalog.lookup(event_type).personal_fields
            sealed = keys.seal(conn, intake.tenant, client_id, event_type, plain, personal)
            new_events.append(NewEvent(event_type, 1, sealed))
        container.store.append(
            conn, [Append(intake.tenant, client_id, client_id, 0, new_events, {})]
        )

    run_in_transaction(container.engine, append)


def test_a_v1_record_loads_with_its_new_facts_null_and_its_old_ones_kept(intake: Driver) -> None:
    client_id = str(uuid.uuid4())
    store_v1_record(intake, client_id)

    client: dict[str, Any] = intake.get(f"/v1/clients/{client_id}").get_json()

    assert (client["given_name"], client["date_of_birth"]) == ("Kofi", "2011-05-06")
    assert (client["referred_on"], client["age_group"]) == (None, None)
    assert client["screenings"][0]["total"] == 7
    assert client["screenings"][0]["administered_on"] is None
    assert (client["status"], client["discharge_reason"]) == ("discharged", "moved away")
    assert (client["ending_reason"], client["discharged_on"]) == (None, None)


def test_a_v1_records_episode_of_care_has_no_period_and_no_ending_reason(intake: Driver) -> None:
    client_id = str(uuid.uuid4())
    store_v1_record(intake, client_id)

    body = intake.get("/fhir/EpisodeOfCare", patient=client_id).get_json()
    [episode] = [e["resource"] for e in body["entry"]]

    assert episode["status"] == "finished"
    assert "period" not in episode and "extension" not in episode
