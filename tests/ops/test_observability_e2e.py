"""What an operator watches, end to end through the six real processes: every metric family on
/metrics moves as events flow, the dashboard asks only for metrics that exist, and one request id
can be followed from the HTTP response through the logs and the Kafka record, with no personal
value in any log line."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from kafka import KafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from waypoint_devkit.journey import GOAL
from waypoint_devkit.suite import own_suite, url_of
from waypoint_devkit.waiting import wait_until
from waypoint_devkit.webhook_receiver import receiving
from waypoint_shared.config import DEVELOPMENT_SECRET
from waypoint_shared.http.auth import mint_token
from waypoint_shared.messaging.kafka_clients import durable_producer

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "waypoint.json"
PROCESSES = [
    *(f"{s}-{k}" for s in ("intake", "goals", "progress") for k in ("web", "worker")),
    "progress-webhooks",
]
WEB = ["waypoint_http_requests", "waypoint_http_request_duration_seconds"]
RELAY = ["waypoint_relay_backlog", "waypoint_relay_publish_latency_seconds"]
CONSUMER = ["waypoint_consumer_lag", "waypoint_dead_lettered", "waypoint_projection_age_seconds"]
FAMILIES = {
    "intake-web": [*WEB, "waypoint_events_appended"],
    "goals-web": [*WEB, "waypoint_events_appended"],
    "progress-web": [*WEB, "waypoint_events_appended"],
    "intake-worker": RELAY,
    "goals-worker": [*RELAY, *CONSUMER],
    "progress-worker": [
        *RELAY,
        *CONSUMER,
        "waypoint_events_appended",
        "waypoint_milestones_reached",
    ],
    "progress-webhooks": [
        "waypoint_consumer_lag",
        "waypoint_webhook_deliveries",
        "waypoint_webhook_oldest_undelivered_seconds",
    ],
}
# Gauges of a queue rise and drain within milliseconds here: they must be there, and drained.
QUEUES = {"waypoint_relay_backlog", "waypoint_consumer_lag"}
PERSONAL = {
    "given_name": "Zephyrine",
    "family_name": "Quillfeather",
    "date_of_birth": "1987-03-14",
    "email": "zephyrine.q@example.org",
    "phone": "+44 7700 900461",
    "external_id": "ext-zq-5512",
    "presenting_concerns": ["sleeplessness after the flood"],
}
REFLECTION = "calmer since the garden"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    with own_suite(tmp_path_factory, kafka_bootstrap, "ops") as running:
        yield running


@pytest.fixture
def headers(token: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}"}


def scrape(suite: Any, process: str) -> dict[str, list[Any]]:
    """What Prometheus reads: the web processes want a token with scope `metrics`."""
    token = mint_token(DEVELOPMENT_SECRET, "prometheus", "operations", "metrics")
    headers = {"Authorization": f"Bearer {token}"}
    answer = requests.get(f"{url_of(suite, process)}/metrics", headers=headers, timeout=5)
    assert answer.status_code == 200, answer.text
    text = answer.text
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def moved(before: dict[str, list[Any]], after: dict[str, list[Any]], family: str) -> bool:
    """A counter or histogram counted more; a gauge appeared or changed."""

    def total(samples: dict[str, list[Any]]) -> float:
        counted = [s for s in samples.get(family, []) if not s.name.endswith(("_bucket", "_sum"))]
        return sum(s.value for s in counted) + len(counted)

    return total(after) != total(before)


def journey(suite: Any, headers: dict[str, str], request_id: str | None = None) -> str:
    """Refer a client, propose a goal once goals knows them, record a session."""
    trace = {"X-Request-ID": request_id} if request_id else {}
    external_id = f"{PERSONAL['external_id']}-{uuid.uuid4().hex[:6]}"  # unique per tenant
    referred = requests.post(
        f"{url_of(suite, 'intake-web')}/v1/clients",
        json={**PERSONAL, "external_id": external_id},
        headers={**headers, **trace},
        timeout=10,
    )
    assert referred.status_code == 201, referred.text
    client_id = str(referred.json()["client_id"])

    def propose() -> bool:
        answer = requests.post(
            f"{url_of(suite, 'goals-web')}/v1/clients/{client_id}/goals",
            json=GOAL,
            headers=headers,
            timeout=10,
        )
        return answer.status_code == 201

    wait_until(propose, timeout=20, interval=0.2, what="goals to know the client")
    session = {"date": date.today().isoformat(), "attended": True, "reflection": REFLECTION}

    def record_session() -> bool:
        answer = requests.post(
            f"{url_of(suite, 'progress-web')}/v1/clients/{client_id}/sessions",
            json=session,
            headers=headers,
            timeout=10,
        )
        return answer.status_code == 201

    wait_until(record_session, timeout=20, interval=0.2, what="progress to know the client")
    return client_id


def poison_intake_topic(suite: Any) -> None:
    producer = durable_producer(suite.kafka)
    try:
        topic = suite.kafka.topic_prefix + "waypoint.intake.events"
        producer.send(topic, key=str(uuid.uuid4()).encode(), value=b"not a cloudevent").get(30)
    finally:
        producer.close(timeout=5)


Scrapes = dict[str, dict[str, list[Any]]]  # each process's families, by process


def events_flow(suite: Any, headers: dict[str, str]) -> tuple[Scrapes, Scrapes]:
    """A journey, a poison record and a webhook refused once, through every process: each
    process's scrape before, and once every family has moved."""
    before = {p: scrape(suite, p) for p in PROCESSES}
    with receiving([503]) as receiver:  # the first attempt fails: a delivery waits, then is made
        subscribe(suite, headers, receiver.url)
        journey(suite, headers)
        poison_intake_topic(suite)
        after = wait_until(
            everything_settled(suite, before), timeout=30, interval=0.5, what="every family to move"
        )
        delivered = attempts_by_outcome(before["progress-webhooks"]).get("delivered", 0)
        wait_until(
            lambda: (
                attempts_by_outcome(scrape(suite, "progress-webhooks")).get("delivered", 0)
                > delivered
            ),
            timeout=30,
            interval=0.5,
            what="the refused webhook to be delivered on a later attempt",
        )
    return before, after


