"""Intake's record as FHIR R4 resources, built as plain dicts (docs/architecture.md §8; the codes
are listed in docs/intake.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

from waypoint_intake.domain.client import Client
from waypoint_intake.entrypoints.client_schemas import is_language_tag
from waypoint_shared.catalog.fhir_definitions import code_system_url
from waypoint_shared.catalog.instruments import instrument, interpretation
from waypoint_shared.catalog.questionnaires import PANELS, loinc, questionnaire_response_items
from waypoint_shared.http import fhir

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SUITE = "https://waypoint.example/fhir"
BCP_47 = "urn:ietf:bcp:47"
# LOINC's code of a consent document, without a display: a receiver shows LOINC's own name.
CONSENT_DOCUMENT = loinc("59284-0")
# Confidentiality and data sharing are both about the client's privacy.
SCOPE_OF = {"treatment": "treatment", "confidentiality": "patient-privacy"}
# Referred and not yet through intake: planned; in treatment: active; discharged: finished.
EPISODE_STATUS = {"intake_complete": "active", "discharged": "finished"}


def patient(client: Client) -> dict[str, Any]:
    d = client.details
    names = [{"use": "official", "family": d["family_name"], "given": [d["given_name"]]}]
    if d.get("preferred_name"):
        names.append({"use": "usual", "given": [d["preferred_name"]]})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": client.client_id,
        "active": client.status != "discharged",
        "name": names,
        "birthDate": d["date_of_birth"],
    }
    telecom = [{"system": s, "value": d[s]} for s in ("email", "phone") if d.get(s)]
    if telecom:
        resource["telecom"] = telecom
    if d.get("external_id"):
        resource["identifier"] = [{"system": f"{SUITE}/sid/external-id", "value": d["external_id"]}]
    if d.get("preferred_language"):
        resource["communication"] = [
            {"language": _language(d["preferred_language"]), "preferred": True}
        ]
    return resource


def _language(stated: str) -> dict[str, Any]:
    """A BCP 47 coding; a language stored as free text before tags were required stays text."""
    if is_language_tag(stated):
        return {"coding": [{"system": BCP_47, "code": stated}]}
    return {"text": stated}


def consent(client_id: str, granted: dict[str, Any]) -> dict[str, Any]:
    kind = granted["kind"]
    scope = SCOPE_OF.get(kind, "patient-privacy")
    document = quote(f"{kind}/{granted['document_version']}")
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": str(uuid.uuid5(uuid.UUID(client_id), f"consent/{granted['version']}")),
        "status": "active" if granted["status"] == "active" else "inactive",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": scope}]},
        "category": [
            {"coding": [CONSENT_DOCUMENT]},
            {"coding": [{"system": code_system_url("consent-kind"), "code": kind}]},
        ],
        "patient": fhir.reference("Patient", client_id),
        "dateTime": granted["signed_at"],
        "performer": [{"display": granted["signed_by"]}],
        "policy": [{"uri": f"{SUITE}/consent-documents/{document}"}],
    }
    if granted.get("scopes"):
        # Scopes are the clinic's own words for the data that may be shared: text, not codes.
        scopes = [{"text": scope} for scope in granted["scopes"]]
        resource["provision"] = {"type": "permit", "code": scopes}
    return resource


def episode_of_care(client: Client) -> dict[str, Any]:
    """The client's one episode with the clinic: from the referral day to the discharge day, with
    the age group at referral and the ending reason as extensions."""
    resource: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": str(uuid.uuid5(uuid.UUID(client.client_id), "episode-of-care")),
        "status": EPISODE_STATUS.get(client.status, "planned"),
        "patient": fhir.reference("Patient", client.client_id),
    }
    period = {"start": client.details.get("referred_on"), "end": client.discharged_on}
    if any(period.values()):
        resource["period"] = {k: v for k, v in period.items() if v}
    extensions = [
        _suite_coding("age-group", client.details.get("age_group")),
        _suite_coding("ending-reason", client.ending_reason),
    ]
    if any(extensions):
        resource["extension"] = [e for e in extensions if e]
    return resource


def _suite_coding(name: str, code: str | None) -> dict[str, Any] | None:
    """An extension whose value is a code of the suite's code system of the same name."""
    if code is None:
        return None
    coding = {"system": code_system_url(name), "code": code}
    return {"url": f"{SUITE}/StructureDefinition/{name}", "valueCoding": coding}


def questionnaire_response(
    client_id: str, screening: dict[str, Any], authored: datetime
) -> dict[str, Any]:
    """The screening as answers to the suite's Questionnaire of its instrument."""
    name = screening["instrument"]
    return {
        "resourceType": "QuestionnaireResponse",
        "id": screening["screening_id"],
        "questionnaire": PANELS[name].canonical,
        "status": "completed",
        "subject": fhir.reference("Patient", client_id),
        "authored": authored.isoformat(),
        "item": questionnaire_response_items(name, screening["items"], screening["total"]),
    }


def observations(
    client_id: str, screening: dict[str, Any], recorded: datetime
) -> list[dict[str, Any]]:
    """The panel (item scores as components, the total as a member) and the total score, at the
    day the questionnaire was filled in (when it was recorded, for an undated screening)."""
    name, screening_id = screening["instrument"], screening["screening_id"]
    panel_codes = PANELS[name]
    total_id = str(uuid.uuid5(uuid.UUID(screening_id), "total"))
    common = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "subject": fhir.reference("Patient", client_id),
        "effectiveDateTime": screening.get("administered_on") or recorded.isoformat(),
        "derivedFrom": [fhir.reference("QuestionnaireResponse", screening_id)],
    }
    total = {
        **common,
        "id": total_id,
        "code": {"coding": [instrument(name).coding.as_fhir()]},
        "valueInteger": screening["total"],
        "interpretation": [interpretation(name, screening["severity"])],
    }
    panel = {
        **common,
        "id": str(uuid.uuid5(uuid.UUID(screening_id), "panel")),
        "code": {"coding": [loinc(panel_codes.panel, panel_codes.panel_display)]},
        "hasMember": [fhir.reference("Observation", total_id)],
        "component": [
            {"code": {"coding": [loinc(code)]}, "valueInteger": score}
            for (code, _text), score in zip(panel_codes.items, screening["items"], strict=True)
        ],
    }
    return [panel, total]
