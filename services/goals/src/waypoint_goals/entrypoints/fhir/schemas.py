"""Query schemas of goals' FHIR searches: a patient's goals, and their CarePlan."""

from __future__ import annotations

from waypoint_shared.http import fhir


class GoalSearchSchema(fhir.PatientSearchSchema):
    """Goal: by patient (the client)."""


class CarePlanSearchSchema(fhir.PatientSearchSchema):
    """CarePlan: by patient (the client); its goals come along as included entries."""
