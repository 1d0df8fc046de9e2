"""The embeddable timeline page over HTTP: minted tokens, the page each view shows, and what
it never shows (a personal field, another client's data, alerts to a client)."""

from __future__ import annotations

import re
import time
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from waypoint_devkit.apps import bearer, deliver
from waypoint_progress.domain.embed import EmbedGrant
from waypoint_progress.entrypoints.embed import page, tokens
from waypoint_shared.config import DEVELOPMENT_MASTER_KEY

from ..conftest import JourneyEvents

PERSONAL = ("Amara", "Osei", "1992-06-30", "Sleep well", "Walk", "I felt heard", "moving away")
KEYS = tokens.signing_keys(DEVELOPMENT_MASTER_KEY)


@pytest.fixture
def client_id(app: Flask, journey: type[JourneyEvents]) -> str:
    """A client past the acceptance journey, with a second step done, a reflection and a risk
    alert: personal text everywhere an event may carry it."""
    events = journey()
    goal, step = str(uuid.uuid4()), str(uuid.uuid4())
    envelopes = [
        *events.acceptance_journey(),
        events.step_planned(goal, step),
        events.step_completed(goal, step),
        events.later(7).session(reflection="I felt heard", PHQ9=[0, 0, 0, 0, 0, 0, 0, 0, 1]),
    ]
    deliver(app, app.extensions["waypoint"].projector.handle, *envelopes)
    return events.client_id


def mint(app: Flask, client_id: str, tenant: str = "clinic-a", **body: Any) -> TestResponse:
    return app.test_client().post(
        f"/v1/clients/{client_id}/embed-tokens",
        json={"view": "client", **body},
        headers=bearer(tenant),
    )


def open_page(app: Flask, client_id: str, token: str) -> TestResponse:
    return app.test_client().get(
        f"/embed/clients/{client_id}/timeline", query_string={"token": token}
    )


def page_of(app: Flask, client_id: str, view: str) -> str:
    minted = mint(app, client_id, view=view)
    assert minted.status_code == 200, minted.get_json()
    shown = open_page(app, client_id, minted.get_json()["token"])
    assert shown.status_code == 200, shown.get_data(as_text=True)
    return shown.get_data(as_text=True)


