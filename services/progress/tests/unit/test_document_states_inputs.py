"""The OpenAPI document states what progress accepts: a body the document allows is one the
service's own validation accepts, and a body it refuses, the service refuses too (422)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from waypoint_devkit.documents import agree, cases
from waypoint_progress.domain.scoring import Thresholds, score
from waypoint_progress.entrypoints.sessions.schemas import AmendmentSchema, SessionInputSchema
from waypoint_progress.entrypoints.webhooks.schemas import SubscriptionRequestSchema

MILD = [1, 1, 1, 1, 1, 1, 1, 1, 0]


def session(*measures: dict[str, Any], attended: bool = True) -> dict[str, Any]:
    return {"date": "2025-03-20", "attended": attended, "measures": list(measures)}


def phq9(items: list[Any]) -> dict[str, Any]:
    return {"instrument": "PHQ-9", "items": items}


def ors(items: list[Any]) -> dict[str, Any]:
    return {"instrument": "ORS", "items": items}


SESSIONS = [
    ("a PHQ-9 of nine whole numbers", session(phq9(MILD)), True),
    ("2.0 is the whole number 2", session(phq9([2.0, *MILD[1:]])), True),
    ("a PHQ-9 of one item", session(phq9([1])), False),
    ("a PHQ-9 of ten items", session(phq9([*MILD, 0])), False),
    ("a PHQ-9 item of 1.5", session(phq9([1.5, *MILD[1:]])), False),
    ("a PHQ-9 item of 4", session(phq9([4, *MILD[1:]])), False),
    ("a GAD-7 of seven", session({"instrument": "GAD-7", "items": [0] * 7}), True),
    ("a GAD-7 of nine", session({"instrument": "GAD-7", "items": [0] * 9}), False),
    ("an ORS of four marks", session({"instrument": "ORS", "items": [0.3, 5, 9.9, 10]}), True),
    ("an ORS of one mark", session({"instrument": "ORS", "items": [5.0]}), False),
    ("an ORS mark of 5.55", session({"instrument": "ORS", "items": [5.55, 5, 5, 5]}), False),
    ("an ORS mark of 0.1 * 7 in floats", session(ors([0.1 * 7, 5, 5, 5])), False),
    ("an ORS mark of 1e-10", session(ors([1e-10, 5, 5, 5])), False),
    ("an SRS mark above 10", session({"instrument": "SRS", "items": [10.1, 5, 5, 5]}), False),
    ("an instrument twice", session(phq9(MILD), phq9(MILD)), False),
    ("a missed session without measures", session(attended=False), True),
    ("a missed session with measures", session(phq9(MILD), attended=False), False),
]


@pytest.mark.parametrize(("body", "valid"), cases(SESSIONS))
def test_the_document_states_which_sessions_are_accepted(
    client: FlaskClient, body: dict[str, Any], valid: bool
) -> None:
    assert agree(client, "SessionInput", SessionInputSchema(), body) is valid


@pytest.mark.parametrize(("body", "valid"), cases(SESSIONS[:-2]))
def test_the_document_states_which_amendments_are_accepted(
    client: FlaskClient, body: dict[str, Any], valid: bool
) -> None:
    amendment = {"measures": body["measures"], "reason": "Scores were swapped"}
    assert agree(client, "Amendment", AmendmentSchema(), amendment) is valid


def test_whole_number_items_are_kept_as_integers() -> None:
    kept = score("PHQ-9", [2.0, *MILD[1:]], Thresholds())
    assert kept.items == (2, *MILD[1:])
    assert all(type(item) is int for item in kept.items)


URLS = [
    ("https to a host name", "https://hooks.clinic.example/in?tenant=a", True),
    ("http to the development receiver", "http://127.0.0.1:9000/in", True),
    ("a single-label host", "https://receiver:8443/", True),
    ("another address", "https://10.0.0.7/in", False),
    ("the cloud metadata address", "http://169.254.169.254/latest/meta-data", False),
    ("credentials", "https://u:p@hooks.clinic.example/", False),
    ("a fragment", "https://hooks.clinic.example/#x", False),
    ("a port above 65535", "https://hooks.clinic.example:99999/", False),
    ("another scheme", "ftp://example.org/", False),
    ("no host", "https:///in", False),
    ("a top-level label of one letter", "http://A0.b", False),
]


@pytest.mark.parametrize(("url", "valid"), cases(URLS))
def test_the_document_states_the_receiver_urls_accepted(
    client: FlaskClient, url: str, valid: bool
) -> None:
    body = {"url": url, "event_types": ["session_recorded"]}
    assert agree(client, "SubscriptionRequest", SubscriptionRequestSchema(), body) is valid


def test_the_document_states_that_a_reason_is_not_blank(client: FlaskClient) -> None:
    def agreed(reason: str) -> bool:
        amendment = {"measures": [], "reason": reason}
        return agree(client, "Amendment", AmendmentSchema(), amendment)

    assert agreed("Scores were swapped") and agreed(" Scores were swapped")
    assert not any(agreed(blank) for blank in ("   ", "\n", "\u3000", "\x1c"))
