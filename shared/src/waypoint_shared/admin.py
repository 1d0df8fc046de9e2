"""`waypoint-admin`: the operator's commands, configured by the same environment as the services.

waypoint-admin topics                      create the suite's topics, raise their partitions
waypoint-admin backlog                     events stored but not yet published, per service
waypoint-admin lag                         records not yet applied, per group and partition
waypoint-admin dlq list goals              dead-lettered records of a listening service
waypoint-admin dlq redrive goals --all     send them back to the topic they came from
waypoint-admin rebuild progress            replay every topic into a fresh timeline
waypoint-admin erase CLIENT_ID --tenant T --reason "…" --by ID   erase a client through intake's API
waypoint-admin token                       a development token
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from waypoint_shared.config import SERVICES, Settings, admin_token, load_settings
from waypoint_shared.db.database import connect, read
from waypoint_shared.db.tables import events, relay_position
from waypoint_shared.http.auth import ALL_SCOPES, mint_token, minting_secret
from waypoint_shared.messaging.kafka_clients import (
    durable_producer,
    group_consumer,
    known_position,
)
from waypoint_shared.messaging.lag import measure_lag, stored_offsets
from waypoint_shared.messaging.topics import LISTENING_SERVICES, prepare_topics

LISTENS_TO = {"goals": ("intake", "progress"), "progress": SERVICES}
REBUILDS = {"progress": "waypoint_progress.entrypoints.rebuild"}


class NoDatabase(Exception):
    """The service has not created its database yet (it has never run here)."""


def create_topics(_args: argparse.Namespace) -> None:
    print("\n".join(prepare_topics(load_settings("intake").kafka)))


def show_backlog(_args: argparse.Namespace) -> None:
    for service in SERVICES:
        settings = load_settings(service)
        try:
            stored, published = relay_progress(settings)
        except (SQLAlchemyError, NoDatabase) as error:
            print(f"{service:9} not readable: {str(error).splitlines()[0][:160]}")
            continue
        print(f"{service:9} backlog {stored - published:6}  stored {stored}, published {published}")


def relay_progress(settings: Settings) -> tuple[int, int]:
    """(last stored position, last published position) of a service's outbox."""
    engine = existing_database(settings)
    try:
        with read(engine) as conn:
            stored = conn.execute(select(func.coalesce(func.max(events.c.position), 0)))
            published = conn.execute(
                select(relay_position.c.position).where(relay_position.c.name == settings.topic)
            )
            return int(stored.scalar_one()), int(published.scalar_one_or_none() or 0)
    finally:
        engine.dispose()


def existing_database(settings: Settings) -> Engine:
    """The service's database; a missing SQLite file is an error, not a new empty database."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        raise NoDatabase(f"{settings.service}: no database at {url.database}")
    return connect(settings.database_url)


def show_lag(_args: argparse.Namespace) -> None:
    for service, sources in LISTENS_TO.items():
        settings = load_settings(service)
        topics = [settings.topic_of(s) for s in sources]
        engine = existing_database(settings)
        consumer = group_consumer(settings.kafka, None, enable_auto_commit=False)
        try:
            lag = measure_lag(consumer, topics, stored_offsets(engine, settings.consumer_group))
        finally:
            consumer.close(autocommit=False)
            engine.dispose()
        for (topic, partition), records in sorted(lag.items()):
            print(f"{settings.consumer_group:20} {topic}[{partition}] lag {records}")


def dead_letters(settings: Settings) -> list[ConsumerRecord]:
    """Every record on a service's dead-letter topic, oldest first per partition."""
    consumer = group_consumer(settings.kafka, None, enable_auto_commit=False)
    try:
        return read_to_end(consumer, settings.dead_letter_topic)
    finally:
        consumer.close(autocommit=False)


def read_to_end(consumer: KafkaConsumer, topic: str, timeout: float = 30) -> list[ConsumerRecord]:
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    while any(known_position(consumer, tp) < ends[tp] for tp in partitions):
        if time.monotonic() > deadline:
            raise SystemExit(f"reading {topic} took longer than {timeout}s")
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(r for r in batch if r.offset < ends[TopicPartition(topic, r.partition)])
    return records


def origin(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers or [] if k.startswith("dlq.")}


def list_dead_letters(args: argparse.Namespace) -> None:
    settings = load_settings(args.service)
    letters = dead_letters(settings)
    for record in letters:
        came = origin(record)
        where = f"{came.get('dlq.topic')}[{came.get('dlq.partition')}]@{came.get('dlq.offset')}"
        print(f"{record.partition}:{record.offset}  from {where}  {came.get('dlq.error', '')}")
    print(f"{len(letters)} dead-lettered record(s) on {settings.dead_letter_topic}")


