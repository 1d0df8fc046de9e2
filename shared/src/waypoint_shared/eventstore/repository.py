"""The one recording module services use: a handler hands the repository an `Append` of its
domain events (frozen dataclasses); the repository validates them against the catalog, seals their
personal fields with the codec it was given, and appends them in one call to the store. Replays
take the same path back. Services import the store's types they need from here.

An erased client's streams are neither written nor replayed: both raise ClientErased, which every
service answers with 410 Gone.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select

from waypoint_shared import catalog
from waypoint_shared.crypto.sealing import (
    ClientErased,
    CryptoError,
    PersonalDataKeys,
    UnreadableRecord,
    erased_among,
    is_erased,
)
from waypoint_shared.eventstore.store import (
    Append,
    ConcurrencyConflict,
    Encoded,
    EventStore,
    NewEvent,
    RecordedEvent,
    as_stored,
)

__all__ = [
    "Append",
    "ConcurrencyConflict",
    "EventSourcedRepository",
    "EventStore",
    "RecordedEvent",
    "event_name",
    "exported",
]


def event_name(event_class: type) -> str:
    """`ClientReferred` → `client_referred`, the catalog name of a domain event."""
    return _snake_case(event_class.__name__)


@functools.cache
def _snake_case(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


log = logging.getLogger(__name__)
_latest = functools.cache(catalog.latest)  # the catalog is fixed once imported


def _clients_by_tenant(appends: Sequence[Append]) -> dict[str, set[str]]:
    clients: dict[str, set[str]] = {}
    for a in appends:
        clients.setdefault(a.tenant_id, set()).add(a.client_id)
    return clients


class EventSourcedRepository:
    """Records and replays one service's domain events through the shared event store."""

    def __init__(
        self,
        service: str,
        store: EventStore,
        codec: PersonalDataKeys,
        event_classes: Sequence[type],
        valid_by_construction: Collection[type] = (),
    ):
        """`valid_by_construction` names event classes of string fields only that the service
        builds itself from values it has validated (progress's milestones and alerts): they skip
        the schema pass when each field is a string and each UUID canonical
        (`catalog.plain_strings`), which gives what the pass would."""
        self.service, self._store, self._codec = service, store, codec
        self.classes: Mapping[str, type] = {event_name(c): c for c in event_classes}
        self.valid_by_construction = frozenset(valid_by_construction)

    def record(
        self, conn: Connection, *appends: Append, skip_stored: bool = False
    ) -> list[RecordedEvent]:
        """Validate, seal and append the appends' domain events in one call to the store; raises
        ConcurrencyConflict when a stream is not at the expected version, ClientErased for an
        erased client. With skip_stored, events whose id the store already holds are left out
        (progress's derived events)."""
        if skip_stored:  # sealed only once the store knows which are new
            _refuse_erased(conn, appends)
            return self._store.append(conn, appends, self._encoded, skip_stored=True)
        sealed = [self._sealed(conn, a) for a in appends]
        # Sealing a personal value fetched the client's data key, which an erased client no
        # longer has (ClientErased): only clients with nothing sealed need the erasure look-up.
        _refuse_erased(conn, [a for a, keyed in sealed if not keyed])
        return self._store.append(conn, [a for a, _ in sealed], as_stored)

    def prepared_rows(
        self, conn: Connection, versions: Mapping[tuple[str, str], int], *appends: Append
    ) -> list[dict[str, Any]]:
        """The events rows `record(..., skip_stored=True)` would append for these appends if
        each (tenant, stream) were at the version given: validated and sealed now, kept for
        `record_selected` to append later (a rebuild prepares its publications before the
        transaction that appends them)."""
        return self._store.rows_following(conn, appends, versions, self._encoded)

    def record_selected(self, conn: Connection, rows: Select[Any]) -> int:
        """Append the rows `prepared_rows` gave that a query selects from where they were kept
        (`EventStore.append_selected`: the caller checks versions and erasure); how many."""
        return self._store.append_selected(conn, rows)

    def hold_appends(self, conn: Connection) -> None:
        """`EventStore.hold_appends`: no other transaction appends until this one ends."""
        self._store.hold_appends(conn)

    def _sealed(self, conn: Connection, append: Append) -> tuple[Append, bool]:
        """The append with its events in their stored form, and whether any was sealed."""
        stored, keyed = [], False
        for event in append.events:
            encoded, sealed = self._encode(conn, append, event)
            stored.append(NewEvent(**encoded))
            keyed = keyed or sealed
        return dataclasses.replace(append, events=stored), keyed

    def _encoded(self, conn: Connection, append: Append, event: object) -> Encoded:
        return self._encode(conn, append, event)[0]

    def _encode(self, conn: Connection, append: Append, event: object) -> tuple[Encoded, bool]:
        if not dataclasses.is_dataclass(event) or isinstance(event, type):
            raise TypeError(f"not a domain event: {event!r}")
        entry = _latest(self.service, event_name(type(event)))
        plain = self._plain(entry.type, event)
        sealed = self._codec.seal(
            conn, append.tenant_id, append.client_id, entry.type, plain, entry.personal_fields
        )
        keyed = any(plain.get(name) is not None for name in entry.personal_fields)
        return {"type": entry.type, "schema_version": entry.version, "data": sealed}, keyed

    def _plain(self, event_type: str, event: Any) -> dict[str, Any]:
        """The event's data as JSON-ready primitives, validated against the catalog unless its
        class is valid by construction."""
        if type(event) in self.valid_by_construction:
            plain = catalog.plain_strings(event_type, event)
            if plain is not None:
                return plain
        plain = catalog.plain_form(event_type, _attributes(event))
        return plain or catalog.validate_plain(event_type, dataclasses.asdict(event))

    def stored(self, conn: Connection, tenant_id: str, stream_id: str) -> list[RecordedEvent]:
        """A stream's records as stored, personal fields sealed (its write audit trail); unlike
        `replay` it leaves the erasure check to the caller."""
        return self._store.read_stream(conn, tenant_id, stream_id)

    def stored_streams(
        self, conn: Connection, tenant_id: str, stream_ids: Collection[str]
    ) -> dict[str, list[RecordedEvent]]:
        """`stored` for many streams of a tenant at once: one query, by stream id."""
        return self._store.read_streams(conn, tenant_id, stream_ids)

    def replay(
        self, conn: Connection, tenant_id: str, stream_id: str, until: datetime | None = None
    ) -> list[tuple[Any, RecordedEvent]]:
        """A stream's domain events, opened and upcast, each with its stored record.

        Values are opened at the place they were sealed for — the type and version the event is
        stored under — and only then upcast. A value that does not open there raises
        UnreadableRecord: the stream is answered with nothing rather than with a moved value."""
        stored = self._store.read_stream(conn, tenant_id, stream_id, until)
        if stored:
            _ensure_not_erased(conn, tenant_id, stored[0].client_id)
        return [(self._opened(conn, recorded), recorded) for recorded in stored]

    def _opened(self, conn: Connection, recorded: RecordedEvent) -> Any:
        personal = catalog.lookup(recorded.type).personal_fields
        try:
            data = self._codec.open(
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


def _attributes(event: Any) -> dict[str, Any]:
    """A domain event's fields by name, as they are (`dataclasses.asdict` without its copies)."""
    return {name: getattr(event, name) for name in _field_names(type(event))}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(event_class: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(event_class)
    if names is None:
        names = _FIELD_NAMES[event_class] = tuple(f.name for f in dataclasses.fields(event_class))
    return names


def _refuse_erased(conn: Connection, appends: Sequence[Append]) -> None:
    for tenant_id, client_ids in _clients_by_tenant(appends).items():
        erased = erased_among(conn, tenant_id, client_ids)
        if erased:
            raise ClientErased(min(erased))


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
