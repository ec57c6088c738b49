"""Many rows in one statement: INSERT ... ON CONFLICT DO NOTHING, on PostgreSQL from arrays (unnest)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import JSON, DateTime, LargeBinary, bindparam, text
from sqlmodel import Session


class BulkMixin:
    def _insert_ignore(self, s: Session, model, rows: list[dict], conflict: Sequence[str],
                       returning: tuple[str, ...] = ("id",), *, unnest_only: bool = False) -> list | None:
        """INSERT ... ON CONFLICT DO NOTHING for many rows; what it returns for those inserted.

        On PostgreSQL one INSERT from arrays (:meth:`_unnest_insert`) where it
        can; otherwise one executemany on the table (SQLAlchemy batches it as
        "insertmanyvalues" with one cached statement), not a freshly compiled
        multi-row VALUES, unless ``unnest_only``: then it inserts nothing and
        returns None. ``returning=("id",)`` gives ids, several columns give
        tuples, () nothing.
        """
        if not rows:
            return []
        if self.dialect == "postgresql":
            unnest = self._unnest_insert(model.__table__, rows, conflict, returning)
            if unnest is not None:
                # One statement for the whole batch: psycopg's executemany costs far
                # more client CPU per row, and a multi-row VALUES would be compiled anew.
                result = s.connection().exec_driver_sql(*unnest)
                if not returning:
                    return []
                return [r[0] for r in result] if len(returning) == 1 else [tuple(r) for r in result]
            if unnest_only:
                return None
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = model.__table__
        stmt = insert(table).on_conflict_do_nothing(index_elements=list(conflict))
        if not returning:
            s.connection().execute(stmt, rows)
            return []
        result = s.connection().execute(stmt.returning(*(table.c[c] for c in returning)), rows)
        return list(result.scalars()) if len(returning) == 1 else [tuple(r) for r in result]

    def _in(self, column, values: list):
        """``column IN values``; on PostgreSQL ``= ANY(array)``, one parameter instead of
        one per value (a thousand-key IN costs more to render and send than to run)."""
        if self.dialect == "postgresql":
            from sqlalchemy import any_
            from sqlalchemy.dialects.postgresql import ARRAY

            return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        return column.in_(values)

    def _unnest_insert(self, table, rows: list[dict], conflict: Sequence[str],
                       returning: tuple[str, ...]) -> tuple[str, dict[str, list]] | None:
        """PostgreSQL: INSERT ... SELECT FROM unnest(one array per column) ON CONFLICT DO NOTHING,
        and its parameters: one list per column.

        A column the rows leave out gets its default when that is a constant, as
        SQLAlchemy's insert would give it. JSON values go as text, serialized as
        SQLAlchemy does (None as JSON null), and are cast to JSON in the statement.
        None (use executemany) when the rows differ in their keys, leave out a column
        whose default is computed (a function), a column's type has no plain array
        form (bytes), or a datetime column mixes naive and aware values (an array
        has one element type).
        """
        if len(rows) < 2:
            return None
        columns = list(rows[0])
        if any(len(r) != len(columns) or r.keys() != rows[0].keys() for r in rows):
            return None
        params = {f"c{i}": [r[c] for r in rows] for i, c in enumerate(columns)}
        for col in table.c:
            if col.name not in rows[0] and col.default is not None:
                if not col.default.is_scalar:
                    return None  # computed per row by SQLAlchemy's insert
                params[f"c{len(columns)}"] = [col.default.arg] * len(rows)
                columns.append(col.name)
        casts, values = [], []
        for i, c in enumerate(columns):
            col = table.c[c]
            if isinstance(col.type, LargeBinary):
                return None
            if isinstance(col.type, JSON):
                casts.append("text")
                values.append(f"c{i}::json")
                params[f"c{i}"] = [json.dumps(v) for v in params[f"c{i}"]]
                continue
            values.append(f"c{i}")
            if isinstance(col.type, DateTime):
                zones = {v.tzinfo is None for v in params[f"c{i}"] if v is not None}
                if len(zones) > 1:
                    return None
            casts.append(col.type.compile(dialect=self.engine.dialect))
        names = ", ".join(f'"{c}"' for c in columns)
        # %b: binary arrays, which psycopg builds without quoting each element
        arrays = ", ".join(f"%(c{i})b::{t}[]" for i, t in enumerate(casts))
        aliases = ", ".join(f"c{i}" for i in range(len(columns)))
        sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {", ".join(values)} FROM unnest({arrays}) '
               f"AS u({aliases}) ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
        if returning:
            sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
        return sql, params

