"""Schemas of progress's privacy resource: the subject-access export (the access log's are
shared)."""

from marshmallow import fields

from waypoint_shared.http import privacy


class ExportSchema(privacy.ExportSchema):
    """Everything progress holds about a client, decrypted."""

    timeline = fields.List(fields.Dict(), required=True, metadata={"description": "as /timeline"})
