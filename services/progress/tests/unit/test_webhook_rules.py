"""The webhook rules, one table each: when a failed delivery is tried again, which receivers may
be called (SSRF), how a delivery is signed (verified with the `standardwebhooks` package), which
secrets sign during a rotation, when a subscription is disabled, and what a payload carries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from waypoint_progress.domain import webhooks
from waypoint_progress.domain.webhooks import RetrySchedule

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DEVELOPMENT = RetrySchedule(webhooks.DEVELOPMENT_DELAYS, webhooks.RETRY_WINDOW)
PRODUCTION = RetrySchedule(webhooks.PRODUCTION_DELAYS, webhooks.RETRY_WINDOW)

# (sentence, schedule, failed attempts so far, draw in [0, 1), expected wait in seconds)
WAITS = [
    ("in development the first retry comes after a second", DEVELOPMENT, 1, 0.5, 1.0),
    ("in development the second retry comes after five seconds", DEVELOPMENT, 2, 0.5, 5.0),
    ("in development the third retry comes after thirty seconds", DEVELOPMENT, 3, 0.5, 30.0),
    ("the lowest draw waits a fifth less", DEVELOPMENT, 3, 0.0, 24.0),
    ("the highest draw waits almost a fifth more", DEVELOPMENT, 3, 0.999999, 36.0),
    ("in production the first retry comes after five seconds", PRODUCTION, 1, 0.5, 5.0),
    ("in production the fifth waits five hours", PRODUCTION, 5, 0.5, 18000.0),
    ("past the list the last wait repeats", PRODUCTION, 12, 0.5, 36000.0),
]


@pytest.mark.parametrize(
    ("schedule", "attempts", "draw", "wait"), [w[1:] for w in WAITS], ids=[w[0] for w in WAITS]
)
def test_a_failed_delivery_waits_longer_after_each_attempt_with_jitter(
    schedule: RetrySchedule, attempts: int, draw: float, wait: float
) -> None:
    assert schedule.delay_after(attempts, draw) == pytest.approx(wait, rel=1e-5)


def test_the_waits_grow_and_each_draw_stays_within_a_fifth_of_its_wait() -> None:
    for schedule in (DEVELOPMENT, PRODUCTION):
        middles = [schedule.delay_after(n, 0.5) for n in range(1, 8)]
        assert middles == sorted(middles)
        for n in range(1, 8):
            low, high = schedule.delay_after(n, 0.0), schedule.delay_after(n, 0.999999)
            assert 0.8 * middles[n - 1] - 1e-9 <= low <= high <= 1.2 * middles[n - 1]


# (sentence, hours since the first attempt, expect another attempt)
WINDOW = [
    ("a delivery failing for an hour is tried again", 1, True),
    ("one failing for ten hours is tried again within the day", 10, True),
    ("one whose next attempt would fall past 24 hours is given up", 23.9, False),
]


@pytest.mark.parametrize(("hours", "again"), [w[1:] for w in WINDOW], ids=[w[0] for w in WINDOW])
def test_retries_last_up_to_the_window_of_24_hours(hours: float, again: bool) -> None:
    first = NOW - timedelta(hours=hours)
    later = PRODUCTION.next_attempt(first, 6, NOW, 0.5)
    assert (later is not None) is again
    if later is not None:
        assert later == NOW + timedelta(seconds=36000)


# (sentence, url, development, refused because…)
URLS = [
    ("an https URL is allowed in production", "https://hooks.clinic.example/in", False, None),
    ("an http URL is refused in production", "http://hooks.clinic.example/in", False, "https"),
    ("an http URL is allowed in development", "http://127.0.0.1:9000/in", True, None),
    ("a URL with credentials is refused", "https://u:p@hooks.clinic.example/", False, "credent"),
    ("a URL with a fragment is refused", "https://hooks.clinic.example/#x", False, "fragment"),
    ("another scheme is refused", "ftp://hooks.clinic.example/", True, "absolute https"),
    ("a URL without a host is refused", "https:///in", True, "absolute https"),
    ("a broken IPv6 literal is refused", "https://[::1/in", True, "absolute https"),
    ("an invalid port is refused", "https://hooks.clinic.example:99999/", True, "port"),
]


@pytest.mark.parametrize(
    ("url", "development", "refusal"), [u[1:] for u in URLS], ids=[u[0] for u in URLS]
)
def test_a_receiver_url_is_judged_by_its_form(
    url: str, development: bool, refusal: str | None
) -> None:
    problem = webhooks.url_problem(url, development)
    if refusal is None:
        assert problem is None
    else:
        assert problem is not None and refusal in problem


# (sentence, address, development, allowed)
ADDRESSES = [
    ("a public address is allowed in production", "93.184.216.34", False, True),
    ("a public IPv6 address is allowed in production", "2606:2800:220:1::1", False, True),
    ("loopback is refused in production", "127.0.0.1", False, False),
    ("IPv6 loopback is refused in production", "::1", False, False),
    ("a private 10/8 address is refused in production", "10.1.2.3", False, False),
    ("a private 192.168/16 address is refused in production", "192.168.1.10", False, False),
    ("a private 172.16/12 address is refused in production", "172.20.0.5", False, False),
    ("a shared 100.64/10 address is refused in production", "100.64.0.1", False, False),
    ("a unique-local IPv6 address is refused in production", "fd00::1", False, False),
    ("loopback mapped into IPv6 is refused in production", "::ffff:127.0.0.1", False, False),
    ("the cloud metadata address is refused in production", "169.254.169.254", False, False),
    ("the cloud metadata address is refused in development", "169.254.169.254", True, False),
    ("an IPv6 link-local address is refused in development", "fe80::1", True, False),
    ("the unspecified address is refused in development", "0.0.0.0", True, False),
    ("a multicast address is refused in development", "224.0.0.1", True, False),
    ("loopback is allowed in development", "127.0.0.1", True, True),
    ("a private address is allowed in development", "10.1.2.3", True, True),
]


@pytest.mark.parametrize(
    ("address", "development", "allowed"),
    [a[1:] for a in ADDRESSES],
    ids=[a[0] for a in ADDRESSES],
)
def test_a_receiver_is_judged_by_every_address_it_resolves_to(
    address: str, development: bool, allowed: bool
) -> None:
    assert (webhooks.address_problem(address, development) is None) is allowed
    assert (webhooks.addresses_problem(["93.184.216.34", address], development) is None) is allowed


def test_a_host_that_does_not_resolve_is_refused() -> None:
    assert webhooks.addresses_problem([], False) == "The receiver's host does not resolve."


def signed(
    secret: str, body: bytes, message_id: str = "msg_1", stamp: int | None = None
) -> dict[str, str]:
    stamp = stamp if stamp is not None else int(datetime.now(UTC).timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": webhooks.signature_header([secret], message_id, stamp, body),
    }


def test_a_signature_verifies_with_the_standardwebhooks_package() -> None:
    secret, body = webhooks.new_secret(), b'{"type":"milestone_reached"}'
    assert Webhook(secret).verify(body, signed(secret, body)) == {"type": "milestone_reached"}


Change = Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]]
# (sentence, how the delivery is changed after signing)
TAMPERED = [
    ("another body does not verify", lambda h, b: (h, b + b" ")),
    ("another id does not verify", lambda h, b: ({**h, "webhook-id": "msg_2"}, b)),
    (
        "another timestamp does not verify",
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) - 1)}, b),
    ),
]


@pytest.mark.parametrize("change", [t[1] for t in TAMPERED], ids=[t[0] for t in TAMPERED])
def test_a_changed_delivery_does_not_verify(change: Change) -> None:
    secret, body = webhooks.new_secret(), b"{}"
    headers, sent = change(signed(secret, body), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(sent, headers)


def test_a_signature_matches_the_specification_by_hand() -> None:
    """HMAC-SHA256 of "{id}.{timestamp}.{body}" under the base64 key after `whsec_`."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    expected = Webhook(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", NOW, b'{"test": 2432232314}')
    stamp = int(NOW.timestamp())
    body = b'{"test": 2432232314}'
    assert webhooks.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", stamp, body) == expected


