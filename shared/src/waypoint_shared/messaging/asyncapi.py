"""The AsyncAPI 3.0 document of the suite's topics, generated from the event catalog.

    python -m waypoint_shared.messaging.asyncapi     # rewrites docs/asyncapi.yaml

Channels are the three event topics and the two dead-letter topics; every event type of the
catalog is a message with its CloudEvents envelope, its key and its payload as JSON Schema,
as it travels: personal fields are ciphertext (`enc:v2:…`) that only the producer can open.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from waypoint_shared import catalog
from waypoint_shared.catalog.events.common import EventType
from waypoint_shared.config import SERVICES, dead_letter_topic_of, topic_of
from waypoint_shared.messaging import envelope
from waypoint_shared.messaging.topics import DEAD_LETTER_CONFIG, LISTENING_SERVICES

DOCUMENT = Path("docs") / "asyncapi.yaml"  # in the repository, where `make` runs
KAFKA_BINDING = "0.5.0"
# Intake's roster streams are per therapist: their key and subject are the therapist id.
ROSTER_EVENTS = {
    "therapist_registered",
    "therapist_updated",
    "client_taken_on",
    "client_handed_over",
}
LISTENS_TO = {"goals": ("intake", "progress"), "progress": SERVICES}


def document() -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document as plain data."""
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Waypoint events",
            "version": "1.0.0",
            "description": (
                "Domain events of the Waypoint suite (intake, goals, progress) on Apache Kafka. "
                "Values are CloudEvents 1.0 in structured JSON mode; the key is the client id. "
                "Personal fields travel sealed (AES-GCM with a per-client key kept by the "
                "producing service): consumers see ciphertext and the plain clinical facts."
            ),
        },
        "defaultContentType": envelope.CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The broker of `make run`; set KAFKA_BOOTSTRAP_SERVERS elsewhere.",
            }
        },
        "channels": {**_event_channels(), **_dead_letter_channels()},
        "operations": _operations(),
        "components": {
            "schemas": {"CloudEvent": _cloud_event(), **_payload_schemas()},
            "messages": {**_event_messages(), "DeadLetter": _dead_letter_message()},
        },
    }


def _entries(service: str) -> list[EventType]:
    return [e for e in _all_entries() if e.service == service]


def _id(entry: EventType) -> str:
    return f"{entry.service}_{entry.name}_v{entry.version}"


def _channel_id(service: str, kind: str = "Events") -> str:
    return f"{service}{kind}"


def _event_channels() -> dict[str, Any]:
    return {
        _channel_id(service): {
            "address": topic_of(service),
            "title": f"{service.capitalize()} events",
            "description": (
                f"Every event {service} records, in the order of its store. Key = client id, so "
                "one client's events stay in order on one partition. The topic is the history: "
                "never compacted, never expired."
            ),
            "messages": {
                _id(e): {"$ref": f"#/components/messages/{_id(e)}"} for e in _entries(service)
            },
            "bindings": {
                "kafka": _topic_binding({"cleanup.policy": ["delete"], "retention.ms": -1})
            },
        }
        for service in SERVICES
    }


def _dead_letter_channels() -> dict[str, Any]:
    retention = int(DEAD_LETTER_CONFIG["retention.ms"])
    return {
        _channel_id(service, "DeadLetters"): {
            "address": dead_letter_topic_of(service),
            "title": f"{service.capitalize()} dead letters",
            "description": (
                f"Records {service}'s consumer could not decode or apply, unchanged, with their "
                "origin in headers; kept 14 days. `waypoint-admin dlq redrive` sends them back."
            ),
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": {
                "kafka": _topic_binding({"cleanup.policy": ["delete"], "retention.ms": retention})
            },
        }
        for service in LISTENING_SERVICES
    }


def _topic_binding(configuration: dict[str, Any]) -> dict[str, Any]:
    return {"topicConfiguration": configuration, "bindingVersion": KAFKA_BINDING}


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for service in SERVICES:
        channel = _channel_id(service)
        operations[f"{service}Publishes"] = _operation("send", channel, _entries(service))
    for listener, sources in LISTENS_TO.items():
        for source in sources:
            operations[f"{listener}Consumes{source.capitalize()}"] = _operation(
                "receive", _channel_id(source), _entries(source), group=f"waypoint-{listener}"
            )
        operations[f"{listener}DeadLetters"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{_channel_id(listener, 'DeadLetters')}"},
            "summary": f"{listener} sets aside a record it cannot decode or apply.",
            "messages": [
                {"$ref": f"#/channels/{_channel_id(listener, 'DeadLetters')}/messages/DeadLetter"}
            ],
        }
    return operations


def _operation(
    action: str, channel: str, entries: list[EventType], group: str | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{_id(e)}"} for e in entries],
    }
    if group:
        operation["summary"] = f"Consumer group `{group}`; applies each event id once."
        operation["bindings"] = {
            "kafka": {
                "groupId": {"type": "string", "const": group},
                "bindingVersion": KAFKA_BINDING,
            }
        }
    return operation


def _event_messages() -> dict[str, Any]:
    return {_id(e): _message(e) for e in _all_entries()}


