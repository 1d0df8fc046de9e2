"""Request and response schemas of the goals resource (goal and step shapes shared by the rest)."""

import datetime as dt
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from waypoint_shared.catalog import MODALITIES, PRIORITIES
from waypoint_shared.catalog.events.goals import (
    TARGET_DIRECTIONS,
    target_direction,
    target_problems,
)
from waypoint_shared.catalog.instruments import INSTRUMENTS
from waypoint_shared.catalog.instruments import NAMES as INSTRUMENT_NAMES
from waypoint_shared.http.ranges import clinical_date, query_time

TEXT = validate.Length(min=1, max=2000)
TEXTS = validate.Length(max=20)


class PartySchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(("client", "therapist")))
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))


def reason() -> fields.String:
    return fields.String(required=True, validate=TEXT)


def acting_party() -> fields.Nested:
    """Who acts, optional where the event itself names nobody: it goes to the audit trail."""
    return fields.Nested(PartySchema, metadata={"description": "who acts (audit trail)"})


def today() -> dt.date:
    """Today's date in UTC: the default of a clinical date left out."""
    return dt.datetime.now(dt.UTC).date()


def not_after_tomorrow(day: dt.date) -> None:
    """A day something happened is not after today; a day of slack covers time zones ahead."""
    if day > today() + dt.timedelta(days=1):
        raise ValidationError("Must not be more than one day after today (UTC).")


def day_it_happened(description: str) -> fields.Date:
    """An optional date of a clinical fact: today (UTC) when left out, never in the future."""
    field = clinical_date(load_default=today, metadata={"description": description})
    field.validators.append(not_after_tomorrow)
    return field


def target_shape(name: str) -> dict[str, Any]:
    """The document's shape of a target on one instrument: its score range and direction."""
    entry = INSTRUMENTS[name]
    return {
        "properties": {
            "instrument": {"const": name},
            "score": {"minimum": entry.minimum, "maximum": entry.maximum},
            "direction": {"const": target_direction(name)},
        }
    }


class TargetSchema(Schema):
    """A score to reach on an instrument; the direction follows from the instrument."""

    class Meta:
        json_schema = {"oneOf": [target_shape(name) for name in INSTRUMENT_NAMES]}

    instrument = fields.String(required=True, validate=validate.OneOf(INSTRUMENT_NAMES))
    score = fields.Float(
        required=True,
        metadata={
            "description": "within the instrument's range: PHQ-9 0-27, GAD-7 0-21, ORS/SRS 0-40"
        },
    )
    direction = fields.String(
        validate=validate.OneOf(TARGET_DIRECTIONS.values()),
        metadata={"description": "at_or_below (PHQ-9, GAD-7) or at_or_above (ORS, SRS); optional"},
    )

    @validates_schema
    def _fits_the_instrument(self, data: dict[str, Any], **_: Any) -> None:
        problems = target_problems(data)
        if problems:
            raise ValidationError(problems)

    @post_load
    def _with_direction(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "direction": target_direction(data["instrument"])}


class ProposalSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(validate=TEXT, allow_none=True)
    why_it_matters = fields.String(validate=TEXT, allow_none=True)
    strengths = fields.List(fields.String(validate=TEXT), validate=TEXTS, load_default=list)
    addresses = fields.List(fields.String(validate=TEXT), validate=TEXTS, load_default=list)
    modality = fields.String(required=True, validate=validate.OneOf(MODALITIES))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    target_date: fields.Field[Any] = clinical_date(allow_none=True)  # GoalSchema: a string
    target = fields.Nested(TargetSchema, allow_none=True)
    proposed_by = fields.Nested(PartySchema, required=True)


class AtLeastOneChange(Schema):
    class Meta:
        json_schema = {"minProperties": 1}

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Name at least one field to change.")


class GoalChangesSchema(AtLeastOneChange):
    """The revisable fields of a goal; who proposed it and its status are not among them."""

    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=TEXT, allow_none=True)
    why_it_matters = fields.String(validate=TEXT, allow_none=True)
    strengths = fields.List(fields.String(validate=TEXT), validate=TEXTS)
    addresses = fields.List(fields.String(validate=TEXT), validate=TEXTS)
    modality = fields.String(validate=validate.OneOf(MODALITIES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    target_date = clinical_date(allow_none=True)
    target = fields.Nested(TargetSchema, allow_none=True)


class GoalRevisionSchema(Schema):
    reason = reason()
    changes = fields.Nested(GoalChangesSchema, required=True)
    by = acting_party()


class StepSchema(Schema):
    step_id = fields.UUID(required=True)
    description = fields.String(required=True)
    due_date = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"description": "planned or completed"})
    note = fields.String(allow_none=True)
    completed_on = fields.String(allow_none=True)


class GoalSchema(ProposalSchema):
    goal_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)
    lifecycle_status = fields.String(required=True)
    achievement_status = fields.String(allow_none=True)
    latest_rating = fields.Integer(allow_none=True)
    agreed_by = fields.Nested(PartySchema, allow_none=True)
    agreed_on = fields.String(allow_none=True)
    target_met_at = fields.String(
        allow_none=True,
        metadata={"description": "the date of the session whose score met the target"},
    )
    target_met_score = fields.Float(
        allow_none=True, metadata={"description": "the score that met it"}
    )
    target_met_session_id = fields.UUID(allow_none=True)
    allowed_actions = fields.List(fields.String(), required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True)
    version = fields.Integer(required=True)
    target_date = fields.String(allow_none=True)


class AsOfSchema(Schema):
    class Meta:
        unknown = RAISE

    as_of = query_time(metadata={"description": "RFC 3339 time: the state then"})


class PageQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$"))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class HistoryItemSchema(Schema):
    version = fields.Integer(required=True)
    type = fields.String(required=True, metadata={"description": "catalog name, e.g. goal_agreed"})
    time = fields.AwareDateTime(required=True)
    actor = fields.Dict(required=True, metadata={"description": "calling system and person"})


class HistorySchema(Schema):
    goal_id = fields.UUID(required=True)
    items = fields.List(fields.Nested(HistoryItemSchema), required=True)
    next_cursor = fields.String(allow_none=True)
