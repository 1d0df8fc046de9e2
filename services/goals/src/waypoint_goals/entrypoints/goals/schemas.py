"""Request and response schemas of the goals resource (goal and step shapes shared by the rest)."""

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from waypoint_shared.catalog import MODALITIES, PRIORITIES
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


class TargetSchema(Schema):
    instrument = fields.String(
        required=True, validate=validate.OneOf(("PHQ-9", "GAD-7", "ORS", "SRS"))
    )
    below = fields.Float(required=True, validate=validate.Range(min=0, max=40))


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


class GoalSchema(ProposalSchema):
    goal_id = fields.UUID(required=True)
    client_id = fields.UUID(required=True)
    lifecycle_status = fields.String(required=True)
    achievement_status = fields.String(allow_none=True)
    latest_rating = fields.Integer(allow_none=True)
    agreed_by = fields.Nested(PartySchema, allow_none=True)
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
