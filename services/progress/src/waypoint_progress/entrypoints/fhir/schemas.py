"""Query schemas of progress's FHIR searches."""

from __future__ import annotations

from waypoint_shared.http import fhir


class ObservationSearchSchema(fhir.PatientSearchSchema):
    """Observation: a client's session measures, by patient (or subject), code and date."""

    subject = fhir.patient_param("The client, as `patient`")
    code = fhir.token_param(
        "The instrument's code (LOINC for PHQ-9 and GAD-7, the suite's measures for ORS and "
        "SRS), `system|code` or `code`"
    )
    date = fhir.date_param("The session's date (effectiveDateTime)")
