"""The processes of a rebuild share the derivation by pages of clients, each claiming the next
page left: every client with a kept fact is derived once, by one process."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import UTC, datetime
from itertools import count
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


def test_every_client_is_derived_once_by_the_process_that_claimed_its_page(
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
    starts = rebuild.page_starts(engine, projector)
    claims = count()
    quick: list[Client] = []
    slow: list[Client] = []

    def claim_quickly() -> int:  # done with each page at once: claims again before the other
        return next(claims)

    def claim_slowly() -> int:
        page = next(claims)
        if page < len(starts):  # its page is derived meanwhile by the quick one
            rebuild.derive_claimed(engine, projector, starts, claim_quickly)
            quick.extend(c for p in derived for c in p)
            derived.clear()
        return page

    rebuild.derive_claimed(engine, projector, starts, claim_slowly)
    slow.extend(c for p in derived for c in p)

    assert starts == [None, CLIENTS[2], CLIENTS[5], CLIENTS[8], CLIENTS[11]]
    assert sorted(quick + slow) == CLIENTS and len(quick + slow) == len(CLIENTS)
    assert slow == CLIENTS[:3]  # it claimed the first page, the quick one all the others
    with read(engine) as conn:
        assert swap.clients_after(conn, fresh, CLIENTS[6], 2) == CLIENTS[7:9]
    engine.dispose()