def test_every_metric_family_is_on_its_processes_and_moves_as_events_flow(
    suite: Any, headers: dict[str, str]
) -> None:
    before, after = events_flow(suite, headers)
    lag = after["progress-worker"]["waypoint_consumer_lag"]
    assert {s.labels["topic"].rsplit(".", 2)[-2] for s in lag} == {"intake", "goals", "progress"}
    milestones = after["progress-worker"]["waypoint_milestones_reached"]
    assert any(s.labels["rule"] == "journey_started" and s.value >= 1 for s in milestones)
    assert dead_lettered(after) - dead_lettered(before) == 1
    assert attempts_by_outcome(after["progress-webhooks"])["retrying"] >= 1


def dead_lettered(scraped: Scrapes) -> float:
    letters = scraped["goals-worker"].get("waypoint_dead_lettered", [])
    return sum(s.value for s in letters if s.name.endswith("_total"))


def attempts_by_outcome(scraped: dict[str, list[Any]]) -> dict[str, float]:
    samples = scraped.get("waypoint_webhook_deliveries", [])
    return {s.labels["outcome"]: s.value for s in samples if s.name.endswith("_total")}


def subscribe(suite: Any, headers: dict[str, str], url: str) -> None:
    hook: dict[str, Any] = {"url": url, "event_types": ["session_recorded", "milestone_reached"]}
    made = requests.post(
        f"{url_of(suite, 'progress-web')}/v1/webhook-subscriptions",
        json=hook,
        headers=headers,
        timeout=10,
    )
    assert made.status_code == 201, made.text


def everything_settled(suite: Any, before: Scrapes) -> Callable[[], Scrapes]:
    """Every family moved (a queue's gauge: there, and drained); {} until then."""

    def settled(process: str, family: str, after: dict[str, list[Any]]) -> bool:
        if family in QUEUES:
            samples = after.get(family, [])
            return bool(samples) and all(s.value == 0 for s in samples)
        return moved(before[process], after, family)

    def everything_moved() -> Scrapes:
        after = {p: scrape(suite, p) for p in PROCESSES}
        still = [(p, f) for p in PROCESSES for f in FAMILIES[p] if not settled(p, f, after[p])]

        return {} if still else after

    return everything_moved


