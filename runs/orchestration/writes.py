"""The rows a tick writes, sent to the database together when the tick ends.

A tick inserts and updates a handful of rows in a few tables. For statements that small, the
ORM spends longer preparing each one (building a query, compiling it, wrapping it in an atomic
block) than the database spends running it, and every statement is a round trip of its own.
A ``Batch`` builds the same SQL the ORM would, with values adapted by each field's own
``get_db_prep_save`` (so what is stored is exactly what the ORM stores), and ``flush`` sends all
of it at once: on PostgreSQL as one multi-statement query (psycopg merges the parameters on the
client), on SQLite, which runs in-process, one statement after another.

Until ``flush``, reads in the same transaction do not see these writes; the orchestrator keeps
what it needs of them in memory, and flushes before anything that reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.constants import OnConflict

Statement = tuple[str, list[Any]]


class Batch:
    def __init__(self) -> None:
        self._statements: list[Statement] = []

    def insert(self, objs: Iterable[models.Model], *, ignore_conflicts: bool = False) -> None:
        """Insert unsaved model instances, all of one model.

        An auto-incremented primary key left unset is assigned by the database (and not read
        back). With ``ignore_conflicts``, rows that would break a unique constraint are skipped.
        """
        rows = list(objs)
        if rows:
            self._statements += _inserts(rows, ignore_conflicts)

    def update(
        self,
        model: type[models.Model],
        ids: Sequence[Any],
        values: dict[str, Any],
        **conditions: Any,
    ) -> None:
        """Set ``values`` (field name → value) on the rows with these primary keys.

        Each condition narrows the rows: ``field=None`` means IS NULL, a list or set means IN,
        anything else equality.
        """
        if ids:
            self._statements += _updates(model, ids, values, conditions)

    def flush(self) -> None:
        statements, self._statements = self._statements, []
        if not statements:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                sql = ";\n".join(sql for sql, _ in statements)
                cursor.execute(sql, [param for _, params in statements for param in params])
            else:
                for sql, params in statements:
                    cursor.execute(sql, params)


def _inserts(rows: list[models.Model], ignore_conflicts: bool) -> list[Statement]:
    # The connection itself rather than Django's proxy, which looks it up on every use.
    db = connections[DEFAULT_DB_ALIAS]
    model = type(rows[0])
    fields = _insert_fields(model, rows[0].pk is None)
    prefix, suffix = _insert_sql(db.vendor, model, rows[0].pk is None, ignore_conflicts)
    placeholder = f"({', '.join(['%s'] * len(fields))})"
    chunk = _rows_per_statement(len(fields), len(rows))
    statements = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        params = [
            field.get_db_prep_save(getattr(obj, field.attname), db)
            for obj in part
            for field in fields
        ]
        statements.append((prefix + ", ".join([placeholder] * len(part)) + suffix, params))
    return statements


@cache
def _insert_sql(
    vendor: str, model: type[models.Model], without_auto_pk: bool, ignore_conflicts: bool
) -> tuple[str, str]:
    """The INSERT's text before and after its VALUES rows, the same for every tick."""
    fields = _insert_fields(model, without_auto_pk)
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    prefix = (
        f"{connection.ops.insert_statement(on_conflict=on_conflict)} "
        f"{_quote(model._meta.db_table)} ({', '.join(_quote(f.column) for f in fields)}) VALUES "
    )
    suffix = connection.ops.on_conflict_suffix_sql(fields, on_conflict, None, None) or ""
    return prefix, f" {suffix}" if suffix else ""


def _updates(
    model: type[models.Model], ids: Sequence[Any], values: dict[str, Any], conditions: dict
) -> list[Statement]:
    meta = model._meta
    assignments = []
    set_params = []
    for name, value in values.items():
        field = meta.get_field(name)
        assignments.append(f"{_quote(field.column)} = %s")
        set_params.append(field.get_db_prep_save(value, connection))
    filters = []
    filter_params: list[Any] = []
    for name, condition in conditions.items():
        field = meta.get_field(name)
        column = _quote(field.column)
        if condition is None:
            filters.append(f"{column} IS NULL")
        elif isinstance(condition, list | set | frozenset | tuple):
            options = list(condition)
            filters.append(f"{column} IN ({', '.join(['%s'] * len(options))})")
            filter_params += [field.get_db_prep_value(o, connection) for o in options]
        else:
            filters.append(f"{column} = %s")
            filter_params.append(field.get_db_prep_value(condition, connection))
    head = f"UPDATE {_quote(meta.db_table)} SET {', '.join(assignments)} WHERE "
    key = _quote(meta.pk.column)
    chunk = _rows_per_statement(1, len(ids), reserved=len(set_params) + len(filter_params))
    statements = []
    for start in range(0, len(ids), chunk):
        part = list(ids[start : start + chunk])
        where = [f"{key} IN ({', '.join(['%s'] * len(part))})", *filters]
        statements.append((head + " AND ".join(where), [*set_params, *part, *filter_params]))
    return statements


def _rows_per_statement(params_per_row: int, rows: int, reserved: int = 0) -> int:
    """As many as the database takes parameters for (SQLite has a limit; PostgreSQL has not,
    short of 65535)."""
    limit = connection.features.max_query_params or 65535
    return max(1, min(rows, (limit - reserved) // params_per_row))


@cache
def _insert_fields(model: type[models.Model], without_auto_pk: bool) -> list[models.Field]:
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    if without_auto_pk:
        fields = [f for f in fields if f is not model._meta.auto_field]
    return fields


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)
