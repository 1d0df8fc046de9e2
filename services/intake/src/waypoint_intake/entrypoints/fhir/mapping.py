"""Intake's record as FHIR R4 resources, built as plain dicts (docs/architecture.md §8; the codes
are listed in docs/intake.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

from waypoint_intake.domain.client import Client

LOINC = "http://loinc.org"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SUITE = "https://waypoint.example/fhir"
# Confidentiality and data sharing are both about the client's privacy.
SCOPE_OF = {"treatment": "treatment", "confidentiality": "patient-privacy"}
# Referred and not yet through intake: planned; in treatment: active; discharged: finished.
EPISODE_STATUS = {"intake_complete": "active", "discharged": "finished"}
PANELS = {
    "PHQ-9": {
        "panel": ("44249-1", "PHQ-9 quick depression assessment panel"),
        "total": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score"),
        "items": (
            *("44250-9", "44255-8", "44259-0", "44254-1", "44251-7"),
            *("44258-2", "44252-5", "44253-3", "44260-8"),
        ),
    },
    "GAD-7": {
        "panel": ("69737-5", "Generalized anxiety disorder 7 item (GAD-7)"),
        "total": ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score"),
        "items": ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
    },
}


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
        language = {"coding": [{"system": "urn:ietf:bcp:47", "code": d["preferred_language"]}]}
        resource["communication"] = [{"language": language, "preferred": True}]
    return resource


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
            {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]},
            {"coding": [{"system": f"{SUITE}/CodeSystem/consent-kind", "code": kind}]},
        ],
        "patient": {"reference": f"Patient/{client_id}"},
        "dateTime": granted["signed_at"],
        "performer": [{"display": granted["signed_by"]}],
        "policy": [{"uri": f"{SUITE}/consent-documents/{document}"}],
    }
    if granted.get("scopes"):
        purposes = [
            {"system": f"{SUITE}/CodeSystem/data-sharing-scope", "code": s}
            for s in granted["scopes"]
        ]
        resource["provision"] = {"type": "permit", "purpose": purposes}
    return resource


def episode_of_care(client: Client) -> dict[str, Any]:
    """The client's one episode with the clinic: from the referral day to the discharge day, with
    the age group at referral and the ending reason as extensions."""
    resource: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": str(uuid.uuid5(uuid.UUID(client.client_id), "episode-of-care")),
        "status": EPISODE_STATUS.get(client.status, "planned"),
        "patient": {"reference": f"Patient/{client.client_id}"},
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
    coding = {"system": f"{SUITE}/CodeSystem/{name}", "code": code}
    return {"url": f"{SUITE}/StructureDefinition/{name}", "valueCoding": coding}


def questionnaire_response(
    client_id: str, screening: dict[str, Any], authored: datetime
) -> dict[str, Any]:
    codes = PANELS[screening["instrument"]]
    answers = [
        {"linkId": code, "answer": [{"valueInteger": score}]}
        for code, score in zip(codes["items"], screening["items"], strict=True)
    ]
    total_code = codes["total"][0]
    return {
        "resourceType": "QuestionnaireResponse",
        "id": screening["screening_id"],
        "questionnaire": f"{LOINC}/q/{codes['panel'][0]}",
        "status": "completed",
        "subject": {"reference": f"Patient/{client_id}"},
        "authored": authored.isoformat(),
        "item": [
            *answers,
            {"linkId": total_code, "answer": [{"valueInteger": screening["total"]}]},
        ],
    }


def observations(
    client_id: str, screening: dict[str, Any], recorded: datetime
) -> list[dict[str, Any]]:
    """The panel (item scores as components, the total as a member) and the total score, at the
    day the questionnaire was filled in (when it was recorded, for an undated screening)."""
    codes, screening_id = PANELS[screening["instrument"]], screening["screening_id"]
    total_id = str(uuid.uuid5(uuid.UUID(screening_id), "total"))
    common = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "subject": {"reference": f"Patient/{client_id}"},
        "effectiveDateTime": screening.get("administered_on") or recorded.isoformat(),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{screening_id}"}],
    }
    total = {
        **common,
        "id": total_id,
        "code": _loinc(*codes["total"]),
        "valueInteger": screening["total"],
        "interpretation": [{"text": screening["severity"]}],
    }
    panel = {
        **common,
        "id": str(uuid.uuid5(uuid.UUID(screening_id), "panel")),
        "code": _loinc(*codes["panel"]),
        "hasMember": [{"reference": f"Observation/{total_id}"}],
        "component": [
            {"code": _loinc(code), "valueInteger": score}
            for code, score in zip(codes["items"], screening["items"], strict=True)
        ],
    }
    return [panel, total]


def _loinc(code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": LOINC, "code": code}
    return {"coding": [{**coding, "display": display} if display else coding]}


def searchset(resources: list[dict[str, Any]], base_url: str, self_url: str) -> dict[str, Any]:
    """A search result Bundle whose entries carry absolute fullUrls."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{base_url}fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