# (sentence, hours since the rotation, secrets that sign)
ROTATION = [
    ("right after a rotation both secrets sign", 0, ["new", "old"]),
    ("23 hours after a rotation both secrets sign", 23, ["new", "old"]),
    ("24 hours after a rotation only the new secret signs", 24, ["new"]),
]


@pytest.mark.parametrize(
    ("hours", "signing"), [r[1:] for r in ROTATION], ids=[r[0] for r in ROTATION]
)
def test_both_secrets_sign_for_24_hours_after_a_rotation(hours: int, signing: list[str]) -> None:
    until = NOW + webhooks.ROTATION_OVERLAP
    now = NOW + timedelta(hours=hours)
    assert webhooks.signing_secrets("new", "old", until, now) == signing


def test_during_a_rotation_a_receiver_with_either_secret_verifies() -> None:
    new, old, body = webhooks.new_secret(), webhooks.new_secret(), b"{}"
    stamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": webhooks.signature_header([new, old], "msg_1", stamp, body),
    }
    for secret in (new, old):
        Webhook(secret).verify(body, headers)


# (sentence, failing since hours ago or None, disabled after hours, disabled)
DISABLING = [
    ("a subscription that has not failed stays active", None, 72, False),
    ("one failing for two days stays active", 48, 72, False),
    ("one failing for three days is disabled", 72, 72, True),
    ("a shortened period disables sooner", 0.001, 0.0001, True),
]


