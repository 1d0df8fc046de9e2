"""Each service connects to Kafka as its own principal, and the ACLs give each principal only its
own topics to write (PREFIXED names, since ACL names are not globs)."""

from __future__ import annotations

from pathlib import Path

from kafka.admin import ACLOperation, ACLResourcePatternType, ResourceType

from waypoint_shared.config import load_settings, shared_kafka_settings
from waypoint_shared.messaging import kafka_acls

ENV = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "admin",
    "KAFKA_SASL_PASSWORD": "admin-pw",
    "GOALS_KAFKA_SASL_USERNAME": "goals",
    "GOALS_KAFKA_SASL_PASSWORD": "goals-pw",
}


def test_a_services_own_credentials_win_over_the_shared_ones(tmp_path: Path) -> None:
    env = {**ENV, "WAYPOINT_VAR_DIR": str(tmp_path)}
    goals = load_settings("goals", env).kafka

    assert (goals.sasl_username, goals.sasl_password) == ("goals", "goals-pw")
    assert goals.client_options()["sasl_mechanism"] == "SCRAM-SHA-512"
    assert load_settings("intake", env).kafka.sasl_username == "admin"  # none of its own given


def test_the_settings_of_no_service_never_take_a_services_credentials() -> None:
    shared = shared_kafka_settings({**ENV, "INTAKE_KAFKA_SASL_USERNAME": "intake"})

    assert (shared.sasl_username, shared.sasl_password) == ("admin", "admin-pw")


def test_only_a_services_own_principal_may_write_under_its_prefix() -> None:
    principals = {"intake": "intake", "goals": "goals", "progress": "progress"}
    acls = kafka_acls.suite_acls(principals, prefix="t1.")
    writes = {
        (a.principal, a.resource_pattern.resource_name)
        for a in acls
        if a.operation == ACLOperation.WRITE
    }

    assert writes == {
        ("User:intake", "t1.waypoint.intake."),
        ("User:goals", "t1.waypoint.goals."),
        ("User:progress", "t1.waypoint.progress."),
    }
    assert all(
        a.resource_pattern.pattern_type == ACLResourcePatternType.PREFIXED
        for a in acls
        if a.operation == ACLOperation.WRITE
    )
    reads = {
        (a.principal, a.resource_pattern.resource_name)
        for a in acls
        if a.operation == ACLOperation.READ
        and a.resource_pattern.resource_type == ResourceType.TOPIC
    }
    assert reads == {
        ("User:goals", "t1.waypoint.intake.events"),
        ("User:goals", "t1.waypoint.progress.events"),
        *{("User:progress", f"t1.waypoint.{s}.events") for s in principals},
    }
