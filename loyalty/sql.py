"""Plain SQL for the few statements that every earn runs.

Measured (docs/benchmarks.md): building these statements with the ORM cost the app more CPU
than PostgreSQL spent running them. Here each statement is generated once per model from the
model's own metadata — its columns, its database converters — and then only executed, and its
rows become ordinary model instances (``Model.from_db``), so callers see no difference and the
SQL follows the models when they change. Use it only on measured hot paths; everything else
uses the ORM. It runs on PostgreSQL and SQLite, inside Django's transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections, models


@dataclass(frozen=True)
class Columns:
    """A model's concrete columns as a select list under a table alias."""

    model: type[models.Model]
    alias: str
    sql: str
    attnames: tuple[str, ...]
    converters: tuple[tuple[int, tuple], ...]  # (position, converter functions) where needed

    def __len__(self) -> int:
        return len(self.attnames)

    def load(self, row, offset: int = 0, using: str = DEFAULT_DB_ALIAS):
        """The model instance in ``row[offset:offset + len(self)]``; None for an outer join's
        missing row (its primary key is NULL)."""
        values = list(row[offset:offset + len(self.attnames)])
        if values[0] is None:
            return None
        connection = connections[using]
        for index, functions in self.converters:
            value = values[index]
            for function, expression in functions:
                value = function(value, expression, connection)
            values[index] = value
        return self.model.from_db(using, self.attnames, values)


@cache
def _columns(model: type[models.Model], alias: str, vendor: str) -> Columns:
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = [model._meta.pk, *(f for f in model._meta.concrete_fields
                                if f is not model._meta.pk)]
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(alias)
        functions = tuple(
            (function, column)
            for function in (*connection.ops.get_db_converters(column),
                             *column.get_db_converters(connection))
        )
        if functions:
            converters.append((index, functions))
    return Columns(
        model=model, alias=alias,
        sql=", ".join(f"{quote(alias)}.{quote(field.column)}" for field in fields),
        attnames=tuple(field.attname for field in fields), converters=tuple(converters),
    )


def columns(model: type[models.Model], alias: str) -> Columns:
    return _columns(model, alias, connections[DEFAULT_DB_ALIAS].vendor)


def table(model: type[models.Model]) -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], field_name: str) -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(model._meta.get_field(field_name).column)


def for_update() -> str:
    """`` FOR UPDATE`` where the database locks rows (SQLite locks the whole file instead)."""
    return " FOR UPDATE" if connections[DEFAULT_DB_ALIAS].features.has_select_for_update else ""


@cache
def _insert_sql(model: type[models.Model], vendor: str) -> tuple[str, tuple]:
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.local_concrete_fields
                   if f is not model._meta.auto_field and not f.generated)
    returning = (f" RETURNING {quote(model._meta.pk.column)}"
                 if connection.features.can_return_columns_from_insert else "")
    sql = "INSERT INTO {} ({}) VALUES ({}){}".format(  # noqa: S608 (identifiers only)
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)), returning,
    )
    return sql, fields


def insert(obj: models.Model, using: str = DEFAULT_DB_ALIAS) -> models.Model:
    """Insert a new instance as ``obj.save()`` would (defaults, ``auto_now_add``, database
    preparation of each value), without building the statement each time. No signals are
    sent: Trouw has none on these models (business rules are explicit, not signals)."""
    obj.pk = _insert(type(obj), values(obj, using), using)
    obj._state.adding = False
    obj._state.db = using
    return obj


def insert_row(model: type[models.Model], using: str = DEFAULT_DB_ALIAS, /, **attributes) -> int:
    """Insert a new row without a model instance (see ``row_values``); returns its key."""
    return _insert(model, row_values(model, using, **attributes), using)


def _insert(model: type[models.Model], params: list, using: str):
    connection = connections[using]
    cursor = _cursor(connection)
    cursor.execute(_insert_sql(model, connection.vendor)[0], params)
    return cursor.fetchone()[0] if connection.features.can_return_columns_from_insert else (
        cursor.lastrowid)


def insert_many(objs: list[models.Model], using: str = DEFAULT_DB_ALIAS) -> list[models.Model]:
    """Insert new instances of one model as ``bulk_create`` would, in one statement built once
    per model and number of rows; their keys are filled in where the database returns them
    (PostgreSQL and SQLite give the rows of ``RETURNING`` in the order of ``VALUES``, which
    Django's own ``bulk_create`` relies on too)."""
    if not objs:
        return objs
    connection = connections[using]
    model = type(objs[0])
    params = [value for obj in objs for value in values(obj, using)]
    cursor = _cursor(connection)
    cursor.execute(_insert_many_sql(model, len(objs), connection.vendor), params)
    rows = cursor.fetchall() if connection.features.can_return_rows_from_bulk_insert else []
    for index, obj in enumerate(objs):
        if rows:
            obj.pk = rows[index][0]
        obj._state.adding, obj._state.db = False, using
    return objs


