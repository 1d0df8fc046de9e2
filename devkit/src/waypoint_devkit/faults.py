"""The fault-injection kit: Jepsen-style tallies, backlog probes, and killing and restarting the
suite's worker processes (tests/faults/).

A fault is only counted when it lands while work is in flight (a relay backlog, a replay not yet
done, commands not yet projected): a kill of an idle process proves nothing.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from waypoint_shared import catalog
from waypoint_shared.crypto.sealing import Place, seal_fields
from waypoint_shared.eventstore.store import RecordedEvent
from waypoint_shared.messaging.envelope import UndecodableRecord, decode, encode

REPORTED: list[str] = []  # every tally of this test session, for pytest's terminal summary


def scale() -> int:
    """How much longer `make faults` runs them: FAULTS_SCALE (1 in `make test`)."""
    return max(1, int(os.environ.get("FAULTS_SCALE", "1")))


@dataclass
class Tally:
    """What was acknowledged, what the timeline shows, and the faults that counted."""

    name: str
    acked: set[str] = field(default_factory=set)
    projected: Counter[str] = field(default_factory=Counter)
    injected: int = 0
    faults: int = 0

    def fault(self, in_flight: bool) -> None:
        self.injected += 1
        self.faults += int(in_flight)

    @property
    def lost(self) -> set[str]:
        return self.acked - set(self.projected)

    @property
    def duplicated(self) -> set[str]:
        return {key for key, seen in self.projected.items() if seen > 1}

    def report(self, **extra: object) -> str:
        """One line in the manner of Jepsen's checkers, printed by `make test` and `make faults`."""
        figures = {
            "acked": len(self.acked),
            "projected": len(self.projected),
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "faults": self.faults,
            "injected": self.injected,
            **extra,
        }
        line = f"[{self.name}] " + " ".join(f"{k}={v}" for k, v in figures.items())
        print(line, flush=True)
        REPORTED.append(line)
        return line

    def assert_sound(self, at_least: int) -> None:
        assert self.faults >= at_least, f"only {self.faults} faults landed in flight"
        assert not self.lost, f"lost {len(self.lost)}: {sorted(self.lost)[:5]}"
        assert not self.duplicated, f"duplicated {sorted(self.duplicated)[:5]}"


def database(var_dir: Path, service: str) -> Path:
    return Path(var_dir) / f"{service}.db"


