"""Goal work follows what intake says: client known, consent not revoked, not discharged."""

from __future__ import annotations

import uuid

from flask import Flask

from waypoint_goals.adapters import eligibility

from .conftest import GoalsApi, Intake

CLIENT = {"role": "client", "id": "amara"}
TREATMENT = {"kind": "treatment", "document_version": "v3", "signed_at": "2025-01-02"}


def test_a_goal_may_be_proposed_before_any_treatment_consent_is_granted(
    api: GoalsApi, client_id: str
) -> None:
    assert api.propose(client_id).status_code == 201


def test_a_revoked_treatment_consent_stops_goal_work_and_says_why(
    api: GoalsApi, intake: Intake, client_id: str
) -> None:
    intake.tells("consent_granted", client_id, **TREATMENT, signed_by="sealed")
    agreed_later = api.propose(client_id).headers["Location"]
    intake.tells("consent_revoked", client_id, kind="treatment", reason="x", revoked_by="y")

    proposal = api.propose(client_id)
    agreement = api.post(f"{agreed_later}/agreement", {"agreed_by": CLIENT})

    for refused in (proposal, agreement):
        assert refused.status_code == 409
        assert refused.get_json()["reason"] == "treatment_consent_revoked"
        assert "treatment consent has been revoked" in refused.get_json()["detail"]
        assert "Retry-After" not in refused.headers


def test_revoking_another_kind_of_consent_does_not_stop_goal_work(
    api: GoalsApi, intake: Intake, client_id: str
) -> None:
    intake.tells("consent_revoked", client_id, kind="data_sharing", reason="x", revoked_by="y")

    assert api.propose(client_id).status_code == 201


def test_a_consent_granted_again_after_a_revocation_lets_goal_work_resume(
    api: GoalsApi, intake: Intake, client_id: str
) -> None:
    intake.tells("consent_revoked", client_id, kind="treatment", reason="x", revoked_by="y")
    intake.tells("consent_granted", client_id, **TREATMENT, signed_by="sealed")

    assert api.propose(client_id).status_code == 201


def test_a_discharged_client_gets_no_new_goal_work_but_goals_can_be_wound_down(
    api: GoalsApi, intake: Intake, client_id: str
) -> None:
    goal = api.propose(client_id).headers["Location"]
    intake.tells("intake_completed", client_id, therapist_id=str(uuid.uuid4()))
    intake.tells("client_discharged", client_id, reason="sealed")

    proposal = api.propose(client_id)
    agreement = api.post(f"{goal}/agreement", {"agreed_by": CLIENT})
    cancellation = api.post(f"{goal}/cancellation", {"reason": "treatment ended"})

    assert proposal.status_code == agreement.status_code == 409
    assert proposal.get_json()["reason"] == "discharged"
    assert "discharged" in agreement.get_json()["detail"]
    assert cancellation.status_code == 200


def test_the_view_records_intake_completion_and_the_therapist(
    app: Flask, intake: Intake, client_id: str
) -> None:
    therapist = str(uuid.uuid4())
    intake.tells("therapist_assigned", client_id, therapist_id=therapist)
    intake.tells("intake_completed", client_id, therapist_id=therapist)

    with app.extensions["waypoint"].engine.connect() as conn:
        known = eligibility.find(conn, "clinic-a", client_id)
    assert known is not None
    assert known.therapist_id == therapist
    assert known.intake_completed_at is not None
    assert known.discharged_at is None


def test_events_about_a_client_never_referred_change_nothing_and_it_stays_unknown(
    api: GoalsApi, intake: Intake
) -> None:
    client_id = str(uuid.uuid4())
    intake.tells("consent_granted", client_id, **TREATMENT, signed_by="sealed")

    response = api.propose(client_id)

    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"
