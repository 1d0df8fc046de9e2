"""Turning a service's domain events (frozen dataclasses) into stored, sealed catalog events and
back again — the same code path for a live command and for a replay.

An erased client's streams are neither written nor replayed: both raise ClientErased, which every
service answers with 410 Gone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_shared import catalog
from waypoint_shared.crypto import ClientErased, PersonalDataKeys, is_erased
from waypoint_shared.store import EventStore, NewEvent, RecordedEvent


def event_name(event_class: type) -> str:
    """`ClientReferred` → `client_referred`, the catalog name of a domain event."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event_class.__name__).lower()


class EventSourcedRepository:
    """Records and replays one service's domain events through the shared event store."""

    def __init__(
        self, service: str, store: EventStore, keys: PersonalDataKeys, event_classes: Sequence[type]
    ):
        self.service, self.store, self.keys = service, store, keys
        self.classes: Mapping[str, type] = {event_name(c): c for c in event_classes}

    def record(
        self,
        conn: Connection,
        *,
        tenant_id: str,
        stream_id: str,
        client_id: str,
        expected_version: int,
        events: Sequence[Any],
        metadata: dict[str, Any],
        event_ids: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        """Validate, seal and append domain events after expected_version."""
        _ensure_not_erased(conn, tenant_id, client_id)
        new_events = []
        for i, event in enumerate(events):
            entry = catalog.latest(self.service, event_name(type(event)))
            plain = catalog.validate_plain(entry.type, dataclasses.asdict(event))
            sealed = self.keys.seal(conn, tenant_id, client_id, plain, entry.personal_fields)
            extra = {"event_id": event_ids[i]} if event_ids else {}
            new_events.append(NewEvent(entry.type, entry.version, sealed, **extra))
        return self.store.append(
            conn,
            tenant_id=tenant_id,
            stream_id=stream_id,
            client_id=client_id,
            expected_version=expected_version,
            new_events=new_events,
            metadata=metadata,
        )

    def replay(
        self, conn: Connection, tenant_id: str, stream_id: str, until: datetime | None = None
    ) -> list[tuple[Any, RecordedEvent]]:
        """A stream's domain events, opened and upcast, each with its stored record."""
        stored = self.store.read_stream(conn, tenant_id, stream_id, until)
        if stored:
            _ensure_not_erased(conn, tenant_id, stored[0].client_id)
        out = []
        for recorded in stored:
            type_, data = catalog.upcast(recorded.type, recorded.data)
            entry = catalog.lookup(type_)
            opened = self.keys.open(
                conn, tenant_id, recorded.client_id, data, entry.personal_fields
            )
            out.append((self.classes[entry.name](**opened), recorded))
        return out


def _ensure_not_erased(conn: Connection, tenant_id: str, client_id: str) -> None:
    if is_erased(conn, tenant_id, client_id):
        raise ClientErased(client_id)


def exported(history: Sequence[tuple[Any, RecordedEvent]]) -> list[dict[str, Any]]:
    """Replayed events as a subject-access export shows them: opened, with when and by whom."""
    return [
        {
            "event_id": recorded.event_id,
            "type": event_name(type(event)),
            "stream_id": recorded.stream_id,
            "version": recorded.stream_version,
            "occurred_at": recorded.occurred_at.isoformat(),
            "actor": recorded.metadata.get("actor"),
            "data": dataclasses.asdict(event),
        }
        for event, recorded in history
    ]