def test_the_web_metrics_add_up_every_gunicorn_worker(suite: Any) -> None:
    def health_answers() -> float:
        samples = scrape(suite, "intake-web")["waypoint_http_requests"]
        return sum(s.value for s in samples if s.labels["route"] == "/health/live")

    before = health_answers()
    for _ in range(12):  # a new connection each time, so the requests spread over the workers
        requests.get(f"{url_of(suite, 'intake-web')}/health/live", timeout=5).close()
    assert health_answers() - before == 12


def test_every_dashboard_query_names_a_metric_the_suite_exports(
    suite: Any, headers: dict[str, str]
) -> None:
    # events flow first: a counter of the suite appears on /metrics with its first sample
    scraped = list(events_flow(suite, headers)[1].values())
    # a labelled family is exported (HELP, TYPE) before its first sample, e.g. per subscription
    exported = {n for families in scraped for n in families} | {
        s.name for families in scraped for samples in families.values() for s in samples
    }
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queries = [t["expr"] for p in panels for t in p.get("targets", [])]
    assert queries
    for query in queries:
        named = set(re.findall(r"\bwaypoint_\w+", query))
        assert named and named <= exported, (query, named - exported)
    families = {f for names in FAMILIES.values() for f in names}
    asked = " ".join(queries)
    assert [f for f in families if f not in asked] == []


def kafka_record_of(suite: Any, client_id: str) -> dict[str, Any]:
    topic = suite.kafka.topic_prefix + "waypoint.intake.events"
    consumer = KafkaConsumer(bootstrap_servers=suite.kafka.bootstrap_servers)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        for _ in range(20):
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    if record.key == client_id.encode():
                        return dict(json.loads(record.value))
        raise AssertionError(f"no record of {client_id} on {topic}")
    finally:
        consumer.close()


def log_lines(suite: Any, process: str) -> list[str]:
    return (suite.var_dir / "logs" / f"{process}.log").read_text().splitlines()


def logged(suite: Any, process: str, **fields: Any) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in log_lines(suite, process)]
    return [e for e in entries if all(e.get(k) == v for k, v in fields.items())]


def test_one_request_id_is_followed_from_the_response_through_logs_and_the_kafka_record(
    suite: Any, headers: dict[str, str]
) -> None:
    request_id = f"journey-{uuid.uuid4().hex}"
    client_id = journey(suite, headers, request_id)

    appended = logged(suite, "intake-web", correlation_id=request_id, message="event appended")
    assert [(e["client_id"], e["tenant"]) for e in appended] == [(client_id, "clinic-a")]
    assert logged(suite, "intake-web", correlation_id=request_id, message="request answered")
    assert kafka_record_of(suite, client_id)["correlationid"] == request_id
    for worker in ("goals-worker", "progress-worker"):
        applied = wait_until(
            lambda w=worker: logged(suite, w, correlation_id=request_id, message="event applied"),
            timeout=10,
            what=f"{worker} to log the event it applied",
        )
        assert {e["client_id"] for e in applied} == {client_id}
        assert {e["event_type"] for e in applied} >= {"waypoint.intake.client_referred.v2"}
    milestone = logged(
        suite, "progress-worker", correlation_id=request_id, message="event appended"
    )
    assert {e["event_type"] for e in milestone} == {"waypoint.progress.milestone_reached.v1"}


def test_every_log_line_is_one_json_object_and_none_carries_a_personal_value(
    suite: Any, headers: dict[str, str]
) -> None:
    journey(suite, headers)
    requests.get(  # a query can carry personal data: the access log leaves it out
        f"{url_of(suite, 'intake-web')}/v1/clients",
        params={"external_id": PERSONAL["external_id"]},
        headers=headers,
        timeout=10,
    )
    values = [*PERSONAL.values(), REFLECTION]
    personal = [v for value in values for v in (value if isinstance(value, list) else [value])]
    for process in PROCESSES:
        lines = log_lines(suite, process)
        assert lines, process
        for line in lines:
            entry = json.loads(line)
            assert {"service", "process", "level", "message", "request_id"} <= set(entry), line
            assert entry["service"] == process.split("-")[0], line
            leaked = [v for v in personal if v in line or v.replace(" ", "+") in line]
            assert leaked == [], (process, line)
