"""Query schemas of intake's FHIR searches: each names the patient (the client), and the
parameters FHIR R4 defines for its resource type that intake answers."""

from __future__ import annotations

from waypoint_shared.http import fhir


class PatientSearchSchema(fhir.PatientSearchSchema):
    """EpisodeOfCare and Consent: by patient, and `date` (the period; the day signed)."""

    date = fhir.date_param("The episode's period, or the day the consent was signed")


class QuestionnaireResponseSearchSchema(fhir.PatientSearchSchema):
    subject = fhir.patient_param("The client, as `patient`")
    authored = fhir.date_param("When the questionnaire was filled in")


class ObservationSearchSchema(fhir.PatientSearchSchema):
    subject = fhir.patient_param("The client, as `patient`")
    code = fhir.token_param("The LOINC code of the panel or total, `system|code` or `code`")
    date = fhir.date_param("The day the questionnaire was filled in (effectiveDateTime)")
