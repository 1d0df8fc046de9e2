"""The screening questionnaires PHQ-9 and GAD-7 as the suite defines them for FHIR: one table of
their LOINC codes, and the `Questionnaire` each `QuestionnaireResponse` points to.

The Questionnaires are the suite's own (canonical URLs under the suite's base, with a version),
not LOINC's forms: their linkIds are ours, each item carries its LOINC question code, and each
answer is a choice of the LOINC answer list every PHQ-9 and GAD-7 item uses, weighted 0 to 3 by
the `ordinalValue` extension (the item score the suite stores). The total is a read-only item
calculated from those weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from waypoint_shared.catalog.instruments import LOINC, instrument

SUITE = "https://waypoint.example/fhir"
QUESTIONNAIRE_VERSION = "1.0.0"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
TOTAL = "total"  # the linkId of the total item
# The answers of every PHQ-9 and GAD-7 item (LOINC answer codes), in the order of their scores.
ANSWERS = (
    ("LA6568-5", "Not at all"),
    ("LA6569-3", "Several days"),
    ("LA6570-1", "More than half the days"),
    ("LA6571-9", "Nearly every day"),
)
COPYRIGHT = (
    "PHQ-9 and GAD-7: Copyright Pfizer Inc. Developed by Drs. Robert L. Spitzer, Janet B.W. "
    "Williams, Kurt Kroenke and colleagues, with an educational grant from Pfizer Inc. No "
    "permission required to reproduce, translate, display or distribute. This material contains "
    "content from LOINC (http://loinc.org), copyright Regenstrief Institute, Inc. and the LOINC "
    "Committee, available at no cost under the license at http://loinc.org/license."
)


@dataclass(frozen=True)
class Panel:
    """A screening instrument's questionnaire: LOINC panel code (and its LOINC display, where it
    was checked against LOINC; None where it was not), and each item's LOINC code and text."""

    instrument: str
    id: str  # the Questionnaire's id, the last segment of its canonical URL
    name: str  # a computable name
    panel: str
    panel_display: str | None
    items: tuple[tuple[str, str], ...]

    @property
    def url(self) -> str:
        return f"{SUITE}/Questionnaire/{self.id}"

    @property
    def canonical(self) -> str:
        """The versioned canonical a QuestionnaireResponse names."""
        return f"{self.url}|{QUESTIONNAIRE_VERSION}"

    @staticmethod
    def link_id(number: int) -> str:
        """The linkId of item `number` (1-based)."""
        return f"item-{number}"


PANELS: dict[str, Panel] = {
    p.instrument: p
    for p in (
        Panel(
            "PHQ-9",
            "phq-9",
            "PHQ9",
            "44249-1",
            "PHQ-9 quick depression assessment panel [Reported.PHQ]",
            (
                ("44250-9", "Little interest or pleasure in doing things"),
                ("44255-8", "Feeling down, depressed, or hopeless"),
                ("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
                ("44254-1", "Feeling tired or having little energy"),
                ("44251-7", "Poor appetite or overeating"),
                (
                    "44258-2",
                    "Feeling bad about yourself - or that you are a failure or have let yourself "
                    "or your family down",
                ),
                (
                    "44252-5",
                    "Trouble concentrating on things, such as reading the newspaper or watching "
                    "television",
                ),
                (
                    "44253-3",
                    "Moving or speaking so slowly that other people could have noticed. Or the "
                    "opposite - being so fidgety or restless that you have been moving around a "
                    "lot more than usual",
                ),
                (
                    "44260-8",
                    "Thoughts that you would be better off dead, or of hurting yourself in some "
                    "way",
                ),
            ),
        ),
        Panel(
            "GAD-7",
            "gad-7",
            "GAD7",
            "69737-5",
            None,
            (
                ("69725-0", "Feeling nervous, anxious or on edge"),
                ("68509-9", "Not being able to stop or control worrying"),
                ("69733-4", "Worrying too much about different things"),
                ("69734-2", "Trouble relaxing"),
                ("69735-9", "Being so restless that it is hard to sit still"),
                ("69689-8", "Becoming easily annoyed or irritable"),
                ("69736-7", "Feeling afraid as if something awful might happen"),
            ),
        ),
    )
}


def loinc(code: str, display: str | None = None) -> dict[str, str]:
    """A LOINC coding; the display only where it is LOINC's own."""
    return {"system": LOINC, "code": code, **({"display": display} if display else {})}


def answer(score: int) -> dict[str, Any]:
    """The LOINC answer coding of an item score 0 to 3, carrying the score as its weight."""
    code, display = ANSWERS[score]
    weight = {"url": ORDINAL_VALUE, "valueDecimal": score}
    return {"extension": [weight], **loinc(code, display)}


def questionnaire(panel: Panel) -> dict[str, Any]:
    """The suite's FHIR R4 Questionnaire of a screening instrument."""
    return {
        "resourceType": "Questionnaire",
        "id": panel.id,
        "url": panel.url,
        "version": QUESTIONNAIRE_VERSION,
        "name": panel.name,
        "title": panel.instrument,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "Waypoint",
        "description": f"The {panel.instrument} as Waypoint records it: over the last 2 weeks, "
        "how often the client was bothered by each problem, scored 0 to 3.",
        "copyright": COPYRIGHT,
        "code": [loinc(panel.panel, panel.panel_display)],
        "item": [
            *(_question(n, code, text) for n, (code, text) in enumerate(panel.items, start=1)),
            _total(panel),
        ],
    }


def _question(number: int, code: str, text: str) -> dict[str, Any]:
    return {
        "linkId": Panel.link_id(number),
        "code": [loinc(code)],
        "prefix": f"{number}.",
        "text": text,
        "type": "choice",
        "required": True,
        "answerOption": [{"valueCoding": answer(score)} for score in range(len(ANSWERS))],
    }


def _total(panel: Panel) -> dict[str, Any]:
    total = instrument(panel.instrument).coding
    weights = f"answer.value.extension('{ORDINAL_VALUE}').value"
    expression = f"%resource.item.where(linkId != '{TOTAL}').{weights}.sum()"
    return {
        "linkId": TOTAL,
        "code": [total.as_fhir()],
        "text": "Total score",
        "type": "integer",
        "readOnly": True,
        "extension": [
            {
                "url": CALCULATED,
                "valueExpression": {"language": "text/fhirpath", "expression": expression},
            }
        ],
    }


def questionnaire_response_items(instrument_name: str, items: list[int], total: int) -> list[Any]:
    """The answered items of a screening: each item score as its answer coding, then the total."""
    answers = [
        {"linkId": Panel.link_id(n), "answer": [{"valueCoding": answer(score)}]}
        for n, score in enumerate(items, start=1)
    ]
    if len(answers) != len(PANELS[instrument_name].items):
        raise ValueError(f"{instrument_name} has {len(PANELS[instrument_name].items)} items")
    return [*answers, {"linkId": TOTAL, "answer": [{"valueInteger": total}]}]
