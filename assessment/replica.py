"""Optional read replica for the registry-wide reads: the exports (assessments CSV, REDCap,
FHIR bulk) and the outcomes page. Everything else, and every write, uses the primary.

Off unless ``DATABASE_REPLICA_URL`` is set (settings then add the ``replica`` database and this
router). Code opts in by running its reads inside ``replica_reads()`` (or wrapping a streamed
response's iterator in ``on_replica``); nothing is sent to the replica by default, so a page
that must show what was just saved can never read a lagging copy by accident.

Why only these paths: they read hundreds of thousands of rows (seconds to minutes at 100,000
patients, docs/PERFORMANCE.md) and a few seconds of replication lag do not matter to a
registry export or a survival curve; a clinician's own pages must read their own writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"

# A context variable, not a global: a thread (or task) serving another request is unaffected.
_on_replica: ContextVar[bool] = ContextVar("read_from_replica", default=False)

T = TypeVar("T")


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside the block go to the replica when one is configured (no effect otherwise).
    Writes inside the block still go to the primary."""
    previous = _on_replica.get()
    _on_replica.set(True)
    try:
        yield
    finally:
        # set(), not reset(token): a generator may be finished from another context.
        _on_replica.set(previous)


def on_replica(items: Iterable[T]) -> Iterator[T]:
    """``items`` with each step computed inside ``replica_reads()``: for the iterator of a
    streamed response, whose queries run after the view has returned. The flag is on only
    while a step runs, never between two steps, when the server does other work."""
    iterator = iter(items)
    while True:
        with replica_reads():
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


def reading_from_replica() -> bool:
    return _on_replica.get()


class ReplicaRouter:
    """Installed only when the ``replica`` database is configured (settings)."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        # Explicitly the primary outside replica_reads(): an object read from the replica and
        # used later (its related objects) must not keep reading the lagging copy.
        return REPLICA if _on_replica.get() else DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        # Also for objects fetched from the replica (Django would otherwise write where the
        # object was read): the export log rows, for instance.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The same rows on both sides of replication.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None,
                      **hints: Any) -> bool:
        # The replica receives the schema by replication; migrate runs on the primary only.
        return db == DEFAULT_DB_ALIAS