def query(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Read a service's SQLite database the way an operator would, while the service runs."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return list(db.execute(sql, args))


def relay_backlog(var_dir: Path, service: str) -> int:
    """Events stored but not yet published: max(events.position) - relay_position.position."""
    [(last,)] = query(database(var_dir, service), "SELECT coalesce(max(position), 0) FROM events")
    published = query(database(var_dir, service), "SELECT position FROM relay_position")
    return int(last) - int(published[0][0] if published else 0)


def timeline_entries(var_dir: Path, tenant: str, entry_type: str) -> Counter[str]:
    """How many timeline entries of this type each of the tenant's clients has."""
    rows = query(
        database(var_dir, "progress"),
        "SELECT t.client_id FROM timelines t, json_each(t.entries) e "
        "WHERE t.tenant_id = ? AND json_extract(e.value, '$.type') = ?",
        tenant,
        entry_type,
    )
    return Counter(row[0] for row in rows)


def event_id(value: bytes) -> str | None:
    try:
        return decode(value).event_id
    except UndecodableRecord:
        return None


def topic_duplicates(bootstrap: str, topic: str) -> int:
    """Records on a topic whose event id appeared before (republished; consumers absorb them)."""
    from kafka import KafkaConsumer, TopicPartition

    from waypoint_shared.messaging.kafka_clients import known_position

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends, ids = consumer.end_offsets(partitions), Counter[str | None]()
        while any(known_position(consumer, tp) < end for tp, end in ends.items()):
            for batch in consumer.poll(timeout_ms=1000).values():
                ids.update(event_id(r.value) for r in batch)
        ids.pop(None, None)  # records that are no event (another test's poison)
        return sum(seen - 1 for seen in ids.values())
    finally:
        consumer.close()


WHOLE_TIMELINE = ("sort_key", "id", "kind", "type", "occurred_at", "source_event_id")


def whole_timeline(var_dir: Path) -> list[tuple[Any, ...]]:
    """Every entry of every client in timeline order: what a rebuild must reproduce exactly."""
    return query(
        database(var_dir, "progress"),
        "SELECT t.tenant_id, t.client_id, "
        + ", ".join(f"json_extract(e.value, '$.{name}')" for name in WHOLE_TIMELINE)
        + " FROM timelines t, json_each(t.entries) e ORDER BY t.tenant_id, t.client_id, e.key",
    )


def kill(suite: Any, name: str) -> None:
    """SIGKILL one process of a running Suite (no clean shutdown, no flush, no lease release)."""
    process = suite.processes[name]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def stop(suite: Any, name: str) -> None:
    """SIGTERM one process of a running Suite and wait for it."""
    process = suite.processes[name]
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def restart_worker(suite: Any, service: str) -> None:
    """Start the service's worker again, as the suite started it: in a process group of its own,
    so Suite.stop's SIGTERM reaches it (one started in the test's group was not signalled, and
    outlived the stop's 25 s until SIGKILL)."""
    suite.start_worker(service, suite.replicas_of(service)[0])


def all_alive(suite: Any) -> dict[str, int | None]:
    """Exit codes of processes that died (empty when every process runs)."""
    return {n: p.returncode for n, p in suite.processes.items() if p.poll() is not None}


def poll_until(probe: Any, timeout: float, interval: float = 0.05) -> Any:
    """Like wait_until, but returns the last falsy value instead of failing (for fault timing)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def referral_record(client_id: str, tenant: str = "clinic-faults") -> bytes:
    """A valid `client_referred` CloudEvent, sealed with a key no service holds, as intake
    would publish it."""
    event_type = "waypoint.intake.client_referred.v1"
    plain = catalog.validate_plain(
        event_type,
        {
            "client_id": client_id,
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": "1990-01-01",
        },
    )
    key, personal = os.urandom(32), catalog.lookup(event_type).personal_fields
    data = seal_fields(key, Place("intake", tenant, client_id, event_type, ""), plain, personal)
    event = RecordedEvent(
        1,
        str(uuid.uuid4()),
        tenant,
        client_id,
        1,
        client_id,
        event_type,
        1,
        datetime.now(UTC),
        data,
        {},
    )
    return encode(event, "intake")[1]


def erasure_record(client_id: str, tenant: str, source: str = "intake") -> bytes:
    """A well-formed `client_erased` CloudEvent as intake would publish it, or, with another
    `source`, as a forger claiming to be that service would."""
    event_type = "waypoint.intake.client_erased.v1"
    data = catalog.validate_plain(
        event_type, {"client_id": client_id, "erased_by": {"role": "administrator", "id": "forger"}}
    )
    event = RecordedEvent(
        1,
        str(uuid.uuid4()),
        tenant,
        client_id,
        99,
        client_id,
        event_type,
        1,
        datetime.now(UTC),
        data,
        {},
    )
    return encode(event, source)[1]


def hostile_values(rng: random.Random, valid: bytes) -> list[bytes]:
    """Records no consumer may choke on: junk bytes, wrong JSON types, deep nesting, huge and odd
    strings, and a valid CloudEvent with one attribute broken (shuffled by rng)."""
    broken = [
        valid.replace(b'"specversion": "1.0"', b'"specversion": 1.0'),
        valid.replace(b'"streamversion": ', b'"streamversion": -', 1),
        valid.replace(b'"subject": "', b'"subject": "\\u0000', 1),
        valid.replace(b'"tenantid": "', b'"tenantid": "\\ud800', 1),
        valid.replace(b'"type": "waypoint.', b'"type": "waypoint.\\u202e', 1),
        valid.replace(b'"data": {', b'"data": {"unexpected": [[[[]]]], ', 1),
        valid[: len(valid) // 3],
    ]
    junk = [
        rng.randbytes(rng.randint(1, 512)),
        b"\x00" * 64,
        b"[" * 50_000,
        b'{"a":' * 50_000,
        b'"' + b"x" * 400_000 + b'"',
        "\ufeff{\u2028}".encode(),
        b"null",
        b"[1, 2, 3]",
        b'{"specversion": ["1.0"], "id": {}, "data": 7}',
        b"\xed\xa0\x80",  # an encoded lone surrogate: not UTF-8
    ]
    values = broken + junk
    rng.shuffle(values)
    return values


def applied_count(var_dir: Path, service: str, group: str) -> int:
    """Records a consumer group has applied (its tracked event ids)."""
    rows = query(
        database(var_dir, service),
        "SELECT count(*) FROM applied_events WHERE consumer_group = ?",
        group,
    )
    return int(rows[0][0])


def forget_projection(var_dir: Path, group: str) -> None:
    """Make progress's consumer a fresh one over full topics: no stored offsets, no applied ids,
    an empty timeline (its worker must be stopped). The next start replays from offset 0."""
    with sqlite3.connect(database(var_dir, "progress"), timeout=30) as db:
        db.execute("DELETE FROM consumer_offsets WHERE consumer_group = ?", (group,))
        db.execute("DELETE FROM applied_events WHERE consumer_group = ?", (group,))
        db.execute("DELETE FROM timelines")
        db.execute("DELETE FROM source_events")
