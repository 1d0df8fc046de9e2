"""Request and response schemas of the sessions resource."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from waypoint_progress.domain import scoring, sessions
from waypoint_shared.http.ranges import clinical_date, query_time

INSTRUMENT = validate.OneOf(tuple(scoring.INSTRUMENTS))
# Some character other than whitespace (Python's, named one by one: JSON Schema's \s differs).
_WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"^[\s\S]*[^{_WHITESPACE}]"


def item_shape(instrument: scoring.Instrument) -> dict[str, Any]:
    """The document's shape of one item score of an instrument (scoring's own rule)."""
    if instrument.integer:
        return {"type": "integer", "minimum": 0, "maximum": instrument.highest}
    # Every mark named: `multipleOf: 0.1` is read differently by validators (0.3 / 0.1 in floats).
    marks = round(instrument.highest * 10)
    return {"type": "number", "enum": [round(n / 10, 1) for n in range(marks + 1)]}


def measure_shape(instrument: scoring.Instrument) -> dict[str, Any]:
    """The document's shape of a measure on one instrument: its item count and item scores."""
    items = {"minItems": instrument.items, "maxItems": instrument.items}
    return {
        "properties": {
            "instrument": {"const": instrument.name},
            "items": {**items, "items": item_shape(instrument)},
        }
    }


def at_most_once(instrument: str) -> dict[str, Any]:
    """The document's rule that a session's measures name an instrument at most once."""
    return {
        "contains": {"properties": {"instrument": {"const": instrument}}},
        "minContains": 0,
        "maxContains": 1,
    }


class MeasureInputSchema(Schema):
    class Meta:
        json_schema = {"oneOf": [measure_shape(i) for i in scoring.INSTRUMENTS.values()]}

    instrument = fields.String(required=True, validate=INSTRUMENT)
    # Raw: the domain says what fits (1.5 is no whole number; 1.0 is the number 1).
    items = fields.List(fields.Raw(), required=True, validate=validate.Length(max=20))

    @validates_schema
    def items_fit_the_instrument(self, data: dict[str, Any], **_: Any) -> None:
        problems = scoring.item_problems(data["instrument"], data["items"])
        if problems:
            raise ValidationError(problems, "items")


class MeasuresInputSchema(Schema):
    """A body carrying a session's measures: each instrument at most once."""

    @validates_schema
    def one_score_per_instrument(self, data: dict[str, Any], **_: Any) -> None:
        instruments = [m["instrument"] for m in data.get("measures", [])]
        if len(set(instruments)) != len(instruments):
            raise ValidationError(["Each instrument at most once per session."], "measures")


def measures_input(**options: Any) -> fields.List[Any]:
    once = {"allOf": [at_most_once(name) for name in scoring.INSTRUMENTS]}
    metadata = {**options.pop("metadata", {}), **once}
    return fields.List(
        fields.Nested(MeasureInputSchema),
        validate=validate.Length(max=4),
        metadata=metadata,
        **options,
    )


def reason_input(what: str) -> fields.String:
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=2000),
            validate.Regexp(NOT_BLANK, error="Must not be blank."),
        ],
        metadata={"description": f"Why the session is {what} (personal: sealed at rest)"},
    )


class SessionInputSchema(MeasuresInputSchema):
    class Meta:
        # measures_only_when_attended, stated in the document: a missed session has no measures
        # (if/then: openapi-python-client cannot generate a boolean `const` or `enum` in a union)
        json_schema = {
            "if": {"properties": {"attended": {"const": False}}, "required": ["attended"]},
            "then": {"properties": {"measures": {"maxItems": 0}}},
        }

    date = clinical_date(
        required=True,
        metadata={
            "description": "The day the session was held: at most one day after today (UTC),"
            " not before the client's referral"
        },
    )
    attended = fields.Boolean(
        required=True, metadata={"description": "false for a missed session: it has no measures"}
    )
    measures = measures_input(
        load_default=list, metadata={"description": "Taken in an attended session only"}
    )
    reflection = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=4000),
        metadata={"description": "The client's own words (personal: sealed at rest)"},
    )

    @validates("date")
    def not_after_tomorrow(self, day: dt.date, **_: Any) -> None:
        problems = sessions.date_problems(day, dt.datetime.now(dt.UTC).date())
        if problems:
            raise ValidationError(problems)

    @validates_schema
    def measures_only_when_attended(self, data: dict[str, Any], **_: Any) -> None:
        problems = sessions.measures_problems(data["attended"], data.get("measures", []))
        if problems:
            raise ValidationError(problems, "measures")


class AmendmentSchema(MeasuresInputSchema):
    measures = measures_input(
        required=True,
        metadata={
            "description": "The session's measures as they should have been recorded: they"
            " replace those recorded (an attended session only; [] for none)"
        },
    )
    reason = reason_input("amended")


class EnteredInErrorSchema(Schema):
    reason = reason_input("entered in error")


class MeasureSchema(Schema):
    instrument = fields.String(required=True)
    items = fields.List(fields.Raw(), required=True)
    total = fields.Raw(required=True)
    band = fields.String(required=True)


class RaisedAlertSchema(Schema):
    alert_id = fields.UUID(required=True)
    rule = fields.String(required=True)
    title = fields.String(required=True)
    raised_at = fields.String(required=True)


class SessionSchema(Schema):
    client_id = fields.UUID(required=True)
    session_id = fields.UUID(required=True)
    date = fields.String(required=True)
    attended = fields.Boolean(required=True)
    measures = fields.List(fields.Nested(MeasureSchema), required=True)
    reflection = fields.String(allow_none=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(("recorded", "amended", "entered_in_error")),
        metadata={
            "description": "recorded; amended (its measures corrected, see the client's"
            " history); entered_in_error (counts for nothing derived)"
        },
    )
    alerts = fields.List(
        fields.Nested(RaisedAlertSchema),
        metadata={"description": "Alerts this session raised at once (risk flag, alliance)"},
    )
    version = fields.Integer(required=True)


class AsOfSchema(Schema):
    class Meta:
        unknown = RAISE

    as_of = query_time(metadata={"description": "RFC 3339 time: the state then"})


class HistoryEntrySchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(
        required=True,
        metadata={
            "description": "session_recorded, session_amended, session_entered_in_error or"
            " alert_acknowledged"
        },
    )
    recorded_at = fields.String(required=True)
    version = fields.Integer(required=True)
    actor = fields.Dict(required=True, metadata={"description": "Who recorded it"})
    session_id = fields.UUID()
    date = fields.String()
    attended = fields.Boolean()
    measures = fields.List(
        fields.Nested(MeasureSchema),
        metadata={"description": "As recorded, or as an amendment replaced them"},
    )
    reason = fields.String(
        metadata={"description": "Why the session was amended or entered in error"}
    )
    alert_id = fields.UUID()


class HistoryPageSchema(Schema):
    items = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    next_cursor = fields.String(allow_none=True)