def _message(entry: EventType) -> dict[str, Any]:
    keyed_by = "therapist" if entry.name in ROSTER_EVENTS else "client"
    return {
        "name": entry.type,
        "title": f"{entry.name.replace('_', ' ').capitalize()} (v{entry.version})",
        "summary": (entry.schema.__doc__ or f"{entry.name} from {entry.service}").strip(),
        "contentType": envelope.CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {"content-type": {"type": "string", "const": envelope.CONTENT_TYPE}},
        },
        "correlationId": {
            "description": "The caller's X-Request-ID (else the request id) behind the event.",
            "location": "$message.payload#/correlationid",
        },
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": entry.type},
                        "source": {"const": f"/waypoint/{entry.service}"},
                        "dataschema": {"const": f"{envelope.SCHEMA_BASE}/{entry.type}.json"},
                        "data": {"$ref": f"#/components/schemas/{_id(entry)}"},
                    },
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "format": "uuid",
                    "description": f"The {keyed_by} id (UTF-8), the CloudEvent's `subject`.",
                },
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "x-waypoint-event": {
            "service": entry.service,
            "name": entry.name,
            "version": entry.version,
        },
    }


def _dead_letter_message() -> dict[str, Any]:
    header = {"type": "string"}
    return {
        "name": "dead_letter",
        "title": "Dead-lettered record",
        "summary": "The original record (key, value, headers) with where it came from and why.",
        "headers": {
            "type": "object",
            "required": ["dlq.topic", "dlq.partition", "dlq.offset", "dlq.error"],
            "properties": {
                "dlq.topic": {**header, "description": "The topic the record was read from."},
                "dlq.partition": {**header, "description": "Its partition, in decimal."},
                "dlq.offset": {**header, "description": "Its offset, in decimal."},
                "dlq.error": {**header, "description": "Why it was set aside (no values)."},
            },
        },
        "payload": {"description": "The original value, byte for byte (it may not be JSON)."},
    }


def _cloud_event() -> dict[str, Any]:
    trace = {"type": "string", "pattern": envelope.TRACE_PATTERN}
    properties = {
        "specversion": {"type": "string", "const": "1.0"},
        "id": {"type": "string", "format": "uuid", "description": "The event id; dedupe by it."},
        "source": {"type": "string", "pattern": envelope.SOURCE_PATTERN},
        "type": {"type": "string", "description": "waypoint.<service>.<event>.v<version>"},
        "subject": {"type": "string", "format": "uuid", "description": "The client id."},
        "time": {"type": "string", "format": "date-time", "description": "When it was recorded."},
        "datacontenttype": {"type": "string", "const": "application/json"},
        "dataschema": {"type": "string", "format": "uri"},
        "tenantid": {"type": "string", "pattern": envelope.TENANT_PATTERN},
        "correlationid": {**trace, "description": "The request id that started the journey."},
        "causationid": {**trace, "description": "The request or event that caused this one."},
        "streamversion": {"type": "integer", "minimum": 1},
        "data": {"type": "object"},
    }
    return {
        "type": "object",
        "description": "CloudEvents 1.0, structured JSON mode, with Waypoint's extensions.",
        "required": list(properties),
        "properties": properties,
    }


def _payload_schemas() -> dict[str, Any]:
    return {_id(e): payload_schema(e) for e in _all_entries()}


def _all_entries() -> list[catalog.EventType]:
    """Every catalog entry in a fixed order (by type), whatever order the catalog was built in."""
    return [catalog.CATALOG[t] for t in sorted(catalog.CATALOG)]


def payload_schema(entry: EventType) -> dict[str, Any]:
    """An event type's `data` as JSON Schema, personal fields as the ciphertext they travel as."""
    schema = _converter().schema2jsonschema(entry.schema())
    for name in entry.personal_fields:
        plain = schema["properties"][name]
        nullable = "null" in plain.get("type", ())
        schema["properties"][name] = {
            "type": ["string", "null"] if nullable else "string",
            "pattern": "^enc:v[12]:",
            "description": "Personal: sealed with the client's key (`enc:v2:`, bound to service, "
            "tenant, client, event type and field; `enc:v1:` before); only its producer opens it.",
            "x-waypoint-personal": True,
            "x-waypoint-plain": plain,
        }
    return {"description": f"`data` of {entry.type}", **schema}


@cache
def _converter() -> Any:
    # A resolver answering None inlines nested schemas, as apispec documents; its annotation
    # says str only.
    plugin = MarshmallowPlugin(schema_name_resolver=lambda _schema: None)  # type: ignore[arg-type, return-value]
    APISpec("waypoint", "1", "3.1.0", plugins=[plugin])
    return plugin.converter


def render() -> str:
    """The document as YAML text (ruamel.yaml, a dev dependency: this is a build-time tool)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    out = io.StringIO()
    out.write(
        "# Generated from waypoint_shared.catalog by "
        "`python -m waypoint_shared.messaging.asyncapi`.\n"
    )
    out.write("# Do not edit: a test regenerates it and compares.\n")
    yaml.dump(document(), out)
    return out.getvalue()


def main() -> None:
    """Rewrite the document named on the command line, docs/asyncapi.yaml by default."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCUMENT
    target.write_text(render())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
