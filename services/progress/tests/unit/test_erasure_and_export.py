"""Progress forgets an erased client for good — late events and rebuilds bring nothing back — and
exports what it holds about a client, decrypted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from waypoint_devkit.apps import deliver
from waypoint_devkit.webhook_receiver import milestone
from waypoint_progress.adapters.tables import source_events, timelines
from waypoint_progress.adapters.webhook_store import webhook_deliveries
from waypoint_progress.service_layer.rebuild import Position, rebuild
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.db.database import read, run_in_transaction
from waypoint_shared.db.tables import data_keys, events
from waypoint_shared.http.auth import ALL_SCOPES, mint_token
from waypoint_shared.messaging.envelope import Envelope

from ..conftest import JourneyEvents

ADMIN = {"role": "administrator", "id": "dpo-1"}
REFLECTION = "I told my sister about the lighthouse dream"
TOKEN = mint_token(DEVELOPMENT_SECRET, "ehr", "clinic-a", ALL_SCOPES)
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def project(app: Flask, *envelopes: Envelope) -> None:
    deliver(app, app.extensions["waypoint"].projector.handle, *envelopes)


def get(app: Flask, path: str, **query: Any) -> Any:
    return app.test_client().get(path, query_string=query, headers=HEADERS)


def record_session(app: Flask, client_id: str, **headers: str) -> Any:
    body = {"date": date.today().isoformat(), "attended": True, "reflection": REFLECTION}
    return app.test_client().post(
        f"/v1/clients/{client_id}/sessions", json=body, headers={**HEADERS, **headers}
    )


def rows_of(app: Flask, client_id: str) -> list[int]:
    with read(app.extensions["waypoint"].engine) as conn:
        return [
            conn.execute(
                select(func.count()).select_from(t).where(t.c.client_id == client_id)
            ).scalar_one()
            for t in (timelines, source_events, data_keys)
        ]


def database_bytes(app: Flask) -> bytes:
    var_dir = Path(app.extensions["waypoint"].engine.url.database).parent
    return b"".join(p.read_bytes() for p in sorted(var_dir.glob("progress.db*")))


def erased(journey: JourneyEvents) -> Envelope:
    return journey.make("intake", "client_erased", {"erased_by": ADMIN})


def test_after_client_erased_every_progress_route_of_the_client_answers_410(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    client = journey()
    project(app, *client.acceptance_journey())
    record_session(app, client.client_id)
    project(app, erased(client))

    base = f"/v1/clients/{client.client_id}"
    answers = [
        get(app, f"{base}/{path}", **query)
        for path, query in (
            ("timeline", {}),
            ("milestones", {}),
            ("timeline.svg", {}),
            ("measures", {"instrument": "PHQ-9"}),
            ("export", {}),
            ("access-log", {}),
            ("outcome", {}),
            ("summary", {}),
        )
    ]
    answers.append(record_session(app, client.client_id))
    fhir = get(app, "/fhir/Observation", patient=client.client_id)

    assert [a.status_code for a in answers] == [410] * 9
    assert fhir.status_code == 410
    assert fhir.get_json()["issue"][0]["code"] == "deleted"
    assert rows_of(app, client.client_id) == [0, 0, 0]


def test_erasure_leaves_another_clients_timeline_as_it_was(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    kept, gone = journey(), journey()
    project(app, *kept.acceptance_journey())
    before = get(app, f"/v1/clients/{kept.client_id}/timeline", limit=200).get_json()
    project(app, *gone.acceptance_journey(), erased(gone))

    after = get(app, f"/v1/clients/{kept.client_id}/timeline", limit=200).get_json()

    assert after == before


def test_an_event_of_an_erased_client_arriving_later_brings_nothing_back(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    client = journey()
    project(app, client.referral(), erased(client))
    appended_before = count_events(app)

    project(app, *client.acceptance_journey())

    assert rows_of(app, client.client_id) == [0, 0, 0]
    assert count_events(app) == appended_before  # no milestone derived for them either


def test_a_journey_and_its_erasure_in_one_batch_leave_nothing_and_publish_nothing(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    client, other = journey(), journey()
    container = app.extensions["waypoint"]
    appended_before = count_events(app)
    batch = [*client.acceptance_journey(), erased(client), *other.acceptance_journey()]

    run_in_transaction(container.engine, lambda c: container.projector.handle_all(c, batch))

    assert rows_of(app, client.client_id) == [0, 0, 0]
    timeline = get(app, f"/v1/clients/{other.client_id}/timeline", limit=200).get_json()
    derived = [e for e in timeline["items"] if e["kind"] != "event"]
    assert derived  # the other client's milestones were derived and published
    assert count_events(app) - appended_before == len(derived)


def count_events(app: Flask) -> int:
    with read(app.extensions["waypoint"].engine) as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


class Replayed:
    """The topics as a rebuild reads them: every record produced, from offset 0."""

    def __init__(self, *journeys: JourneyEvents, erasures_first: bool = False):
        records = [r for j in journeys for r in j.records]
        if erasures_first:  # e.g. intake's topic read before the goals and progress topics
            records.sort(key=lambda r: b"client_erased" not in r[2])
        self.records = [(f"waypoint.{service}.events", value) for service, _, value in records]

    def end_offsets(self) -> dict[Position, int]:
        return {}

    def batches(self, _targets: Mapping[Position, int]) -> Iterator[list[Any]]:
        yield [SimpleNamespace(topic=t, value=v) for t, v in self.records]


def test_a_rebuild_keeps_an_erased_client_erased_and_the_others_whole(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    kept, gone = journey(), journey()
    project(app, *kept.acceptance_journey(), *gone.acceptance_journey(), erased(gone))
    before = get(app, f"/v1/clients/{kept.client_id}/timeline", limit=200).get_json()
    container = app.extensions["waypoint"]

    replayed = Replayed(kept, gone, erasures_first=True)
    rebuild(container.engine, container.projector, replayed, "waypoint-progress")

    assert rows_of(app, gone.client_id) == [0, 0, 0]
    assert get(app, f"/v1/clients/{gone.client_id}/timeline").status_code == 410
    assert get(app, f"/v1/clients/{kept.client_id}/timeline", limit=200).get_json() == before


def test_a_rebuild_that_meets_an_erasure_the_worker_has_not_applied_erases_too(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    client = journey()
    project(app, *client.acceptance_journey())
    erased(client)  # on the topic, not yet applied by the live consumer
    container = app.extensions["waypoint"]

    rebuild(container.engine, container.projector, Replayed(client), "waypoint-progress")

    assert rows_of(app, client.client_id) == [0, 0, 0]
    assert get(app, f"/v1/clients/{client.client_id}/timeline").status_code == 410


def test_the_export_holds_the_timeline_and_the_sessions_decrypted(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    client = journey()
    project(app, *client.acceptance_journey())
    record_session(app, client.client_id)

    exported = get(app, f"/v1/clients/{client.client_id}/export").get_json()

    assert REFLECTION.encode() not in database_bytes(app)
    assert exported["service"] == "progress"
    [session] = [e for e in exported["events"] if e["type"] == "session_recorded"]
    assert session["data"]["reflection"] == REFLECTION
    assert "milestone_reached" in {e["type"] for e in exported["events"]}
    assert "journey_started" in [entry["type"] for entry in exported["timeline"]]


def test_a_client_progress_never_saw_has_no_export(app: Flask) -> None:
    assert get(app, f"/v1/clients/{uuid.uuid4()}/export").status_code == 404


def test_erasure_removes_the_stored_reply_that_quoted_a_reflection(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    client = journey()
    project(app, client.referral())
    once = {"Idempotency-Key": "record-session-00001"}
    assert record_session(app, client.client_id, **once).status_code == 201
    assert REFLECTION.encode() not in database_bytes(app)  # the stored reply is sealed
    assert stored_replies(app) == 1
    assert reply_subjects(app) == [client.client_id]  # erased by the client it names

    project(app, erased(client))

    assert REFLECTION.encode() not in database_bytes(app)
    assert stored_replies(app) == 0


def stored_replies(app: Flask) -> int:
    from sqlalchemy import func, select

    from waypoint_shared.db.database import read
    from waypoint_shared.db.tables import idempotency_records

    with read(app.extensions["waypoint"].engine) as conn:
        return int(conn.execute(select(func.count()).select_from(idempotency_records)).scalar_one())


def reply_subjects(app: Flask) -> list[str]:
    from sqlalchemy import select

    from waypoint_shared.db.database import read
    from waypoint_shared.db.tables import idempotency_records

    with read(app.extensions["waypoint"].engine) as conn:
        return list(conn.execute(select(idempotency_records.c.subject)).scalars())


def test_an_erasure_deletes_the_clients_webhook_deliveries_and_none_is_recorded_after(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    container = app.extensions["waypoint"]
    subscribe = {"url": "http://127.0.0.1:9/hooks", "event_types": ["milestone_reached"]}
    run_in_transaction(
        container.engine, lambda c: container.webhooks.subscribe(c, "clinic-a", subscribe)
    )
    client, kept = journey(), journey()
    late = milestone(client.client_id)
    run_in_transaction(
        container.engine,
        lambda c: container.webhooks.record(
            c, [milestone(client.client_id), milestone(kept.client_id)]
        ),
    )
    assert deliveries_of(app) == {client.client_id: 1, kept.client_id: 1}

    project(app, erased(client))
    run_in_transaction(container.engine, lambda c: container.webhooks.record(c, [late]))

    assert deliveries_of(app) == {kept.client_id: 1}


def deliveries_of(app: Flask) -> dict[str, int]:
    d = webhook_deliveries.c
    query = select(d.client_id, func.count()).group_by(d.client_id)
    with read(app.extensions["waypoint"].engine) as conn:
        return {client_id: n for client_id, n in conn.execute(query)}
