"""Turning a service's domain events (frozen dataclasses) into stored, sealed catalog events and
back again — the same code path for a live command and for a replay.

An erased client's streams are neither written nor replayed: both raise ClientErased, which every
service answers with 410 Gone.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from waypoint_shared import catalog
from waypoint_shared.crypto.sealing import (
    ClientErased,
    CryptoError,
    PersonalDataKeys,
    UnreadableRecord,
    erased_among,
    is_erased,
)
from waypoint_shared.eventstore.store import Append, EventStore, NewEvent, RecordedEvent


@functools.cache
def event_name(event_class: type) -> str:
    """`ClientReferred` → `client_referred`, the catalog name of a domain event."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event_class.__name__).lower()


log = logging.getLogger(__name__)
_latest = functools.cache(catalog.latest)  # the catalog is fixed once imported


@dataclass(frozen=True)
class Recording:
    """Domain events to record on one stream after the version the caller read."""

    tenant_id: str
    stream_id: str
    client_id: str
    expected_version: int
    events: Sequence[Any]
    metadata: dict[str, Any]
    event_ids: Sequence[str] | None = None


def _clients_by_tenant(recordings: Sequence[Recording]) -> dict[str, set[str]]:
    clients: dict[str, set[str]] = {}
    for r in recordings:
        clients.setdefault(r.tenant_id, set()).add(r.client_id)
    return clients


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
        recording = Recording(
            tenant_id, stream_id, client_id, expected_version, events, metadata, event_ids
        )
        return self.record_all(conn, [recording])

    def record_all(self, conn: Connection, recordings: Sequence[Recording]) -> list[RecordedEvent]:
        """Several recordings at once (one look-up of erased clients, one append)."""
        for tenant_id, client_ids in _clients_by_tenant(recordings).items():
            erased = erased_among(conn, tenant_id, client_ids)
            if erased:
                raise ClientErased(min(erased))
        appends = [
            Append(
                r.tenant_id,
                r.stream_id,
                r.client_id,
                r.expected_version,
                [self._sealed(conn, r, i, event) for i, event in enumerate(r.events)],
                r.metadata,
            )
            for r in recordings
        ]
        return self.store.append_all(conn, appends)

    def _sealed(self, conn: Connection, recording: Recording, i: int, event: Any) -> NewEvent:
        entry = _latest(self.service, event_name(type(event)))
        plain = catalog.validate_plain(entry.type, dataclasses.asdict(event))
        r = recording
        sealed = self.keys.seal(
            conn, r.tenant_id, r.client_id, entry.type, plain, entry.personal_fields
        )
        extra = {"event_id": r.event_ids[i]} if r.event_ids else {}
        return NewEvent(entry.type, entry.version, sealed, **extra)

    def replay(
        self, conn: Connection, tenant_id: str, stream_id: str, until: datetime | None = None
    ) -> list[tuple[Any, RecordedEvent]]:
        """A stream's domain events, opened and upcast, each with its stored record.

        Values are opened at the place they were sealed for — the type and version the event is
        stored under — and only then upcast. A value that does not open there raises
        UnreadableRecord: the stream is answered with nothing rather than with a moved value."""
        stored = self.store.read_stream(conn, tenant_id, stream_id, until)
        if stored:
            _ensure_not_erased(conn, tenant_id, stored[0].client_id)
        return [(self._opened(conn, recorded), recorded) for recorded in stored]

    def _opened(self, conn: Connection, recorded: RecordedEvent) -> Any:
        personal = catalog.lookup(recorded.type).personal_fields
        try:
            data = self.keys.open(
                conn,
                recorded.tenant_id,
                recorded.client_id,
                recorded.type,
                recorded.data,
                personal,
            )
        except ClientErased:
            raise
        except CryptoError as error:
            log.error(
                "stored sealed data does not open where it is stored",
                extra={
                    "tenant": recorded.tenant_id,
                    "stream_id": recorded.stream_id,
                    "event_id": recorded.event_id,
                },
            )
            raise UnreadableRecord(recorded.client_id, recorded.stream_id) from error
        type_, data = catalog.upcast(recorded.type, data)
        return self.classes[catalog.lookup(type_).name](**data)


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