@pytest.mark.parametrize(
    ("since", "after", "disabled"), [d[1:] for d in DISABLING], ids=[d[0] for d in DISABLING]
)
def test_a_subscription_failing_for_the_whole_period_is_disabled_with_why(
    since: float | None, after: float, disabled: bool
) -> None:
    failing_since = None if since is None else NOW - timedelta(hours=since)
    reason = webhooks.disable_reason(failing_since, NOW, after * 3600)
    assert (reason is not None) is disabled
    if reason:
        assert "no delivery succeeded" in reason


def test_the_delivery_id_is_the_same_for_one_event_and_subscription_and_differs_otherwise() -> None:
    first = webhooks.delivery_id("s-1", "e-1")
    assert first == webhooks.delivery_id("s-1", "e-1") and first.startswith("msg_")
    assert len({first, webhooks.delivery_id("s-2", "e-1"), webhooks.delivery_id("s-1", "e-2")}) == 3


PERSONAL = {"reflection", "action_taken", "acknowledged_by", "items", "given_name", "reason"}
# (sentence, kind, event data, the payload's data besides event and client ids)
PAYLOADS = [
    (
        "a milestone carries its id, rule, title, time and source",
        "milestone_reached",
        {
            "milestone_id": "m-1",
            "rule": "first_goal",
            "title": "First goal set",
            "reached_at": "2026-12-01T00:00:00+00:00",
            "source_service": "goals",
            "source_event_id": "e-0",
        },
        {
            "milestone_id": "m-1",
            "rule": "first_goal",
            "title": "First goal set",
            "reached_at": "2026-12-01T00:00:00+00:00",
            "source_event_id": "e-0",
        },
    ),
    (
        "an acknowledged alert carries its id and when, never what was done nor by whom",
        "alert_acknowledged",
        {"alert_id": "a-1", "acknowledged_by": {"role": "therapist"}, "action_taken": "called"},
        {"alert_id": "a-1", "acknowledged_at": NOW.isoformat()},
    ),
    (
        "a session carries its date, attendance and scores, never the client's reflection",
        "session_recorded",
        {
            "session_id": "s-1",
            "date": "2026-12-01",
            "attended": True,
            "reflection": "enc:v2:…",
            "measures": [{"instrument": "PHQ-9", "items": [1] * 9, "total": 9, "band": "mild"}],
        },
        {
            "session_id": "s-1",
            "date": "2026-12-01",
            "attended": True,
            "measures": [{"instrument": "PHQ-9", "total": 9, "band": "mild"}],
        },
    ),
]


@pytest.mark.parametrize(
    ("kind", "data", "carried"), [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS]
)
def test_a_payload_carries_ids_kinds_titles_times_and_scores_never_a_personal_field(
    kind: str, data: dict[str, Any], carried: dict[str, Any]
) -> None:
    body = webhooks.payload(kind, "e-9", "c-1", NOW, data)
    assert body == {
        "type": kind,
        "timestamp": NOW.isoformat(),
        "data": {"event_id": "e-9", "client_id": "c-1", **carried},
    }
    assert not PERSONAL & set(json.dumps(body).replace('"', " ").split())


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("waypoint.progress.milestone_reached.v1", "milestone_reached"),
        ("waypoint.progress.alert_raised.v1", "alert_raised"),
        ("waypoint.progress.course_outcome_recorded.v1", None),
        ("waypoint.goals.goal_achieved.v1", None),
    ],
    ids=[
        "a milestone is sent",
        "an alert is sent",
        "a course outcome is not among the kinds",
        "another service's event is not sent",
    ],
)
def test_only_the_subscribable_kinds_of_progress_are_sent(
    event_type: str, kind: str | None
) -> None:
    assert webhooks.event_kind(event_type) == kind
