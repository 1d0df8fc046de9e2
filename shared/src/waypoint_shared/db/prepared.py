"""Statements a command runs on every call, run straight on the DBAPI cursor of the caller's
connection, inside the caller's transaction (and savepoint).

`Connection.execute` of a statement built once still costs ~100 µs of Python per call (execution
context, compiled-cache look-up, result set-up, events) against a few µs for the driver's own
`execute`. A `Prepared` statement is compiled once per dialect and set of parameter names, and each
call applies SQLAlchemy's own bind and result processors of its types, so the values written and
read are those `Connection.execute` would write and read. Driver errors are raised as SQLAlchemy's
(`IntegrityError`...), and a lost connection is invalidated, as `Connection.execute` does.

Only plain statements qualify: no list (expanding) parameters and no Python-side column defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Form:
    sql: str
    positional: tuple[str, ...] | None  # the parameters' order for a positional driver
    # (parameter, name in the SQL, processor, value when the parameter is not given)
    binds: tuple[tuple[str, str, Processor, Any], ...]
    # (column index, processor) of each result column whose type has a result processor
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    returns_rows: bool


class Prepared:
    """One statement, compiled once per dialect and parameter names, run on the DBAPI cursor."""

    def __init__(self, statement: Executable):
        self.statement = statement
        self._forms: dict[tuple[str, frozenset[str]], _Form] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement with these parameters; the rows it returns (none for a write)."""
        if not conn.in_transaction():  # the driver would begin a transaction SQLAlchemy ignores
            return [tuple(row) for row in conn.execute(self.statement, dict(params))]
        form = self._form(conn.dialect, params)
        values = {
            sql: _processed(processor, params.get(name, fixed))
            for name, sql, processor, fixed in form.binds
        }
        arguments: Sequence[Any] | Mapping[str, Any] = (
            values if form.positional is None else [values[n] for n in form.positional]
        )
        dbapi_connection = conn.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(form.sql, arguments)
            fetched = cursor.fetchall() if form.returns_rows else []
        except conn.dialect.loaded_dbapi.Error as error:
            raise _translated(conn, dbapi_connection, cursor, form.sql, arguments, error) from error
        finally:
            cursor.close()
        return _rows(form.results, fetched)

    def _form(self, dialect: Dialect, params: Mapping[str, Any]) -> _Form:
        key = (dialect.name, frozenset(params))
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = _compiled(self.statement, dialect, sorted(params))
        return form


def upserts(table: Table, key: Sequence[str]) -> dict[str, Prepared]:
    """Per dialect, a row of the table inserted, or where a row of the same `key` columns is
    there, that row's other columns set to the new row's (`INSERT … ON CONFLICT DO UPDATE`)."""
    return {
        "sqlite": _upsert(sqlite.insert(table), key),
        "postgresql": _upsert(postgresql.insert(table), key),
    }


def _upsert(statement: sqlite.Insert | postgresql.Insert, key: Sequence[str]) -> Prepared:
    others = [c.name for c in statement.table.columns if c.name not in key]
    return Prepared(
        statement.on_conflict_do_update(
            index_elements=list(key), set_={c: statement.excluded[c] for c in others}
        )
    )


def _compiled(statement: Executable, dialect: Dialect, names: list[str]) -> _Form:
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect, column_keys=names)
    assert isinstance(compiled, SQLCompiler)
    binds = compiled.bind_names  # each parameter and its name in the SQL
    if any(b.expanding or b.literal_execute for b in binds):
        raise ValueError("a prepared statement takes no list parameters")
    missing = [b.key for b in binds if b.required and b.key not in names]
    if missing:
        raise ValueError(f"a prepared statement is given every parameter it needs: {missing}")
    table = getattr(statement, "table", None)
    if table is not None and any(c.default is not None for c in table.columns):
        raise ValueError("a prepared insert sets every column itself")
    escaped = compiled.escaped_bind_names
    processors = tuple(
        (
            b.key,
            escaped.get(name, name),
            b.type.dialect_impl(dialect).bind_processor(dialect),
            None if b.required else b.effective_value,
        )
        for b, name in binds.items()
    )
    columns = list(getattr(statement, "exported_columns", ()))
    results = tuple(
        (i, processor)
        for i, c in enumerate(columns)
        if (processor := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
    )
    positional = None
    if dialect.positional:
        positional = tuple(escaped.get(n, n) for n in compiled.positiontup or ())
    return _Form(compiled.string, positional, processors, results, bool(columns))


def _processed(processor: Processor, value: Any) -> Any:
    return value if processor is None else processor(value)


def _rows(
    processors: tuple[tuple[int, Callable[[Any], Any]], ...], fetched: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """The fetched rows, each column through its type's result processor if it has one (a
    generator over every column was a fifth of the time a rebuild took to read its facts back)."""
    if not processors:
        return [tuple(row) for row in fetched]
    rows = []
    for row in fetched:
        values = list(row)
        for i, process in processors:
            values[i] = process(values[i])
        rows.append(tuple(values))
    return rows


def _translated(
    conn: Connection,
    dbapi_connection: Any,
    cursor: Any,
    sql: str,
    arguments: Any,
    error: Exception,
) -> StatementError:
    dialect = conn.dialect
    lost = dialect.is_disconnect(error, dbapi_connection, cursor)  # type: ignore[arg-type]
    if lost and not conn.invalidated:
        conn.invalidate(error)
    return DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error, dialect=dialect)
