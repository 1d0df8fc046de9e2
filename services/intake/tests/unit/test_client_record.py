"""The client record decides each intake step: completion requirements, the consent
lifecycle, corrections that keep the old values, and a closed record after discharge."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from waypoint_intake.domain.client import Client
from waypoint_intake.domain.errors import IntakeIncomplete, InvalidRequest, Refused
from waypoint_intake.domain.events import (
    ClientDetailsCorrected,
    ConsentRevoked,
    RiskFlagged,
    ScreeningRecorded,
    TherapistAssigned,
)

TODAY = date(2025, 3, 1)
SIGNED = {"document_version": "2025-01", "signed_by": "Amara Osei", "signed_at": "2025-02-01"}


def a_client() -> Client:
    client_id = str(uuid.uuid4())
    referred = Client.refer(
        client_id, TODAY, given_name="Amara", family_name="Osei", date_of_birth="1992-06-30"
    )
    return Client.rebuilt(client_id, [referred])


def act(client: Client, events: list[object]) -> Client:
    for event in events:
        client.apply(event)
    return client


def grant(client: Client, kind: str, **extra: Any) -> Client:
    return act(client, client.grant_consent(kind, **{**SIGNED, **extra}))


def ready_to_complete() -> Client:
    client = grant(a_client(), "treatment")
    grant(client, "confidentiality", limits_acknowledged=True)
    act(client, client.record_screening(str(uuid.uuid4()), "GAD-7", [1] * 7, TODAY))
    return act(client, client.assign_therapist(str(uuid.uuid4())))


def test_completion_lists_every_missing_requirement_of_a_new_referral() -> None:
    with pytest.raises(IntakeIncomplete) as refused:
        a_client().complete_intake()

    assert refused.value.missing == [
        "treatment_consent",
        "confidentiality_consent",
        "baseline_screening",
        "therapist",
    ]


def test_completion_is_refused_until_both_consents_are_active() -> None:
    client = ready_to_complete()
    act(client, client.revoke_consent("confidentiality", "moving away", "Amara Osei"))

    with pytest.raises(IntakeIncomplete) as refused:
        client.complete_intake()

    assert refused.value.missing == ["confidentiality_consent"]


def test_completion_succeeds_when_consents_baseline_and_therapist_are_in_place() -> None:
    client = ready_to_complete()

    act(client, client.complete_intake())

    assert client.status == "intake_complete"
    assert client.missing_requirements() == []


def test_intake_cannot_be_completed_twice() -> None:
    client = ready_to_complete()
    act(client, client.complete_intake())

    with pytest.raises(Refused):
        client.complete_intake()


def test_confidentiality_needs_its_limits_acknowledged() -> None:
    with pytest.raises(InvalidRequest) as refused:
        a_client().grant_consent("confidentiality", **SIGNED)

    assert "limits_acknowledged" in refused.value.errors


def test_data_sharing_needs_scopes_and_only_data_sharing_carries_them() -> None:
    with pytest.raises(InvalidRequest):
        a_client().grant_consent("data_sharing", **SIGNED)
    with pytest.raises(InvalidRequest):
        a_client().grant_consent("treatment", **SIGNED, scopes=["research"])

    client = grant(a_client(), "data_sharing", scopes=["gp-letters"])
    consent = client.active_consent("data_sharing")
    assert consent is not None and consent["scopes"] == ["gp-letters"]


def test_a_revoked_consent_is_no_longer_active_and_keeps_why() -> None:
    client = grant(a_client(), "treatment")

    [revoked] = client.revoke_consent("treatment", "wants a break", "Amara Osei")
    act(client, [revoked])

    assert isinstance(revoked, ConsentRevoked)
    assert client.active_consent("treatment") is None
    assert client.consents[0]["status"] == "revoked"
    assert client.consents[0]["revocation_reason"] == "wants a break"
    assert not client.in_active_care


def test_only_an_active_consent_can_be_revoked() -> None:
    with pytest.raises(Refused):
        a_client().revoke_consent("treatment", "never given", "Amara Osei")


def test_granting_again_supersedes_the_earlier_grant_of_that_kind() -> None:
    client = grant(a_client(), "treatment")

    grant(client, "treatment", document_version="2025-06")

    assert [c["status"] for c in client.consents] == ["superseded", "active"]
    consent = client.active_consent("treatment")
    assert consent is not None and consent["document_version"] == "2025-06"


def test_a_correction_records_only_what_changes_with_the_values_before() -> None:
    client = a_client()

    [corrected] = client.correct({"given_name": "Amara", "family_name": "Osei-Mensah"})

    assert isinstance(corrected, ClientDetailsCorrected)
    assert corrected.changed_fields == ["family_name"]
    assert corrected.changes == {"family_name": {"before": "Osei", "after": "Osei-Mensah"}}
    act(client, [corrected])
    assert client.details["family_name"] == "Osei-Mensah"


def test_a_correction_that_changes_nothing_records_nothing() -> None:
    assert a_client().correct({"given_name": "Amara"}) == []


def test_a_phq9_with_item_9_above_zero_raises_a_risk_flag_in_the_same_step() -> None:
    client = a_client()

    recorded, flagged = client.record_screening("s-1", "PHQ-9", [0] * 8 + [1], TODAY)

    assert isinstance(recorded, ScreeningRecorded)
    assert (recorded.total, recorded.severity) == (1, "minimal")
    assert flagged == RiskFlagged(client.client_id, "s-1", "PHQ-9", 9, 1)


def test_reassigning_names_the_previous_therapist_and_the_same_one_records_nothing() -> None:
    client = a_client()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    act(client, client.assign_therapist(first))

    assert client.assign_therapist(first) == []
    assert client.assign_therapist(second) == [TherapistAssigned(client.client_id, second, first)]


def test_a_discharged_clients_record_is_closed_to_changes() -> None:
    client = a_client()
    act(client, client.discharge("completed_treatment", TODAY, reason="treatment finished"))

    assert client.status == "discharged"
    with pytest.raises(Refused):
        client.grant_consent("treatment", **SIGNED)
    with pytest.raises(Refused):
        client.discharge("completed_treatment", TODAY)
