"""Clinical truth end to end, through real gunicorn processes and a real broker: sessions entered
after the fact take their place in clinical time on the timeline and its picture, and a discharged
course gets its NHS Talking Therapies outcome, read over HTTP and published on progress's topic."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import requests
from kafka import KafkaConsumer, TopicPartition

from waypoint_devkit.journey import GAD7_6, PHQ9_8
from waypoint_devkit.suite import own_suite, url_of
from waypoint_devkit.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(420)]
THERAPIST = {"role": "therapist", "id": "t-okafor"}
PHQ9_16 = [2, 2, 2, 2, 2, 2, 2, 2, 0]
GAD7_13 = [2, 2, 2, 2, 2, 2, 1]
PHQ9_12 = [2, 2, 2, 2, 2, 1, 1, 0, 0]
GAD7_10 = [2, 2, 2, 1, 1, 1, 1]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Any]:
    with own_suite(tmp_path_factory, kafka_bootstrap, "clinical") as running:
        yield running


@pytest.fixture
def headers(token: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}"}


def url(suite: Any, service: str, path: str) -> str:
    return url_of(suite, f"{service}-web") + path


def refer(suite: Any, headers: dict[str, str], referred_on: date) -> str:
    """A client referred on a past day, once progress knows them."""
    body = {
        "given_name": "Lena",
        "family_name": "Berg",
        "date_of_birth": "1979-11-02",
        "referred_on": referred_on.isoformat(),
    }
    referred = requests.post(url(suite, "intake", "/v1/clients"), json=body, headers=headers)
    assert referred.status_code == 201, referred.text
    client_id = str(referred.json()["client_id"])
    timeline = url(suite, "progress", f"/v1/clients/{client_id}/timeline")
    wait_until(lambda: requests.get(timeline, headers=headers).ok, what="progress to know them")
    return client_id


def session(day: date, phq9: list[int], gad7: list[int]) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "attended": True,
        "measures": [
            {"instrument": "PHQ-9", "items": phq9},
            {"instrument": "GAD-7", "items": gad7},
        ],
    }


def post_sessions(suite: Any, headers: dict[str, str], client_id: str, *bodies: Any) -> None:
    path = url(suite, "progress", f"/v1/clients/{client_id}/sessions")
    for body in bodies:
        posted = requests.post(path, json=body, headers=headers, timeout=10)
        assert posted.status_code == 201, posted.text


def timeline(suite: Any, headers: dict[str, str], client_id: str, kind: str) -> Any:
    path = url(suite, "progress", f"/v1/clients/{client_id}/timeline?limit=200&kind={kind}")
    return requests.get(path, headers=headers, timeout=10).json()["items"]


def test_five_sessions_entered_after_the_fact_in_shuffled_order_sit_at_their_dates(
    suite: Any, headers: dict[str, str]
) -> None:
    today = datetime.now(UTC).date()
    client_id = refer(suite, headers, today - timedelta(weeks=6))
    days = [today - timedelta(weeks=6) + timedelta(weeks=w) for w in range(1, 6)]
    shuffled = random.Random(7).sample(days, k=len(days))
    started = datetime.now(UTC)
    post_sessions(suite, headers, client_id, *(session(d, PHQ9_8, GAD7_6) for d in shuffled))
    assert datetime.now(UTC) - started < timedelta(seconds=1), "posted within one second"

    def sessions_on_the_timeline() -> Any:
        events = timeline(suite, headers, client_id, "event")
        found = [e for e in events if e["type"] == "session_recorded"]
        return found if len(found) == 5 else None

    entries = wait_until(sessions_on_the_timeline, timeout=20, what="five sessions projected")
    assert [e["occurred_at"][:10] for e in entries] == [d.isoformat() for d in days]
    assert all(e["occurred_at"].endswith(("T00:00:00+00:00", "T00:00:00Z")) for e in entries)
    assert all(e["recorded_at"] >= started.isoformat()[:19] for e in entries)

    picture = requests.get(
        url(suite, "progress", f"/v1/clients/{client_id}/timeline.svg"), headers=headers
    )
    svg = ElementTree.fromstring(picture.content)
    points = [e for e in svg.iter() if e.get("class") == "point"]
    for instrument in ("PHQ-9", "GAD-7"):
        line = next(
            g
            for g in svg.iter()
            if g.get("class") == "trajectory" and g.get("data-instrument") == instrument
        )
        mine = [p for p in line.iter() if p.get("class") == "point"]
        assert [p.get("data-date") for p in mine] == [d.isoformat() for d in days]
        xs = [float(p.get("cx", "nan")) for p in mine]
        assert all(a < b for a, b in pairwise(xs)), xs
    assert len(points) == 10
    tick_labels = " ".join("".join(t.itertext()) for t in svg.iter() if t.get("class") == "tick")
    assert tick_labels.strip(), "the x axis is labelled with dates"
    assert any(str(d.day) in tick_labels for d in days)


def progress_records(suite: Any, client_id: str) -> list[dict[str, Any]]:
    """Every record progress published about the client, as CloudEvents."""
    topic = suite.kafka.topic_prefix + "waypoint.progress.events"
    consumer = KafkaConsumer(bootstrap_servers=suite.kafka.bootstrap_servers)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found = []
        for _ in range(6):
            for batch in consumer.poll(timeout_ms=500).values():
                found += [json.loads(r.value) for r in batch if r.key == client_id.encode()]
        return found
    finally:
        consumer.close()


def test_a_discharged_course_of_three_sessions_from_16_13_to_8_6_is_a_reliable_recovery(
    suite: Any, headers: dict[str, str]
) -> None:
    today = datetime.now(UTC).date()
    client_id = refer(suite, headers, today - timedelta(weeks=4))
    post_sessions(
        suite,
        headers,
        client_id,
        session(today - timedelta(weeks=3), PHQ9_16, GAD7_13),
        session(today - timedelta(weeks=2), PHQ9_12, GAD7_10),
        session(today - timedelta(weeks=1), PHQ9_8, GAD7_6),
    )
    discharged = requests.post(
        url(suite, "intake", f"/v1/clients/{client_id}/discharge"),
        json={"ending_reason": "completed_treatment", "recorded_by": THERAPIST},
        headers=headers,
    )
    assert discharged.status_code == 200, discharged.text
    outcome_url = url(suite, "progress", f"/v1/clients/{client_id}/outcome")

    def final_outcome() -> Any:
        answer = requests.get(outcome_url, headers=headers, timeout=10)
        return answer.json() if answer.ok and answer.json()["status"] == "final" else None

    outcome = wait_until(final_outcome, timeout=20, what="the final outcome")
    assert outcome["finished_course"] is True
    assert outcome["attended_sessions"] == 3
    assert (outcome["first"]["PHQ-9"], outcome["first"]["GAD-7"]) == (16, 13)
    assert (outcome["last"]["PHQ-9"], outcome["last"]["GAD-7"]) == (8, 6)
    for flag in ("caseness_at_first", "recovery", "reliable_improvement", "reliable_recovery"):
        assert outcome[flag] is True, flag
    assert outcome["reliable_deterioration"] is False

    def published_outcome() -> Any:
        """The newest course_outcome_recorded, once it is the final reliable recovery: the
        discharge (intake's topic) may be projected before the sessions (progress's own topic)
        are, and each outcome that changes is published again (docs/progress.md, "Outcomes")."""
        records = progress_records(suite, client_id)
        outcomes = [r for r in records if r["type"].endswith(".course_outcome_recorded.v1")]
        return outcomes if outcomes and outcomes[-1]["data"]["reliable_recovery"] else None

    published = wait_until(published_outcome, timeout=30, what="course_outcome_recorded")
    newest = published[-1]["data"]
    assert (newest["status"], newest["finished_course"], newest["recovery"]) == (
        "final",
        True,
        True,
    )
    assert len({r["id"] for r in published}) == len(published), "each outcome published once"
    assert "reliable_recovery" in [
        m["type"] for m in timeline(suite, headers, client_id, "milestone")
    ]
