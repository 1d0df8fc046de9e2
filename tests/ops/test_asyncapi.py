"""docs/asyncapi.yaml: generated from the catalog, kept in sync, valid for the official parser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from waypoint_devkit.infrastructure import unavailable
from waypoint_shared import catalog
from waypoint_shared.messaging import asyncapi

ROOT = Path(__file__).resolve().parents[2]
PARSER = ROOT / "node_modules" / "@asyncapi" / "parser"
VALIDATOR = Path(__file__).with_name("validate_asyncapi.mjs")
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"


def committed() -> dict[str, Any]:
    return json.loads(json.dumps(YAML(typ="safe").load(DOCUMENT.read_text())))


def installed_parser() -> None:
    """`npm ci` installs the locked @asyncapi/parser into ./node_modules when it is missing
    (without install scripts: the parser needs none, and one dependency's would phone home)."""
    if PARSER.exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        unavailable("node and npm are needed to validate docs/asyncapi.yaml")
    done = subprocess.run(
        [npm, "ci", "--silent", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not PARSER.exists():
        unavailable(f"npm ci could not install @asyncapi/parser: {done.stderr[-2000:]}")


def test_the_committed_document_is_what_the_catalog_generates_now():
    assert committed() == json.loads(json.dumps(asyncapi.document())), (
        "docs/asyncapi.yaml is stale: run `.venv/bin/python -m waypoint_shared.messaging.asyncapi`"
    )


def test_every_event_type_of_the_catalog_is_a_message_on_its_producers_topic():
    document = committed()
    for entry in catalog.CATALOG.values():
        message = document["components"]["messages"][
            f"{entry.service}_{entry.name}_v{entry.version}"
        ]
        assert message["name"] == entry.type
        assert message["x-waypoint-event"]["version"] == entry.version
        channel = document["channels"][f"{entry.service}Events"]
        assert channel["address"] == f"waypoint.{entry.service}.events"
        assert f"{entry.service}_{entry.name}_v{entry.version}" in channel["messages"]


def test_personal_fields_are_described_as_the_ciphertext_they_travel_as():
    data = committed()["components"]["schemas"]["intake_client_referred_v1"]["properties"]
    assert data["given_name"]["pattern"] == "^enc:v[12]:"
    assert data["given_name"]["x-waypoint-personal"] is True
    assert data["client_id"] == {"type": "string", "format": "uuid"}


def test_the_two_dead_letter_topics_carry_the_origin_headers():
    document = committed()
    addresses = {c["address"] for c in document["channels"].values()}
    assert {"waypoint.goals.dlq", "waypoint.progress.dlq"} <= addresses
    headers = document["components"]["messages"]["DeadLetter"]["headers"]["required"]
    assert headers == ["dlq.topic", "dlq.partition", "dlq.offset", "dlq.error"]


def test_the_official_asyncapi_parser_finds_no_error_in_the_document():
    installed_parser()
    checked = subprocess.run(
        ["node", str(VALIDATOR), str(DOCUMENT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["version"] == "3.0.0"
    assert len(report["messages"]) == len(catalog.CATALOG) + 1  # and the dead letter


def test_the_parser_refuses_an_operation_on_a_channel_that_does_not_exist(tmp_path):
    installed_parser()
    broken = asyncapi.document()
    broken["operations"]["intakePublishes"]["channel"] = {"$ref": "#/channels/nowhere"}
    path = tmp_path / "broken.yaml"
    path.write_text(json.dumps(broken))  # JSON is YAML
    checked = subprocess.run(
        ["node", str(VALIDATOR), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert not json.loads(checked.stdout)["valid"]
