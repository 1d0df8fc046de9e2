"""The `cursor` query parameter of every paged list, declared with the exact form its service
hands out (`next_cursor`).

A cursor names a position in the list, in plain text: the page it asks for is the one after that
position. Its OpenAPI `pattern` is exactly the form handed out, so a request whose cursor does
not match is refused with 422 naming `cursor`; one that matches but was not handed out (forged, or
past the end) names a position all the same and reads the page after it, empty past the end.
Every list is of the caller's tenant, so a cursor can reach nothing a first page would not.
"""

from __future__ import annotations

import re

from marshmallow import fields, validate

# A position or version: the cursor of most lists.
POSITION = r"^[0-9]{1,18}$"


def cursor_param(pattern: str = POSITION, form: str = "a position") -> fields.String:
    """The `cursor` parameter: the previous page's `next_cursor`, matching `pattern`."""
    refusal = f"Not a cursor of this list ({form}, as `next_cursor` gives it)."
    return fields.String(
        validate=validate.Regexp(pattern, re.ASCII, error=refusal),
        metadata={
            "pattern": pattern,
            "description": f"The previous page's `next_cursor` ({form}): the page after it",
        },
    )
