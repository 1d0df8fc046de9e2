"""The suite's own FHIR definitions: a CodeSystem for each set of local codes the services emit,
the screening Questionnaires, and the StructureDefinitions of the extensions intake puts on an
EpisodeOfCare. Every base serves the CodeSystems (`/fhir/CodeSystem`); intake also serves the
Questionnaires and the extensions. `all()` is the list a validator takes to resolve the suite's
codes and canonicals.

Each CodeSystem is built from the table the services code from (the instruments and band table,
the event catalog's enumerations), so a code cannot be emitted that its CodeSystem lacks.
"""

from __future__ import annotations

from typing import Any

from waypoint_shared.catalog.events.common import MODALITIES
from waypoint_shared.catalog.events.intake import AGE_GROUPS, CONSENT_KINDS, ENDING_REASONS
from waypoint_shared.catalog.instruments import BANDS, INSTRUMENTS, MEASURES_SYSTEM, Instrument
from waypoint_shared.catalog.questionnaires import PANELS, SUITE, questionnaire

VERSION = "1.0.0"
PUBLISHER = "Waypoint"
KIND_PROPERTY = {
    "code": "kind",
    "description": "measure: an instrument's total score; band: a band of a measure's total",
    "type": "code",
}
INSTRUMENT_PROPERTY = {
    "code": "instrument",
    "description": "the instrument whose total the band is of",
    "type": "string",
}


def code_system_url(name: str) -> str:
    return f"{SUITE}/CodeSystem/{name}"


def _code_system(
    name: str, title: str, description: str, concepts: list[dict[str, Any]], **more: Any
) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": name,
        "url": code_system_url(name),
        "version": VERSION,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "title": title,
        "status": "active",
        "publisher": PUBLISHER,
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        **more,
        "concept": concepts,
    }


def _concept(code: str, display: str, definition: str | None = None) -> dict[str, Any]:
    return {"code": code, "display": display, **({"definition": definition} if definition else {})}


def _words(code: str) -> str:
    """`ended_early_by_client` → `Ended early by client`."""
    return code.replace("_", " ").capitalize()


def measures() -> dict[str, Any]:
    """The measures without a LOINC code (ORS, SRS) and the bands of every measure's total."""
    local = [i for i in INSTRUMENTS.values() if i.coding.system == MEASURES_SYSTEM]
    concepts = [
        {
            **_concept(i.coding.code, i.coding.display, _range(i)),
            "property": [{"code": "kind", "valueCode": "measure"}],
        }
        for i in local
    ]
    concepts += [
        {
            **_concept(b.code, b.as_fhir()["display"], b.definition),
            "property": [
                {"code": "kind", "valueCode": "band"},
                {"code": "instrument", "valueString": b.instrument},
            ],
        }
        for bands in BANDS.values()
        for b in bands
    ]
    return _code_system(
        "measures",
        "Waypoint measures and bands",
        "Measures the suite records that have no LOINC code (ORS, SRS), and the bands of each "
        "measure's total that Observation.interpretation names.",
        concepts,
        property=[KIND_PROPERTY, INSTRUMENT_PROPERTY],
    )


def _range(measure: Instrument) -> str:
    better = "higher" if measure.direction == "up" else "lower"
    return f"{measure.name} total, {measure.minimum:g} to {measure.maximum:g}; {better} is better"


