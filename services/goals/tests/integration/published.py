"""Events of another service as its relay publishes them: a CloudEvent, personal fields sealed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from waypoint_shared.crypto.sealing import Place, seal_fields
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.envelope import encode

KEY = os.urandom(32)  # the producer's: goals never opens these fields


def published(
    service: str,
    name: str,
    client_id: str,
    version: int,
    data: dict[str, Any],
    personal: Collection[str],
) -> bytes:
    """Version 1 of `waypoint.<service>.<name>` as the service's relay publishes it."""
    event_type = f"waypoint.{service}.{name}.v1"
    place = Place(service, "clinic-a", client_id, event_type, "")
    sealed = seal_fields(KEY, place, data, set(personal))
    recorded = RecordedEvent(
        version,
        str(uuid.uuid4()),
        "clinic-a",
        client_id,
        version,
        client_id,
        event_type,
        1,
        datetime.now(UTC),
        {"client_id": client_id, **sealed},
        {"correlation_id": "req-1"},
    )
    return encode(recorded, service)[1]
