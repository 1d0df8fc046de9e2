"""Attack: a process holding one service's Kafka credentials writes another service's events.
On a broker run the way `make run` runs it (SASL/SCRAM, one principal per service, ACLs), the
broker itself refuses the write; a wrong password is refused; the rightful writer and readers
work, and the whole suite runs on such a broker."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import pytest
import requests
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaTimeoutError, TopicAuthorizationFailedError

from waypoint_devkit import local_kafka
from waypoint_devkit.infrastructure import free_port, unavailable
from waypoint_devkit.suite import running_suite
from waypoint_shared.config import (
    KafkaSettings,
    kafka_principals,
    load_settings,
    shared_kafka_settings,
)
from waypoint_shared.messaging import kafka_acls
from waypoint_shared.messaging.kafka_clients import durable_producer
from waypoint_shared.messaging.topics import ensure_topics

from .conftest import refer, url

pytestmark = [pytest.mark.timeout(300)]


@dataclasses.dataclass(frozen=True)
class SecureBroker:
    environment: dict[str, str]  # every principal's credentials, as make run's launcher has them
    prefix: str
    broker: local_kafka.LocalKafka

    def settings(self, service: str) -> KafkaSettings:
        """The Kafka settings a service's process reads, with its own principal."""
        return load_settings(service, self.environment).kafka

    @property
    def admin(self) -> KafkaSettings:
        return shared_kafka_settings(self.environment)


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    runner = local_kafka
    data_dir = tmp_path_factory.mktemp("sasl-kafka")
    broker = runner.LocalKafka(free_port(), free_port(), data_dir / "kafka", sasl=True)
    try:
        broker.start()
    except Exception as error:
        unavailable(f"no Kafka broker: {error}")
    prefix = f"sasl{uuid.uuid4().hex[:8]}."
    environment = {
        **broker.client_environment(),
        "WAYPOINT_TOPIC_PREFIX": prefix,
        "WAYPOINT_VAR_DIR": str(data_dir),
    }
    secure = SecureBroker(environment, prefix, broker)
    try:
        ensure_topics(secure.admin)
        kafka_acls.grant(secure.admin, kafka_principals(environment))
        yield secure
    finally:
        broker.stop()


def test_the_goals_principal_cannot_write_to_intakes_topic(secure_broker: SecureBroker) -> None:
    goals = secure_broker.settings("goals")
    producer = durable_producer(goals)
    try:
        sent = producer.send(f"{secure_broker.prefix}waypoint.intake.events", b"forged", b"x")
        with pytest.raises(TopicAuthorizationFailedError):
            sent.get(timeout=30)
    finally:
        producer.close(timeout=5)


def read_back(secure_broker: SecureBroker, writer: str, reader: str) -> None:
    """The writer's principal writes its events topic; the reader's principal reads it back."""
    topic = f"{secure_broker.prefix}waypoint.{writer}.events"
    value = f"{writer} event {uuid.uuid4()}".encode()
    producer = durable_producer(secure_broker.settings(writer))
    try:
        producer.send(topic, key=b"client", value=value).get(timeout=30)
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(
        topic,
        **secure_broker.settings(reader).client_options(),
        group_id=f"{secure_broker.prefix}waypoint-{reader}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=15_000,
    )
    try:  # read until the value comes, or until 15 s pass without a record
        assert any(record.value == value for record in consumer)
    finally:
        consumer.close()


def test_intakes_principal_writes_its_topic_and_progress_principal_reads_it(
    secure_broker: SecureBroker,
) -> None:
    read_back(secure_broker, "intake", "progress")


def test_the_goals_principal_reads_progresss_topic_for_recorded_sessions(
    secure_broker: SecureBroker,
) -> None:
    read_back(secure_broker, "progress", "goals")


def test_a_wrong_password_is_refused_by_the_broker(secure_broker: SecureBroker) -> None:
    intake = secure_broker.settings("intake")
    wrong = dataclasses.replace(intake, sasl_password="not-the-password")
    logged_before = secure_broker.broker.server_log.stat().st_size

    with pytest.raises(KafkaTimeoutError):
        KafkaProducer(**wrong.client_options(), bootstrap_timeout_ms=5_000)

    # The client only times out, as it would if the broker were out of reach. The broker's own
    # log says it refused the credentials. (The client logs the refusal only when it reads the
    # broker's answer before the broker closes the connection, which under load it may not.)
    logged = secure_broker.broker.logged_since(logged_before).splitlines()
    assert any(
        "Failed authentication" in line and "invalid credentials" in line for line in logged
    ), "the broker did not refuse the password"


def test_the_whole_suite_runs_on_the_secured_broker(
    secure_broker: SecureBroker,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    clinic_a: dict[str, str],
) -> None:
    for name, value in secure_broker.environment.items():
        if name not in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):  # no admin for services
            monkeypatch.setenv(name, value)
    var_dir = tmp_path_factory.mktemp("secure-suite")
    with running_suite(var_dir, secure_broker.admin) as suite:
        client_id = refer(suite, clinic_a)  # relayed by intake's principal, read by progress'
        timeline = requests.get(
            url(suite, "progress", f"/v1/clients/{client_id}/timeline"), headers=clinic_a
        )

        assert "journey_started" in [entry["type"] for entry in timeline.json()["items"]]
        assert all(p.poll() is None for p in suite.processes.values())