class Texts(HTMLParser):
    """The text of each element with an id, and every element's tag, as a browser would parse."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.items: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        named = dict(attrs).get("id")
        if tag in ("ol", "ul") and named:
            self._open.append(named)
        elif tag == "li" and self._open:
            self.items.setdefault(self._open[-1], []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ol", "ul") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self.items.get(self._open[-1]):
            self.items[self._open[-1]][-1] += data


def parsed(html: str) -> Texts:
    texts = Texts()
    texts.feed(html)
    texts.items = {k: [" ".join(i.split()) for i in v] for k, v in texts.items.items()}
    return texts


def test_a_minted_token_opens_the_page_of_its_client_for_its_view(
    app: Flask, client_id: str
) -> None:
    minted = mint(app, client_id, view="clinician", ttl_seconds=600)

    assert minted.status_code == 200
    body = minted.get_json()
    assert body["view"] == "clinician" and body["client_id"] == client_id
    assert body["url"].endswith(f"/embed/clients/{client_id}/timeline?token={body['token']}")
    grant = tokens.verify(body["token"], KEYS)
    assert grant.expires_at - time.time() == pytest.approx(600, abs=5)
    assert (grant.tenant, grant.client_id, grant.subject) == ("clinic-a", client_id, "ehr")


def test_the_client_view_reads_milestones_in_the_clients_words_and_shows_no_alert(
    app: Flask, client_id: str
) -> None:
    html = page_of(app, client_id, "client")

    items = parsed(html).items["milestones"]
    assert "4 Mar 2025 You started your journey." in items
    assert any(i.endswith("You completed your first step.") for i in items)
    assert any(i.endswith("You completed another step.") for i in items)
    assert "alerts" not in parsed(html).items
    assert "Risk flag" not in html and 'class="alert"' not in html
    assert "alert" not in re.sub(r"<svg.*</svg>", "", html, flags=re.S).lower()


def test_the_clinician_view_adds_the_alerts(app: Flask, client_id: str) -> None:
    html = page_of(app, client_id, "clinician")

    texts = parsed(html)
    assert [i.split(" ", 3)[-1] for i in texts.items["alerts"]] == [
        "Risk flag: PHQ-9 item 9 above 0"
    ]
    assert "Journey started" in " ".join(texts.items["milestones"])
    assert 'class="alert"' in html  # marked on the chart too


@pytest.mark.parametrize("view", ["client", "clinician"])
def test_the_page_shows_no_personal_field(app: Flask, client_id: str, view: str) -> None:
    html = page_of(app, client_id, view)

    for personal in PERSONAL:
        assert personal not in html


@pytest.mark.parametrize("view", ["client", "clinician"])
def test_the_page_is_self_contained_with_a_chart_a_table_and_its_language(
    app: Flask, client_id: str, view: str
) -> None:
    html = page_of(app, client_id, view)

    texts = parsed(html)
    assert html.startswith('<!doctype html>\n<html lang="en">')
    assert {"svg", "figure", "figcaption", "table", "main", "h1"} <= set(texts.tags)
    assert not {"script", "img", "link", "iframe", "object"} & set(texts.tags)
    assert not re.search(r"""(src|href)\s*=|url\(|@import|style\s*=""", html, re.I)
    assert "Date (clinical)" in html  # the chart's dated axis
    assert re.search(
        r"<td><time datetime=\"2025-03-\d\d\">\d+ Mar 2025</time></td><td>PHQ-9</td><td>15</td>",
        html,
    )


def test_the_page_answers_a_strict_content_security_policy(app: Flask, client_id: str) -> None:
    minted = mint(app, client_id).get_json()
    shown = open_page(app, client_id, minted["token"])

    policy = shown.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert f"style-src 'sha256-{page.STYLE_HASH}'" in policy
    assert "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*" in policy  # development
    assert "script-src" not in policy  # so default-src 'none' forbids every script
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    assert shown.headers["Cache-Control"] == "no-store"
    assert f"<style>{page.STYLE}</style>" in shown.get_data(as_text=True)


def test_frame_ancestors_come_from_the_deployments_setting(
    journey: type[JourneyEvents], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from waypoint_devkit.apps import app_with
    from waypoint_progress.entrypoints.app import create_app

    monkeypatch.setenv("PROGRESS_EMBED_FRAME_ANCESTORS", "https://app.clinic.example")
    for app in app_with(create_app, monkeypatch, WAYPOINT_VAR_DIR=str(tmp_path)):
        events = journey()
        deliver(app, app.extensions["waypoint"].projector.handle, events.referral())
        token = mint(app, events.client_id).get_json()["token"]
        policy = open_page(app, events.client_id, token).headers["Content-Security-Policy"]
        assert policy.endswith("frame-ancestors https://app.clinic.example")


def test_an_expired_token_is_a_401_problem_with_no_data(app: Flask, client_id: str) -> None:
    expired = EmbedGrant("clinic-a", client_id, "clinician", "ehr", int(time.time()) - 1)

    shown = open_page(app, client_id, tokens.mint(expired, KEYS))

    assert shown.status_code == 401
    assert shown.mimetype == "application/problem+json"
    assert "expired" in shown.get_json()["detail"]
    assert "PHQ-9" not in shown.get_data(as_text=True)


def test_another_clients_token_answers_as_an_unknown_client(
    app: Flask, client_id: str, journey: type[JourneyEvents]
) -> None:
    other = journey()
    deliver(app, app.extensions["waypoint"].projector.handle, other.referral())
    token = mint(app, other.client_id).get_json()["token"]

    shown = open_page(app, client_id, token)
    unknown = open_page(app, str(uuid.uuid4()), token)

    assert shown.status_code == unknown.status_code == 404
    assert shown.get_json()["title"] == unknown.get_json()["title"]
    assert "PHQ-9" not in shown.get_data(as_text=True)


def test_another_tenants_token_answers_as_an_unknown_client(app: Flask, client_id: str) -> None:
    token = tokens.mint(EmbedGrant("clinic-b", client_id, "clinician", "ehr", 2**31), KEYS)

    shown = open_page(app, client_id, token)

    assert shown.status_code == 404
    assert "PHQ-9" not in shown.get_data(as_text=True)


def test_minting_for_an_unknown_or_another_tenants_client_is_a_404(
    app: Flask, client_id: str
) -> None:
    assert mint(app, str(uuid.uuid4())).status_code == 404
    assert mint(app, client_id, tenant="clinic-b").status_code == 404


def test_an_api_token_does_not_open_the_page_nor_an_embed_token_the_api(
    app: Flask, client_id: str
) -> None:
    api_token = bearer()["Authorization"].removeprefix("Bearer ")
    embed_token = mint(app, client_id).get_json()["token"]

    assert open_page(app, client_id, api_token).status_code == 401
    api = app.test_client().get(
        f"/v1/clients/{client_id}/timeline", headers={"Authorization": f"Bearer {embed_token}"}
    )
    assert api.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [({"view": "therapist"}, "view"), ({"ttl_seconds": 901}, "ttl_seconds"), ({}, None)],
)
def test_a_token_request_outside_the_rules_is_a_422(
    app: Flask, client_id: str, body: dict[str, Any], field: str | None
) -> None:
    sent = {"view": "client", **body} if field else {}
    answer = app.test_client().post(
        f"/v1/clients/{client_id}/embed-tokens", json=sent, headers=bearer()
    )

    assert answer.status_code == 422
    assert (field or "view") in str(answer.get_json()["errors"])


def test_minting_needs_progress_read(app: Flask, client_id: str) -> None:
    answer = app.test_client().post(
        f"/v1/clients/{client_id}/embed-tokens",
        json={"view": "client"},
        headers=bearer(scopes="goals:read"),
    )

    assert answer.status_code == 403


def test_a_page_read_is_audited_under_the_minting_subject(app: Flask, client_id: str) -> None:
    page_of(app, client_id, "client")

    log = app.test_client().get(f"/v1/clients/{client_id}/access-log", headers=bearer())
    reads = [e for e in log.get_json()["items"] if e["path"].startswith("/embed/")]
    assert [e["subject"] for e in reads] == ["embed:ehr"]


def test_an_erased_clients_page_is_gone_with_no_data(
    app: Flask, journey: type[JourneyEvents]
) -> None:
    events = journey()
    deliver(app, app.extensions["waypoint"].projector.handle, *events.acceptance_journey())
    token = mint(app, events.client_id).get_json()["token"]
    erasure = events.make(
        "intake", "client_erased", {"erased_by": {"role": "administrator", "id": "dpo-1"}}
    )
    deliver(app, app.extensions["waypoint"].projector.handle, erasure)

    shown = open_page(app, events.client_id, token)

    assert shown.status_code == 410
    assert shown.mimetype == "application/problem+json"
    assert "PHQ-9" not in shown.get_data(as_text=True)
