"""`column IN (a list)` with the list bound as ONE parameter, whatever its length.

SQLAlchemy renders an expanding IN as one placeholder per value, so a batch of 1,000 ids makes a
statement of 1,000 placeholders whose text changes with the count: on PostgreSQL, psycopg parses
such a text again on every call (it caches short statements only) and the server plans it again.
There the list goes as one array instead (`column = ANY(:ids)`), a short statement parsed once.
On SQLite it goes as one JSON array read back by `json_each` (`column IN (SELECT value FROM
json_each(:ids))`): the statement text is the same whatever the count, so SQLAlchemy compiles it
once and no placeholder is rendered and processed per value (an expanding IN of a thousand ids
was ~5 % of the projector's batch); SQLite still looks each value up in the column's index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ColumnElement, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

DIALECTS = ("sqlite", "postgresql")  # the stores the suite runs on


def one_of(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN (:name)`, where the parameter `name` is a list of values."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    values = func.json_each(bindparam(name, type_=JSON)).table_valued("value")
    return column.in_(select(values.c.value))
