"""Days not rolled up are read from raw checks one day at a time (a day of the sites'
checks in memory, not months of them), and only from a site's oldest raw check on: raw
checks are kept for days, so the days before it are never read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from sitekeeper.store import history
from sitekeeper.store.database import Database
from sitekeeper.store.tables import CheckRaw
from tests.store.factories import NOW, baker, site

DAY_MS = 86_400_000


@contextmanager
def raw_reads(db: Database) -> Iterator[list[tuple[int, int]]]:
    """The [start, end) in epoch ms of each read of raw checks meanwhile."""
    reads: list[tuple[int, int]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("SELECT check_raw.site_id"):  # the bounds come first
            bounds = list(parameters.values() if isinstance(parameters, dict) else parameters)
            reads.append((bounds[0], bounds[1]))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield reads
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_days_not_rolled_up_are_read_a_day_at_a_time_from_the_oldest_raw_check(
    db: Database,
) -> None:
    today = NOW.date()
    with db.session() as s:
        client = baker(s)
        kept = site(s, client, "https://kept.example")
        paused = site(s, client, "https://paused.example")  # never checked: no raw rows
        kept.created_at = paused.created_at = NOW - timedelta(days=300)
        s.add_all(
            CheckRaw(site_id=kept.id, ts_ms=_ms(NOW - timedelta(days=d)), up=d != 1, error=0)
            for d in (2, 1, 0)
        )
        ids = [kept.id, paused.id]
    with db.session() as s, raw_reads(db) as reads:
        figures = history.uptime_by_day(s, ids, 366, today)
    assert [(f.site_id, (today - f.day).days, f.summary.up_checks) for f in figures] == [
        (ids[0], 2, 1),
        (ids[0], 1, 0),
        (ids[0], 0, 1),
    ]
    assert len(reads) == 3, reads  # a read a day from the oldest raw check, none before
    assert all(end - start == DAY_MS for start, end in reads), reads
