"""Re-wrap every stored data key of a service with its newest master key, without downtime.

    1. Configure every process of the service with `NEW,OLD` (e.g. INTAKE_MASTER_KEY="NEW,OLD"):
       new keys are wrapped with NEW, and keys wrapped with either open.
    2. Run `python -m waypoint_shared.crypto.sealing.rotation --service intake` with that same
       environment: every data key wrapped with OLD is re-wrapped with NEW, a batch per transaction.
    3. Configure NEW alone, and retire OLD.

Wraps made before data keys were bound to service, tenant and client (associated data
`data-key:<client>`) count as not current: the command re-wraps them with the binding too.
Data keys themselves do not change, so no event, projection or topic is touched.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, Row, select

from waypoint_shared.config import SERVICES, load_settings
from waypoint_shared.crypto.sealing import MasterKey, PersonalDataKeys
from waypoint_shared.db.database import connect, run_in_transaction
from waypoint_shared.db.tables import data_keys

BATCH = 200


def rotate(engine: Engine, keys: PersonalDataKeys, batch: int = BATCH) -> tuple[int, int]:
    """Re-wrap every key not wrapped by the newest master key with its binding; returns
    (re-wrapped, all)."""
    with engine.connect() as conn:
        ids = conn.execute(select(data_keys.c.tenant_id, data_keys.c.client_id)).all()
    rewrapped = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        rewrapped += run_in_transaction(engine, _rewrapping(keys, chunk))
    return rewrapped, len(ids)


def _rewrapping(
    keys: PersonalDataKeys, pairs: Sequence[Row[str, str]]
) -> Callable[[Connection], int]:
    """One transaction's work: re-wrap the keys of these (tenant, client) pairs."""
    return lambda conn: sum(keys.rewrap(conn, t, i) for t, i in pairs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=SERVICES, action="append", required=True)
    for service in parser.parse_args(argv).service:
        settings = load_settings(service)
        engine = connect(settings.database_url)
        try:
            keys = PersonalDataKeys(MasterKey(settings.master_key), service)
            done, total = rotate(engine, keys)
        finally:
            engine.dispose()
        print(f"{service}: {done} of {total} data keys re-wrapped with the newest master key")


if __name__ == "__main__":
    main()
