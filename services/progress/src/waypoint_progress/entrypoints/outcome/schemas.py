"""Response schemas of a client's course outcome and end-of-treatment summary."""

from marshmallow import Schema, fields, validate

from waypoint_progress.entrypoints.timeline.schemas import EntrySchema


def day(allow_none: bool = False) -> fields.String:
    """An ISO date, YYYY-MM-DD."""
    return fields.String(required=True, allow_none=allow_none, metadata={"format": "date"})


# The PHQ-9 and GAD-7 totals (null when not scored) and the day of the first (or last) of them.
OutcomeScoresSchema = Schema.from_dict(
    {
        "PHQ-9": fields.Integer(required=True, allow_none=True),
        "GAD-7": fields.Integer(required=True, allow_none=True),
        "date": day(allow_none=True),
    },
    name="OutcomeScores",
)


def judged(description: str) -> fields.Boolean:
    return fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": f"{description}; null where the PHQ-9/GAD-7 pair is missing"},
    )


class OutcomeSchema(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(("so_far", "final")),
        metadata={"description": "so_far before discharge, final after"},
    )
    finished_course = fields.Boolean(
        required=True,
        metadata={"description": "discharged after at least two attended treatment sessions"},
    )
    attended_sessions = fields.Integer(required=True)
    first = fields.Nested(OutcomeScoresSchema, required=True)
    last = fields.Nested(OutcomeScoresSchema, required=True)
    caseness_at_first = judged("PHQ-9 ≥ 10 or GAD-7 ≥ 8 at first")
    recovery = judged("a case at first, and neither measure at caseness at last")
    reliable_improvement = judged("PHQ-9 down ≥ 6 or GAD-7 down ≥ 4, neither reliably worse")
    reliable_deterioration = judged("PHQ-9 up ≥ 6 or GAD-7 up ≥ 4, neither reliably better")
    reliable_recovery = judged("recovery and reliable improvement")


class ScoredOnSchema(Schema):
    score = fields.Float(required=True)
    date = day()


class MeasureFirstToLastSchema(Schema):
    instrument = fields.String(required=True)
    first = fields.Nested(ScoredOnSchema, required=True)
    last = fields.Nested(
        ScoredOnSchema,
        required=True,
        allow_none=True,
        metadata={"description": "the last attended session's score; null before one"},
    )


class GoalAchievedSchema(Schema):
    goal_id = fields.UUID(required=True)
    achieved_at = fields.String(required=True)


class SummarySchema(Schema):
    outcome = fields.Nested(OutcomeSchema, required=True)
    milestones = fields.List(fields.Nested(EntrySchema), required=True)
    goals_achieved = fields.List(fields.Nested(GoalAchievedSchema), required=True)
    measures = fields.List(fields.Nested(MeasureFirstToLastSchema), required=True)
