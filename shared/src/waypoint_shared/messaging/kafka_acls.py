"""Kafka ACLs for the suite: one principal per service, allowed only what that service does.

Service S (principal User:<S's SASL user>), with P the topic prefix (`WAYPOINT_TOPIC_PREFIX`):

| resource | pattern | operation |
| --- | --- | --- |
| topic `P waypoint.S.` | PREFIXED | Write (its events topic and its dead-letter topic) |
| topic `P waypoint.` | PREFIXED | Describe (topic metadata: ensure_topics, lag) |
| topic `P waypoint.<C>.events` for each C it consumes | LITERAL | Read |
| group `P waypoint-S` | PREFIXED | Read (its consumer group) |
| cluster `kafka-cluster` | LITERAL | IdempotentWrite (idempotent producers) |

ACL names are not globs: `P waypoint.intake.` as a PREFIXED name matches every topic whose name
starts with it. Topics are created by the admin principal (a super user), not by the services.

    KAFKA_SASL_USERNAME=admin KAFKA_SASL_PASSWORD=… python -m waypoint_shared.messaging.kafka_acls
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import Any

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

from waypoint_shared.config import (
    SERVICES,
    KafkaSettings,
    kafka_principals,
    shared_kafka_settings,
    topic_of,
)

CONSUMES = {
    "intake": (),
    "goals": ("intake", "progress"),  # progress's recorded sessions meet goal targets
    "progress": ("intake", "goals", "progress"),
}


def _allow(
    principal: str,
    kind: ResourceType,
    name: str,
    pattern: ACLResourcePatternType,
    operation: ACLOperation,
) -> ACL:
    return ACL(
        principal=f"User:{principal}",
        host="*",
        operation=operation,
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(kind, name, pattern),
    )


def service_acls(service: str, principal: str, prefix: str = "") -> list[ACL]:
    """What one service's principal may do, and nothing more."""
    prefixed, literal = ACLResourcePatternType.PREFIXED, ACLResourcePatternType.LITERAL
    topic, group = ResourceType.TOPIC, ResourceType.GROUP
    return [
        _allow(principal, topic, f"{prefix}waypoint.{service}.", prefixed, ACLOperation.WRITE),
        _allow(principal, topic, f"{prefix}waypoint.", prefixed, ACLOperation.DESCRIBE),
        *[
            _allow(principal, topic, topic_of(source, prefix), literal, ACLOperation.READ)
            for source in CONSUMES[service]
        ],
        _allow(principal, group, f"{prefix}waypoint-{service}", prefixed, ACLOperation.READ),
        _allow(
            principal,
            ResourceType.CLUSTER,
            "kafka-cluster",
            literal,
            ACLOperation.IDEMPOTENT_WRITE,
        ),
    ]


def suite_acls(principals: Mapping[str, str], prefix: str = "") -> list[ACL]:
    """The ACLs of every service; principals maps a service to its SASL user name."""
    return [acl for s in SERVICES for acl in service_acls(s, principals[s], prefix)]


def grant(
    admin_settings: KafkaSettings, principals: Mapping[str, str], timeout: float = 30
) -> None:
    """Create the suite's ACLs as the admin principal (creating an existing ACL is a no-op), and
    return once the broker enforces them all."""
    wanted = suite_acls(principals, admin_settings.topic_prefix)
    # client_options() mixes value types; kafka-python checks each keyword itself.
    options: dict[str, Any] = {**admin_settings.client_options(), "request_timeout_ms": 10_000}
    admin = KafkaAdminClient(**options)
    try:
        result = admin.create_acls(wanted)
        if result["failed"]:
            raise RuntimeError(f"creating Kafka ACLs failed: {result['failed']}")
        _wait_until_enforced(admin, wanted, timeout)
    finally:
        admin.close()


def _wait_until_enforced(admin: KafkaAdminClient, wanted: list[ACL], timeout: float) -> None:
    """The broker answers DescribeAcls from its authorizer: once it lists them, they apply."""
    everything = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    deadline = time.monotonic() + timeout
    while True:
        listed, _ = admin.describe_acls(everything)
        if {_key(a) for a in wanted} <= {_key(a) for a in listed}:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the broker did not apply the Kafka ACLs within {timeout}s")
        time.sleep(0.2)


def _key(acl: ACL) -> tuple[object, ...]:
    pattern = acl.resource_pattern
    return (
        acl.principal,
        int(acl.operation),
        int(pattern.resource_type),
        pattern.resource_name,
        int(pattern.pattern_type),
    )


def main(argv: list[str] | None = None) -> None:
    """Grant the suite's ACLs with the admin credentials of KAFKA_SASL_USERNAME/PASSWORD."""
    argparse.ArgumentParser(description="Create Waypoint's Kafka ACLs.").parse_args(argv)
    grant(shared_kafka_settings(), kafka_principals())
    print("Kafka ACLs granted")


if __name__ == "__main__":
    main()