def redrive(args: argparse.Namespace) -> None:
    """Produce each chosen record's original key, value and headers back to its origin topic."""
    settings = load_settings(args.service)
    wanted = set(args.record or ())
    chosen = [
        r for r in dead_letters(settings) if args.all or f"{r.partition}:{r.offset}" in wanted
    ]
    allowed = {settings.topic_of(s) for s in SERVICES}
    producer = durable_producer(settings.kafka)
    try:
        for record in chosen:
            topic = origin(record).get("dlq.topic")
            if topic not in allowed:
                raise SystemExit(f"{record.partition}:{record.offset} came from {topic!r}: refused")
            headers: list[tuple[str, bytes | str]] = [
                (k, v) for k, v in record.headers or [] if not k.startswith("dlq.")
            ]
            headers.append(("dlq.redriven", f"{record.topic}[{record.partition}]@{record.offset}"))
            producer.send(topic, key=record.key, value=record.value, headers=_encoded(headers)).get(
                timeout=30
            )
    finally:
        producer.close(timeout=5)
    print(f"re-drove {len(chosen)} record(s) from {settings.dead_letter_topic}")


def _encoded(headers: list[tuple[str, bytes | str]]) -> list[tuple[str, bytes]]:
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in headers]


def rebuild(args: argparse.Namespace) -> None:
    """The service's own rebuild command, in a process of its own (shared imports no service)."""
    done = subprocess.run([sys.executable, "-m", REBUILDS[args.service]], check=False)
    raise SystemExit(done.returncode)


def erase(args: argparse.Namespace) -> None:
    """POST /v1/clients/{id}/erasure on intake with an admin token; prints the answer."""
    settings = load_settings("intake")
    token = args.token or admin_token() or _admin_token(settings, args)
    base = args.url or f"http://127.0.0.1:{settings.web_port}"
    request = urllib.request.Request(
        f"{base}/v1/clients/{args.client_id}/erasure",
        data=json.dumps(
            {"reason": args.reason, "recorded_by": {"role": args.by_role, "id": args.by}}
        ).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        print(error.code, error.read().decode())
        raise SystemExit(1) from error


def _admin_token(settings: Settings, args: argparse.Namespace) -> str:
    if settings.jwt_secret is None:
        raise SystemExit("RS256 in use: pass --token or set WAYPOINT_ADMIN_TOKEN")
    secret = minting_secret(settings.jwt_secret, settings.environment)
    return mint_token(secret, "waypoint-admin", args.tenant, "admin", 300)


def token(args: argparse.Namespace) -> None:
    settings = load_settings("intake")
    if settings.jwt_secret is None:
        raise SystemExit("RS256 in use: tokens come from your identity provider")
    secret = minting_secret(settings.jwt_secret, settings.environment)
    print(mint_token(secret, args.sub, args.tenant, args.scope, args.ttl))


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="waypoint-admin", description=__doc__.split("\n")[0])
    commands = main.add_subparsers(dest="command", required=True)

    def command(name: str, run: Callable[[argparse.Namespace], None], help: str) -> Any:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    command("topics", create_topics, "create the suite's Kafka topics, raise their partitions")
    command("backlog", show_backlog, "events stored but not yet published, per service")
    command("lag", show_lag, "records not yet applied, per consumer group and partition")
    dlq = commands.add_parser("dlq", help="dead-lettered records").add_subparsers(required=True)
    listing = dlq.add_parser("list", help="list a service's dead-lettered records")
    listing.add_argument("service", choices=LISTENING_SERVICES)
    listing.set_defaults(run=list_dead_letters)
    driving = dlq.add_parser("redrive", help="send dead-lettered records back to their topic")
    driving.add_argument("service", choices=LISTENING_SERVICES)
    which = driving.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every record on the topic")
    which.add_argument("--record", action="append", metavar="PARTITION:OFFSET")
    driving.set_defaults(run=redrive)
    command("rebuild", rebuild, "replay every topic into a fresh read model").add_argument(
        "service", choices=sorted(REBUILDS)
    )
    erasing = command("erase", erase, "erase a client (intake's erasure endpoint)")
    erasing.add_argument("client_id")
    erasing.add_argument("--tenant", required=True)
    erasing.add_argument("--reason", required=True)
    erasing.add_argument("--by", required=True, help="the integrator's id of who asked for it")
    erasing.add_argument("--by-role", default="administrator")
    erasing.add_argument("--url", help="intake's base URL (default: 127.0.0.1:INTAKE_WEB_PORT)")
    erasing.add_argument("--token", help="an admin token (default: WAYPOINT_ADMIN_TOKEN or minted)")
    minting = command("token", token, "mint a development token (HS256 secret from config)")
    minting.add_argument("--sub", default="dev-platform")
    minting.add_argument("--tenant", default="dev-clinic")
    minting.add_argument("--scope", default=ALL_SCOPES)
    minting.add_argument("--ttl", type=int, default=12 * 3600)
    return main


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except NoDatabase as error:
        raise SystemExit(str(error)) from error