@cache
def _insert_many_sql(model: type[models.Model], count: int, vendor: str) -> str:
    one, fields = _insert_sql(model, vendor)
    head, _values, returning = one.partition(" VALUES ")
    row, _sep, returning = returning.partition(")")
    if not connections[DEFAULT_DB_ALIAS].features.can_return_rows_from_bulk_insert:
        returning = ""
    return f"{head} VALUES {', '.join([row + ')'] * count)}{returning}"


def values(obj: models.Model, using: str = DEFAULT_DB_ALIAS) -> list:
    """The parameters of ``insert_sql(type(obj))`` for this new instance."""
    connection = connections[using]
    _sql, fields = _insert_sql(type(obj), connection.vendor)
    return [field.get_db_prep_save(field.pre_save(obj, add=True), connection)
            for field in fields]


class _NewRow:
    """What a field's ``pre_save`` reads from (and ``auto_now_add`` writes to): the attributes
    of a row that has no model instance."""

    def __init__(self, attributes: dict):
        self.__dict__.update(attributes)


def row_values(model: type[models.Model], using: str = DEFAULT_DB_ALIAS, /, **attributes) -> list:
    """The parameters of ``insert_sql(model)`` for a new row with these attributes (by
    attribute name: ``membership_id``, not ``membership``), as ``values`` would give them for
    an instance — defaults, ``auto_now_add``, each field's database preparation — without
    making one: for rows written on the hot path that nothing reads afterwards (a model
    instance costs its ``__init__`` and two signals)."""
    connection = connections[using]
    _sql, fields = _insert_sql(model, connection.vendor)
    row = {}
    for field in fields:
        row[field.attname] = (attributes.pop(field.attname) if field.attname in attributes
                              else field.get_default())
    if attributes:
        raise TypeError(f"{model.__name__} has no column for {', '.join(attributes)}")
    new_row = _NewRow(row)
    return [field.get_db_prep_save(field.pre_save(new_row, add=True), connection)
            for field in fields]


def insert_sql(model: type[models.Model]) -> str:
    """``INSERT INTO … VALUES (%s, …) RETURNING pk`` of ``model`` (see ``values``)."""
    return _insert_sql(model, connections[DEFAULT_DB_ALIAS].vendor)[0]


def insert_columns(model: type[models.Model]) -> tuple[str, ...]:
    """The columns of ``insert_sql(model)``, in order (quoted)."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return tuple(quote(f.column)
                 for f in _insert_sql(model, connections[DEFAULT_DB_ALIAS].vendor)[1])


def insert_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The fields of ``insert_sql(model)``, in order (what ``values`` gives a value for)."""
    return _insert_sql(model, connections[DEFAULT_DB_ALIAS].vendor)[1]


def chains_writes(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether one statement may chain writes (PostgreSQL's data-modifying ``WITH``)."""
    return connections[using].vendor == "postgresql"


def execute(sql: str, params=(), using: str = DEFAULT_DB_ALIAS) -> int:
    """Run a statement that returns no rows; the number of rows it changed."""
    cursor = _cursor(connections[using])
    cursor.execute(sql, params)
    return cursor.rowcount


def fetch_one(sql: str, params=(), using: str = DEFAULT_DB_ALIAS):
    """Run a statement that returns rows (a SELECT, or RETURNING); its first row or None."""
    cursor = _cursor(connections[using])
    cursor.execute(sql, params)
    return cursor.fetchone()


def fetch_all(sql: str, params=(), using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
    """Run a statement that returns rows; all its rows (as the database's driver gives them)."""
    cursor = _cursor(connections[using])
    cursor.execute(sql, params)
    return cursor.fetchall()


def _cursor(connection):
    """The connection's cursor for these statements, made once and reused: making a cursor cost
    about a third of running a prepared statement. Django's checks still run (health check,
    thread, broken transaction), and a cursor that logs queries is used while queries are
    being logged (tests that count queries see these)."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    cached = connection.__dict__.get("_trouw_sql_cursor")
    if cached is not None:
        cursor, raw_connection, logged = cached
        if raw_connection is connection.connection and logged == connection.queries_logged:
            return cursor
    cursor = connection.cursor()
    connection._trouw_sql_cursor = (cursor, connection.connection, connection.queries_logged)
    return cursor