CONSENT_KIND_MEANINGS = {
    "treatment": "Consent to treatment",
    "confidentiality": "Agreement to the limits of confidentiality",
    "data_sharing": "Consent to share data",
}
AGE_GROUP_MEANINGS = {
    "child": "Under 13 on the referral day",
    "adolescent": "13 to 17 on the referral day",
    "adult": "18 or over on the referral day",
}
# ENDCODE: the NHS Talking Therapies Data Set ending codes each reason stands for.
ENDING_REASON_MEANINGS = {
    "completed_treatment": "Mutually agreed completion of treatment (ENDCODE 46)",
    "ended_early_by_client": "Treatment ended earlier than the care professional planned "
    "(ENDCODE 47)",
    "ended_early_by_service": "Treatment ended earlier than the patient requested (ENDCODE 48)",
    "referred_elsewhere": "Referred to another therapy service by mutual agreement (ENDCODE 13)",
    "declined_treatment": "Suitable for the service, but the patient declined the treatment "
    "offered (ENDCODE 14)",
    "not_suitable": "Not suitable for the service (ENDCODE 10, 11)",
    "assessment_incomplete": "Incomplete assessment: the patient dropped out (ENDCODE 16)",
    "advice_and_support_only": "Discharged by mutual agreement following advice and support "
    "(ENDCODE 12)",
    "deceased": "Deceased (ENDCODE 17, 49)",
    "not_known": "Not known (ENDCODE 95, 96)",
}
MODALITY_DISPLAYS = {
    "cbt": "Cognitive behavioural therapy",
    "psychodynamic": "Psychodynamic therapy",
    "mindfulness": "Mindfulness-based therapy",
    "narrative": "Narrative therapy",
    "act": "Acceptance and commitment therapy",
    "dbt": "Dialectical behaviour therapy",
    "other": "Other",
}


def _enumerated(
    name: str, title: str, description: str, codes: tuple[str, ...], meanings: dict[str, str]
) -> dict[str, Any]:
    concepts = [_concept(code, _words(code), meanings[code]) for code in codes]
    return _code_system(name, title, description, concepts)


def code_systems() -> list[dict[str, Any]]:
    """Every CodeSystem of the suite's local codes."""
    modalities = [_concept(code, MODALITY_DISPLAYS[code]) for code in MODALITIES]
    return [
        measures(),
        _enumerated(
            "consent-kind",
            "Waypoint consent kinds",
            "What a client's consent is to (Consent.category).",
            CONSENT_KINDS,
            CONSENT_KIND_MEANINGS,
        ),
        _enumerated(
            "age-group",
            "Waypoint age groups",
            "The client's age group on the referral day (EpisodeOfCare extension age-group).",
            AGE_GROUPS,
            AGE_GROUP_MEANINGS,
        ),
        _enumerated(
            "ending-reason",
            "Waypoint ending reasons",
            "Why treatment ended, a documented subset of the NHS Talking Therapies Data Set "
            "ending codes (EpisodeOfCare extension ending-reason).",
            ENDING_REASONS,
            ENDING_REASON_MEANINGS,
        ),
        _code_system(
            "therapy-modality",
            "Waypoint therapy modalities",
            "The therapy modality a goal is worked on in (Goal.category).",
            modalities,
        ),
    ]


def questionnaires() -> list[dict[str, Any]]:
    return [questionnaire(panel) for panel in PANELS.values()]


# The EpisodeOfCare extensions: each a Coding of the suite's CodeSystem of the same name.
EXTENSIONS = {
    "age-group": "The client's age group on the referral day.",
    "ending-reason": "Why treatment ended (a subset of the NHS Talking Therapies ending codes).",
}


def structure_definitions() -> list[dict[str, Any]]:
    return [_extension(name, definition) for name, definition in EXTENSIONS.items()]


def _extension(name: str, definition: str) -> dict[str, Any]:
    url = f"{SUITE}/StructureDefinition/{name}"
    value = {
        "id": "Extension.value[x]",
        "path": "Extension.value[x]",
        "short": f"A code of {code_system_url(name)}",
        "min": 1,
        "type": [{"code": "Coding"}],
    }
    return {
        "resourceType": "StructureDefinition",
        "id": name,
        "url": url,
        "version": VERSION,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "status": "active",
        "publisher": PUBLISHER,
        "description": definition,
        "fhirVersion": "4.0.1",
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": "EpisodeOfCare"}],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {
            "element": [
                {"id": "Extension", "path": "Extension", "definition": definition, "max": "1"},
                {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
                {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
                value,
            ]
        },
    }


def all() -> list[dict[str, Any]]:
    """The suite's CodeSystems, Questionnaires and extension StructureDefinitions."""
    return [*code_systems(), *questionnaires(), *structure_definitions()]
