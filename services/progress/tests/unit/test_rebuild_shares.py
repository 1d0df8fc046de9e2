"""The processes of a rebuild share the derivation by pages of clients: every client with a kept
fact is derived once, by one process."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from waypoint_progress.adapters import swap
from waypoint_progress.adapters.projection import Client
from waypoint_progress.adapters.tables import projection_tables
from waypoint_progress.bootstrap import bootstrap
from waypoint_progress.service_layer import rebuild
from waypoint_shared.config import load_settings
from waypoint_shared.db.database import read, run_in_transaction

AT = datetime(2025, 3, 4, tzinfo=UTC)
CLIENTS = [(tenant, f"client-{n:02d}") for tenant in ("tenant-a", "tenant-b") for n in range(7)]


def fact(tenant_id: str, client_id: str, n: int) -> dict[str, object]:
    return {
        "tenant_id": tenant_id,
        "event_id": f"{client_id}-{n}",
        "client_id": client_id,
        "service": "intake",
        "name": "client_referred",
        "occurred_at": AT,
        "recorded_at": AT,
        "stream_version": n,
        "facts": {},
    }


def test_every_client_is_derived_once_by_one_of_the_shares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = bootstrap(load_settings("progress", {"WAYPOINT_VAR_DIR": str(tmp_path)}))
    engine, fresh = container.engine, projection_tables("_next")
    rows = [fact(t, c, n) for t, c in reversed(CLIENTS) for n in (1, 2)]
    run_in_transaction(engine, lambda conn: swap.create_fresh(conn, fresh))
    run_in_transaction(engine, lambda conn: conn.execute(insert(fresh.source_events), rows))
    derived: list[list[Client]] = []

    def derive_clients(
        _engine: object, _projector: object, clients: Collection[Client], replacing: bool
    ) -> None:
        assert not replacing  # the first round: no timeline is stored yet
        derived.append(list(clients))

    monkeypatch.setattr(rebuild, "CLIENTS_PER_PAGE", 3)
    monkeypatch.setattr(rebuild, "derive_clients", derive_clients)
    projector = dataclasses.replace(container.projector, tables=fresh)
    shares = []
    for share in range(2):
        rebuild.derive_share(engine, projector, share, 2)
        shares.append([c for page in derived for c in page])
        derived.clear()

    assert sorted(shares[0] + shares[1]) == CLIENTS
    assert not set(shares[0]) & set(shares[1])
    assert [len(s) for s in shares] == [8, 6]  # pages 1, 3, 5 of three clients, and 2, 4
    with read(engine) as conn:
        assert swap.clients_after(conn, fresh, CLIENTS[6], 2) == CLIENTS[7:9]
    engine.dispose()
