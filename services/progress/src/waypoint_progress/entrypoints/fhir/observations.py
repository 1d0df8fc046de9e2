"""Session measures as FHIR R4 Observations (docs/architecture.md §8), category survey. Each total
is coded as the shared instruments table codes it: LOINC for PHQ-9 and GAD-7, the suite's
CodeSystem of measures for ORS and SRS (they have no LOINC codes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from waypoint_progress.domain.scoring import INSTRUMENTS
from waypoint_progress.domain.sources import SourceEvent
from waypoint_shared.catalog.instruments import instrument as instrument_entry
from waypoint_shared.catalog.instruments import interpretation
from waypoint_shared.http import fhir

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
# A session's Observations by what corrected it last (`domain/corrections.py`).
STATUS = {None: "final", "amended": "amended", "entered_in_error": "entered-in-error"}


def observation_id(session_id: str, instrument: str) -> str:
    return f"{session_id}-{instrument.lower()}"


def observations(client_id: str, sessions: Sequence[SourceEvent]) -> list[dict[str, Any]]:
    """Each session's measures, last changed when the session was recorded or corrected; an
    instrument an amendment dropped stays, entered in error."""
    return [
        fhir.recorded(observation(client_id, session, measure, status), session.recorded)
        for session in sessions
        for measures, status in (
            (session.facts["measures"], STATUS[session.facts.get("correction")]),
            (session.facts.get("measures_withdrawn", []), STATUS["entered_in_error"]),
        )
        for measure in measures
    ]


def observation(
    client_id: str, session: SourceEvent, measure: Mapping[str, Any], status: str = "final"
) -> dict[str, Any]:
    instrument = measure["instrument"]
    return {
        "resourceType": "Observation",
        "id": observation_id(session.facts["session_id"], instrument),
        "status": status,
        "category": [{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {
            "coding": [instrument_entry(instrument).coding.as_fhir()],
            "text": instrument,
        },
        "subject": fhir.reference("Patient", client_id),
        "effectiveDateTime": session.facts["date"],
        "issued": session.recorded.isoformat(),
        **_value(instrument, measure["total"]),
        **_interpretation(instrument, measure.get("band")),
    }


def _interpretation(instrument: str, band: str | None) -> dict[str, Any]:
    """The band, coded in the suite's CodeSystem of measures, with its name as text."""
    return {"interpretation": [interpretation(instrument, band)]} if band else {}


def _value(instrument: str, total: float) -> dict[str, Any]:
    if INSTRUMENTS[instrument].integer:
        return {"valueInteger": int(total)}
    return {"valueQuantity": {"value": total, "unit": "score", "system": UCUM, "code": "{score}"}}
