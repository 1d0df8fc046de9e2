"""Writers of one SQLite file take turns on a lock file beside it, held for one transaction."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from waypoint_shared.db.database import connect, run_in_transaction


def test_a_write_transaction_holds_the_writers_lock_of_its_sqlite_file(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")

    def try_lock(_conn: object) -> bool:
        fd = os.open(tmp_path / "db.sqlite.writers", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    assert run_in_transaction(engine, try_lock) is False
    assert try_lock(None) is True  # released after the commit
