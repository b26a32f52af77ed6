"""Check locations as stored: the latest result per location, and silent locations.

The default location is stored as '' so that a single-location install keeps
its raw rows as small as before; ``stored``/``shown`` translate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.checks import ERROR_BY_CODE
from sitekeeper.domain.quorum import LocationView, horizon, silent
from sitekeeper.domain.uptime import Summary, summarize
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.location_tables import CheckLocation
from sitekeeper.store.tables import CheckRaw, Job

DEFAULT = "default"


def stored(location: str) -> str:
    """The column value of a location name."""
    return "" if location == DEFAULT else location


def shown(value: str) -> str:
    """The location name of a column value."""
    return value or DEFAULT


def plan_locations(options: Any) -> int:
    """A plan's ``check_locations`` from its stored options (1 when unset)."""
    stored_options = json.loads(options) if isinstance(options, str) else options
    value = (stored_options or {}).get("check_locations", 1)
    return value if isinstance(value, int) and value > 0 else 1


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def latest_views(
    conn: Connection, site_ids: Sequence[int], now: datetime, interval: int
) -> dict[int, list[LocationView]]:
    """Each site's latest result per location in the last two silence horizons, with the
    start of that location's current run of failures; two grouped reads of recent rows."""
    # Twice the horizon: a lone location's run of failures must be seen to outlast it.
    since = _ms(now - 2 * horizon(interval))
    recent = and_(CheckRaw.site_id.in_(site_ids), CheckRaw.ts_ms >= since)
    last = (
        select(
            CheckRaw.site_id,
            CheckRaw.location,
            func.max(CheckRaw.ts_ms).label("ts"),
            func.max(CheckRaw.ts_ms).filter(CheckRaw.up.is_(True)).label("last_up"),
        )
        .where(recent)
        .group_by(CheckRaw.site_id, CheckRaw.location)
        .subquery()
    )
    rows = conn.execute(
        select(
            last.c.site_id,
            last.c.location,
            last.c.ts,
            last.c.last_up,
            CheckRaw.up,
            CheckRaw.error,
        ).join(
            CheckRaw,
            and_(
                CheckRaw.site_id == last.c.site_id,
                CheckRaw.location == last.c.location,
                CheckRaw.ts_ms == last.c.ts,
            ),
        )
    ).all()
    # First failure after each location's last success (or in the window, if none).
    firsts = {
        (sid, loc): ts
        for sid, loc, ts in conn.execute(
            select(CheckRaw.site_id, CheckRaw.location, func.min(CheckRaw.ts_ms))
            .join(
                last,
                and_(last.c.site_id == CheckRaw.site_id, last.c.location == CheckRaw.location),
            )
            .where(
                recent,
                CheckRaw.up.is_(False),
                CheckRaw.ts_ms > func.coalesce(last.c.last_up, since - 1),
            )
            .group_by(CheckRaw.site_id, CheckRaw.location)
        )
    }
    views: dict[int, list[LocationView]] = {}
    for sid, loc, ts, _last_up, up, error in rows:
        first = firsts.get((sid, loc))
        views.setdefault(sid, []).append(
            LocationView(
                shown(loc),
                bool(up),
                _at(ts),
                None if up or first is None else _at(first),
                None if up else str(ERROR_BY_CODE.get(error) or "unknown"),
            )
        )
    return views


def heard_from(conn: Connection, location: str, at: datetime) -> None:
    """Note that ``location`` stored results up to ``at`` (once per flush)."""
    stmt = upsert_insert(conn)(CheckLocation)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[CheckLocation.name],
            set_={"last_result_at": stmt.excluded.last_result_at},
            where=CheckLocation.last_result_at < stmt.excluded.last_result_at,
        ),
        {"name": stored(location), "last_result_at": at},
    )


def fastest_interval(conn: Connection, default: int) -> int:
    """The shortest check interval of any site: how soon a location's silence shows."""
    shortest = conn.scalar(select(func.min(Job.interval)).where(Job.kind == "check"))
    return shortest if shortest is not None else default


@dataclass(frozen=True, slots=True)
class Change:
    """A location that fell silent or came back, with when it last stored a result."""

    location: str
    last_result_at: datetime
    silent_since: datetime  # when it was found silent (came back: when that was)


def watch(session: Session, now: datetime, interval: int) -> tuple[list[Change], list[Change]]:
    """Mark locations silent (no results for the silence horizon) or back; returns
    (newly silent, back), each change reported once whoever runs the watch."""
    rows = {row.name: row for row in session.scalars(select(CheckLocation).with_for_update())}
    quiet = set(silent({n: r.last_result_at for n, r in rows.items()}, now, interval))
    fell, back = [], []
    for name, row in sorted(rows.items()):
        if name in quiet and row.silent_since is None:
            row.silent_since = now
            fell.append(Change(shown(name), row.last_result_at, now))
        elif name not in quiet and row.silent_since is not None:
            back.append(Change(shown(name), row.last_result_at, row.silent_since))
            row.silent_since = None
    session.flush()
    return fell, back


def by_location(conn: Connection, site_id: int, since: datetime) -> dict[str, Summary]:
    """One site's uptime and response times per check location since ``since``, from the
    raw results (kept for the raw retention; ``store.location_history`` has the days)."""
    rows: dict[str, list[tuple[bool, int | None]]] = {}
    for loc, up, ms in conn.execute(
        select(CheckRaw.location, CheckRaw.up, CheckRaw.response_ms).where(
            CheckRaw.site_id == site_id, CheckRaw.ts_ms >= _ms(since)
        )
    ):
        rows.setdefault(shown(loc), []).append((bool(up), ms))
    return {loc: summarize(values) for loc, values in sorted(rows.items())}
