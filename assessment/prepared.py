"""Server-side prepared statements for the few hot lookups whose planning costs more than
their execution.

Django binds parameters on the client (psycopg's ``ClientCursor``), so PostgreSQL parses and
plans every statement again. For the assessment page's five-table lookup that planning was
1.8 ms against 0.3 ms of execution (``EXPLAIN ANALYZE`` on the 1,000-patient benchmark
database), more than any other part of the page. ``cursor(connection)`` gives a Django cursor
(the same execute wrappers, query log and error translation as ``connection.cursor()``)
whose statements are bound on the server and prepared on first use, once per database
connection: later executions skip parsing and, once PostgreSQL has settled on a generic plan,
planning. psycopg keeps the names, drops them after a ROLLBACK (``DEALLOCATE ALL``) and
prepares again when needed.

Prepared statements live in a server session, which a pooler in transaction mode does not
keep for a client (PgBouncer before 1.21, or without ``max_prepared_statements``):
``DJANGO_DB_PREPARED_STATEMENTS=0`` turns them off (``settings.py`` leaves psycopg's
``prepare_threshold`` at None), and then, as on SQLite, ``cursor`` is Django's plain cursor.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

# An execution count no statement reaches: psycopg prepares a statement once a connection has
# run it this many times, and it must prepare only the statements ``cursor`` is asked for.
# (Django's own cursors bind on the client and are never prepared whatever the count.)
ONLY_WHEN_ASKED = 2**62


def enabled(connection: Any) -> bool:
    """Whether ``connection`` (a Django connection) prepares statements: PostgreSQL with
    psycopg 3, and ``prepare_threshold`` set in its OPTIONS."""
    return (connection.vendor == "postgresql"
            and connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold")
            is not None)


def cursor(connection: Any) -> Any:
    """A cursor of ``connection`` whose statements are prepared (see the module's docstring);
    Django's own cursor when ``enabled(connection)`` is false."""
    if not enabled(connection):
        return connection.cursor()
    connection.ensure_connection()
    raw = _preparing_cursor_class()(connection.connection)
    # The wrappers connection.cursor() returns: execute_wrapper hooks, the debug query log
    # (assertNumQueries, the benchmark's query counts) and Django's error classes.
    if connection.queries_logged:
        return _DebugCursor(raw, connection)
    return connection.make_cursor(raw)


class _DebugCursor(CursorDebugWrapper):
    """Django's debug cursor, logging the statement as written (``%s`` placeholders): psycopg
    keeps no query text of a prepared execution for ``last_executed_query`` to return."""

    def execute(self, sql: str, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


_CLASS: Any = None


def _preparing_cursor_class() -> Any:
    global _CLASS
    if _CLASS is None:
        # Imported here: the module needs psycopg, which a SQLite-only install may lack.
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparingCursor(ServerBindingCursor):
            """Django's server-binding cursor, asking psycopg to prepare every statement."""

            def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,
                        binary: bool | None = None) -> Any:
                return super().execute(query, params, prepare=True if prepare is None
                                       else prepare, binary=binary)

        _CLASS = PreparingCursor
    return _CLASS
