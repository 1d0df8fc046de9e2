"""A service's Flask app in a test: its own SQLite store under a temporary folder, a bearer
token of the development secret, and the events another service would have sent it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection

from waypoint_shared import catalog
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.db.database import run_in_transaction
from waypoint_shared.http.auth import ALL_SCOPES, mint_token
from waypoint_shared.messaging.envelope import Envelope


def bearer(tenant: str = "clinic-a", scopes: str = ALL_SCOPES, sub: str = "ehr") -> dict[str, str]:
    """The Authorization header of a development token."""
    return {"Authorization": f"Bearer {mint_token(DEVELOPMENT_SECRET, sub, tenant, scopes)}"}


def app_in(
    create_app: Callable[[], Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """A service's app with its store under tmp_path; the engine is disposed afterwards."""
    return app_with(create_app, monkeypatch, WAYPOINT_VAR_DIR=str(tmp_path))


def app_with(
    create_app: Callable[[], Flask], monkeypatch: pytest.MonkeyPatch, **environment: str
) -> Iterator[Flask]:
    """A service's app made with these environment variables set; its engine disposed after."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    yield app
    app.extensions["waypoint"].engine.dispose()


def envelope(
    service: str,
    name: str,
    client_id: str,
    tenant: str = "clinic-a",
    *,
    time: datetime | None = None,
    stream_version: int = 1,
    **data: Any,
) -> Envelope:
    """An event of another service as the consumer would decode it: written as version 1 of its
    type, upcast to the newest version."""
    event_type, payload = catalog.upcast(
        f"waypoint.{service}.{name}.v1", {"client_id": client_id, **data}
    )
    return Envelope(
        event_id=str(uuid.uuid4()),
        source_service=service,
        type=event_type,
        client_id=client_id,
        tenant_id=tenant,
        time=time or datetime.now(UTC),
        stream_version=stream_version,
        correlation_id=None,
        causation_id=None,
        data=payload,
    )


Handler = Callable[[Connection, Envelope], Any]


def deliver(app: Flask, handle: Handler, *envelopes: Envelope) -> None:
    """Hand events to a service's consumer handler as its worker would, one transaction each."""
    engine = app.extensions["waypoint"].engine
    for envelope in envelopes:
        run_in_transaction(engine, _applying(handle, envelope))


def _applying(handle: Handler, envelope: Envelope) -> Callable[[Connection], Any]:
    return lambda conn: handle(conn, envelope)
