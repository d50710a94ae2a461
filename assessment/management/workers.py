"""Helpers for commands that work in batches and fork worker processes (export_fhir,
reassess)."""

from __future__ import annotations

import resource
import sys
from collections.abc import Iterator
from typing import Any


def forget_inherited_connections() -> None:
    """In a forked worker: drop every connection object the parent held, in any thread,
    without closing it (closing would end the parent's session on the shared socket). Two
    processes reading one socket interleave their results; a worker opens its own."""
    from asgiref.local import Local
    from django.db import connections

    connections._connections = Local(connections.thread_critical)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory in MB. ru_maxrss is in kilobytes on Linux (bytes on macOS); for
    RUSAGE_CHILDREN it is the largest of the finished (waited-for) worker processes."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def id_pages(queryset: Any, batch: int) -> Iterator[list[int]]:
    """Keyset pages of the queryset's ids in id order: each page one query on the primary key
    index, however far into the table."""
    last_pk = 0
    while True:
        ids = list(queryset.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch])
        if not ids:
            return
        last_pk = ids[-1]
        yield ids
