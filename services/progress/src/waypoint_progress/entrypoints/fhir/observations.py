"""Session measures as FHIR R4 Observations (docs/architecture.md §8): LOINC for PHQ-9 and GAD-7
totals, the suite's own CodeSystem for ORS and SRS (they have no LOINC codes), category survey."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from waypoint_progress.domain.scoring import INSTRUMENTS
from waypoint_progress.domain.sources import SourceEvent

LOINC = "http://loinc.org"
MEASURES_SYSTEM = "https://waypoint.example/fhir/CodeSystem/measures"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
CODES = {
    "PHQ-9": (LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score"),
    "GAD-7": (LOINC, "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score"),
    "ORS": (MEASURES_SYSTEM, "ORS", "Outcome Rating Scale total score"),
    "SRS": (MEASURES_SYSTEM, "SRS", "Session Rating Scale total score"),
}


def observation_id(session_id: str, instrument: str) -> str:
    return f"{session_id}-{instrument.lower()}"


def observations(client_id: str, sessions: Sequence[SourceEvent]) -> list[dict[str, Any]]:
    return [
        observation(client_id, session, measure)
        for session in sessions
        for measure in session.facts["measures"]
    ]


def observation(client_id: str, session: SourceEvent, measure: Mapping[str, Any]) -> dict[str, Any]:
    instrument = measure["instrument"]
    system, code, display = CODES[instrument]
    return {
        "resourceType": "Observation",
        "id": observation_id(session.facts["session_id"], instrument),
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {
            "coding": [{"system": system, "code": code, "display": display}],
            "text": instrument,
        },
        "subject": {"reference": f"Patient/{client_id}"},
        "effectiveDateTime": session.facts["date"],
        "issued": session.occurred_at.isoformat(),
        **_value(instrument, measure["total"]),
        **({"interpretation": [{"text": measure["band"]}]} if measure.get("band") else {}),
    }


def _value(instrument: str, total: float) -> dict[str, Any]:
    if INSTRUMENTS[instrument].integer:
        return {"valueInteger": int(total)}
    return {"valueQuantity": {"value": total, "unit": "score", "system": UCUM, "code": "{score}"}}


def searchset(base_url: str, resources: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{base_url}fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
